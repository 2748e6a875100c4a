/**
 * The workerd test pool runs workerd verbose and copies its log to this process's stderr, where every failed
 * subrequest leaves a KJ exception, a JS "uncaught exception" (logged by workerd although the test's code caught
 * it) and native stack traces. The network-fault cases (test/fakes/network-faults.ts) provoke such failures on
 * purpose, and the pool's options offer no say over its log, so their lines are dropped here: only those, by the
 * fault each names, and the "uncaught exception" and "stack:" lines that directly follow one of them. Any other
 * line of workerd, an uncaught exception of our own code included, still shows.
 */

/** What workerd logs for the faults the fake servers and unresolvable test host provoke, and nothing else. */
const PROVOKED = [
  /^exception = kj\/async-io-unix\.c\+\+:\d+: disconnected: connect\(\): Connection refused$/,
  /^exception = kj\/async-io-unix\.c\+\+:\d+: disconnected: ::read\(fd, buffer, maxBytes\): Connection reset by peer$/,
  /^exception = kj\/async-io-unix\.c\+\+:\d+: disconnected: connect\(\): Connection reset by peer$/,
  /^exception = kj\/compat\/http\.c\+\+:\d+: disconnected: premature EOF in HTTP entity body; /,
  /^e = kj\/async-io-unix\.c\+\+:\d+: failed: DNS lookup failed\.; params\.host = [\w-]+\.invalid; /,
  /^e = kj\/compat\/tls\.c\+\+:\d+: failed: TLS peer's certificate is not trusted; reason = self signed certificate$/,
]

/** How workerd hands the failure to the caller, as it logs it: only dropped right after a provoked fault. */
const AS_THROWN =
  /^uncaught exception; (source = Uncaught \(in promise\); stack = Error|exception = \S+: (disconnected|failed): jsg\.Error): (Network connection lost\.|internal error; reference = \w+)$/

/** Stops dropping lines: the previous writes of stdout and stderr, put back. */
export type Restore = () => void

/**
 * Drops workerd's lines for provoked network faults from `streams` (the pool writes workerd's errors to stderr and
 * the rest to stdout, one fault's lines on both) until the returned function runs.
 */
export const dropProvokedFaultLogs = (streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): Restore => {
  let afterFault = false
  let dropping = false
  const keep = (line: string) => {
    if (PROVOKED.some((pattern) => pattern.test(line))) afterFault = dropping = true
    else if (line.startsWith('stack: ')) return !dropping
    else if (afterFault && AS_THROWN.test(line)) dropping = true
    else afterFault = dropping = false
    return !dropping
  }
  const filter = (stream: NodeJS.WriteStream): Restore => {
    const write = stream.write
    stream.write = function filtered(this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array))
        return Reflect.apply(write, this, [chunk, ...rest])
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8')
      const kept = text
        .split('\n')
        .filter((line, i, lines) => (i === lines.length - 1 && line === '') || keep(line))
        .join('\n')
      if (kept === '') {
        const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined
        callback?.()
        return true
      }
      return Reflect.apply(write, this, [kept, ...rest])
    } as NodeJS.WriteStream['write']
    return () => {
      stream.write = write
    }
  }
  const restores = streams.map(filter)
  return () => restores.forEach((restore) => restore())
}
