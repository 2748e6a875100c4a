// The baseline: the cheapest Hono POST handler on @hono/node-server that still reads the body and answers
// JSON, as the hook does. Whatever the hook costs on top of this is what the benchmark measures.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const app = new Hono()
app.post('/send-sms', async (c) => {
  await c.req.arrayBuffer()
  return c.json({})
})
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) => {
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${info.port}` }))
})
process.on('SIGTERM', () => server.close(() => process.exit(0)))
