import { systemClock } from '../../src/clock.js'
import { MemoryIdempotencyStore } from '../../src/store/memory.js'
import { describeStoreContract } from './contract.js'

describeStoreContract(
  'MemoryIdempotencyStore',
  () => new MemoryIdempotencyStore({ clock: systemClock }),
  () => {
    let now = Date.now()
    return { store: new MemoryIdempotencyStore({ clock: { now: () => now } }), advance: (ms) => void (now += ms) }
  },
)
