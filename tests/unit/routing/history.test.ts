// The charts' rings: fixed size whatever runs through them, oldest first, per-second rates from growing counters.

import { describe, expect, it } from 'vitest'
import { CounterRate, Ring, SeriesSet, eventsOver, sumSeries } from '../../../gateway/routing/history.ts'

describe('Ring', () => {
  it('keeps the newest values in order and overwrites the oldest past its capacity', () => {
    const ring = new Ring(3)
    expect(ring.values()).toEqual([])
    ring.push(1)
    ring.push(2)
    expect(ring.values()).toEqual([1, 2])
    ring.push(3)
    ring.push(4)
    ring.push(null)
    expect(ring.length).toBe(3)
    expect(ring.values()).toEqual([3, 4, null])
    expect(ring.values(2)).toEqual([4, null])
    expect(ring.values(99)).toEqual([3, 4, null])
  })

  it('holds no more than its capacity after many wraps', () => {
    const ring = new Ring(720)
    for (let i = 0; i < 100_000; i++) ring.push(i)
    expect(ring.length).toBe(720)
    const values = ring.values()
    expect(values[0]).toBe(100_000 - 720)
    expect(values[719]).toBe(99_999)
  })

  it('refuses a capacity that is not a whole positive number', () => {
    expect(() => new Ring(0)).toThrow()
    expect(() => new Ring(2.5)).toThrow()
  })
})

describe('CounterRate', () => {
  it('turns a growing total into events per second between samples', () => {
    const rate = new CounterRate()
    expect(rate.rate(100, 5)).toBe(20) // counters start at zero with the gateway: the first sample counts from there
    expect(rate.rate(150, 5)).toBe(10)
    expect(rate.rate(151, 5)).toBe(0.2)
    expect(rate.rate(151, 5)).toBe(0)
  })

  it('reads a total that went down as a restarted counter, not a negative rate', () => {
    const rate = new CounterRate()
    rate.rate(500, 1)
    expect(rate.rate(3, 1)).toBe(0)
    expect(rate.rate(8, 1)).toBe(5)
  })
})

describe('SeriesSet', () => {
  it('lines a late series up with the time axis', () => {
    const set = new SeriesSet(4)
    set.record(1000, { in: 1 })
    set.record(2000, { in: 2, 'drop:full': 7 })
    set.record(3000, { in: 3 })
    expect(set.times.values()).toEqual([1000, 2000, 3000])
    expect(set.values('in')).toEqual([1, 2, 3])
    expect(set.values('drop:full')).toEqual([null, 7, null])
    expect(set.values('never')).toEqual([null, null, null])
  })

  it('forgets a series that got nothing for a whole window, and caps how many series exist', () => {
    const set = new SeriesSet(3, 2)
    set.record(1, { a: 1, b: 1 })
    set.record(2, { a: 1, c: 5 })
    expect(set.names().sort()).toEqual(['a', 'b'])
    expect(set.refused).toBe(1)
    set.record(3, { a: 1 })
    set.record(4, { a: 1 })
    expect(set.names()).toEqual(['a'])
    set.record(5, { a: 1, c: 5 })
    expect(set.names().sort()).toEqual(['a', 'c'])
  })
})

describe('sums', () => {
  it('adds aligned series point by point, keeping null where none has a figure', () => {
    expect(
      sumSeries(
        [
          [1, null, 3],
          [null, null, 4]
        ],
        3
      )
    ).toEqual([1, null, 7])
  })

  it('counts the events a series of rates stands for', () => {
    expect(eventsOver([2, null, 0.4], 5)).toBe(12)
  })
})
