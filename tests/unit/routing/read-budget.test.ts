// An input read with a TurnBudget hands over at most its budget per turn of the event loop, then waits paused for
// the next turn; nothing is lost or reordered, and a stream destroyed while paused is left alone.

import { PassThrough } from 'node:stream'
import { expect, it } from 'vitest'
import { TurnBudget } from '../../../gateway/routing/read-budget.ts'

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

it('hands over at most the budget per turn, in order, and resumes by itself', async () => {
  const stream = new PassThrough({ objectMode: true, highWaterMark: 10_000 })
  for (let i = 0; i < 1000; i++) stream.write(i)
  const budget = new TurnBudget(stream, 100)
  const got: number[] = []
  const perTurn: number[] = []
  stream.on('data', (n: number) => {
    budget.spend()
    got.push(n)
  })
  for (let turns = 0; turns < 50 && got.length < 1000; turns++) {
    const before = got.length
    await turn()
    perTurn.push(got.length - before)
  }
  expect(got).toEqual(Array.from({ length: 1000 }, (_, i) => i))
  expect(Math.max(...perTurn)).toBeLessThanOrEqual(100)
  expect(perTurn.filter((n) => n > 0).length).toBeGreaterThanOrEqual(10)
})

it('counts what a chunk carried, and leaves a destroyed stream alone', async () => {
  const stream = new PassThrough({ objectMode: true })
  const budget = new TurnBudget(stream, 10)
  const got: number[] = []
  stream.on('data', (n: number) => {
    budget.spend(n)
    got.push(n)
  })
  stream.write(6)
  stream.write(6)
  stream.write(1)
  await new Promise((resolve) => process.nextTick(resolve))
  // 6 + 6 passed the budget of 10: paused, the third waits for the next turn.
  expect(got).toEqual([6, 6])
  expect(stream.isPaused()).toBe(true)
  await turn()
  expect(got).toEqual([6, 6, 1])
  expect(stream.isPaused()).toBe(false)

  stream.write(20)
  await new Promise((resolve) => process.nextTick(resolve))
  expect(stream.isPaused()).toBe(true)
  stream.destroy()
  await turn()
  expect(stream.destroyed).toBe(true)
})
