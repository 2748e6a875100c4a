/** Bearer tokens of the routes that are not GoTrue's (`/dev/inbox`, `/metrics`). */
import { constantTimeEqual } from './digest.js'

/** The token of an `Authorization: Bearer <token>` header; undefined for any other header or none. */
export const bearerToken = (authorization: string | undefined): string | undefined =>
  authorization?.startsWith('Bearer ') ? authorization.slice(7).trim() : undefined

/** Whether `offered` is `token`, compared in constant time. */
export const isToken = (offered: string | undefined, token: string): boolean =>
  offered !== undefined && constantTimeEqual(offered, token)
