/** The filter of workerd's log (test/support/workerd-log.ts): provoked faults go, anything else stays. */
import { describe, expect, it } from 'vitest'
import { dropProvokedFaultLogs } from './workerd-log.js'

const STACK = 'stack: /x/workerd@52008e2 /x/workerd@5200ac5'

const through = (...writes: [stream: 0 | 1, text: string][]) => {
  const written: string[] = []
  const stream = () => ({ write: (chunk: string) => written.push(chunk) > 0 }) as unknown as NodeJS.WriteStream
  const streams = [stream(), stream()]
  const restore = dropProvokedFaultLogs(streams)
  for (const [at, text] of writes) streams[at]!.write(text)
  restore()
  streams[0]!.write('after\n')
  return written.join('')
}

describe('dropProvokedFaultLogs', () => {
  it("drops a refused connection's exception, its uncaught rejection and their stacks, on either stream", () => {
    const out = through(
      [1, `exception = kj/async-io-unix.c++:1538: disconnected: connect(): Connection refused\n${STACK}\n`],
      [0, 'uncaught exception; source = Uncaught (in promise); stack = Error: Network connection lost.\n'],
      [
        0,
        'uncaught exception; exception = workerd/jsg/value.h:1480: disconnected: jsg.Error: Network connection lost.\n',
      ],
      [0, `${STACK}\n`],
      [0, ' ✓  workerd  test/providers/http.test.ts (44 tests)\n'],
    )
    expect(out).toBe(' ✓  workerd  test/providers/http.test.ts (44 tests)\nafter\n')
  })

  it('drops the internal error an unresolvable test host leaves', () => {
    const dns =
      'e = kj/async-io-unix.c++:1298: failed: DNS lookup failed.; params.host = sms-hook-test.invalid; params.service = '
    const out = through(
      [1, `${dns}\n${dns}\n`],
      [0, 'uncaught exception; source = Uncaught (in promise); stack = Error: internal error; reference = abc123\n'],
    )
    expect(out).toBe('after\n')
  })

  it("keeps an uncaught exception that follows no provoked fault, and our code's own, with their stacks", () => {
    const lost = 'uncaught exception; source = Uncaught (in promise); stack = Error: Network connection lost.'
    const ours = 'uncaught exception; source = Uncaught (in promise); stack = Error: boom'
    const refused = 'exception = kj/async-io-unix.c++:1538: disconnected: connect(): Connection refused'
    expect(through([0, `${lost}\n${STACK}\n`])).toBe(`${lost}\n${STACK}\nafter\n`)
    expect(through([0, `${refused}\n${ours}\n${STACK}\n`])).toBe(`${ours}\n${STACK}\nafter\n`)
  })
})
