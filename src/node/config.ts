import { integer, text, type Env } from '../config/env.js'

/** Where the Node server listens; Workers have no such setting. */
export interface ServerConfig {
  port: number
  host: string
}

export const parseServerConfig = (env: Env): ServerConfig => ({
  port: integer(env, 'PORT', { fallback: 8080, min: 0, max: 65535 }),
  host: text(env, 'HOST') ?? '0.0.0.0',
})
