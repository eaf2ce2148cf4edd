// Fairness between the inputs that feed the router. Node reads a ready socket up to 32 times in one go (libuv) and
// grpc-js hands over every message it has in the same turn, so after any pause one input could take the event loop
// for a long time: a federation stream delivered 2,700 events in one turn and a device socket a few thousand, and a
// gateway's loop stood still for up to 175 ms (bench, fed v2 at 15k events/s). Nothing is written while the loop
// stands still, so the outboxes behind it filled and dropped, and the peer then got a burst in turn.
//
// So each input counts what it handled in the current turn; past the budget it is paused and resumed on the next
// turn. What it did not read waits in the kernel's socket buffer or under HTTP/2 flow control, not in our memory.

import type { Readable } from 'node:stream'

/** Events one input may hand to the router in one turn of the event loop before it yields to the others. */
export const READ_BUDGET_PER_TURN = 64

export class TurnBudget {
  private spent = 0
  private nextTurnArmed = false
  private pausedByUs = false

  constructor(
    private readonly stream: Readable,
    private readonly budget = READ_BUDGET_PER_TURN
  ) {}

  /** Count `events` handled; past the budget the stream is paused until the next turn. */
  spend(events = 1): void {
    if (!this.nextTurnArmed) {
      this.nextTurnArmed = true
      setImmediate(this.nextTurn)
    }
    this.spent += events
    if (this.spent >= this.budget && !this.pausedByUs) {
      this.pausedByUs = true
      this.stream.pause()
    }
  }

  private readonly nextTurn = (): void => {
    this.nextTurnArmed = false
    this.spent = 0
    if (!this.pausedByUs) return
    this.pausedByUs = false
    if (!this.stream.destroyed) this.stream.resume()
  }
}

/** Hand each message of a message stream (a federation stream) to `handle`, at most `budget` per turn. */
export function readWithBudget<T>(stream: Readable, handle: (message: T) => void, budget = READ_BUDGET_PER_TURN): void {
  const turns = new TurnBudget(stream, budget)
  stream.on('data', (message: T) => {
    turns.spend()
    handle(message)
  })
}
