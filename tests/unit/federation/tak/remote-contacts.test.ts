// A federate's contact list: capped by count and by the gateway-wide byte budget, oldest announced first out, and
// lookups by callsign do not walk the list.

import { describe, expect, it } from 'vitest'
import { ByteBudget } from '../../../../gateway/routing/byte-budget.ts'
import { RemoteContacts } from '../../../../gateway/federation/tak/remote-contacts.ts'

describe('RemoteContacts', () => {
  it('forgets the oldest announced contact past the count cap; an update makes a contact the newest', () => {
    const contacts = new RemoteContacts(new ByteBudget(() => 1_000_000), 3)
    contacts.set('u1', 'ONE')
    contacts.set('u2', 'TWO')
    contacts.set('u3', 'THREE')
    contacts.set('u1', 'ONE-B')
    contacts.set('u4', 'FOUR')
    expect(contacts.size).toBe(3)
    expect(contacts.has('u2')).toBe(false)
    expect(contacts.get('u1')).toBe('ONE-B')
    expect(contacts.hasCallsign('ONE')).toBe(false)
    expect(contacts.hasCallsign('ONE-B')).toBe(true)
    expect(contacts.evicted).toBe(1)
  })

  it('stays within the byte budget with huge uids, oldest first, and gives its bytes back when cleared', () => {
    const budget = new ByteBudget(() => 100_000)
    const contacts = new RemoteContacts(budget)
    for (let i = 0; i < 20; i++) contacts.set(`${i}-${'u'.repeat(20_000)}`, `CS-${i}`)
    expect(budget.bytes).toBeLessThanOrEqual(100_000)
    expect(contacts.size).toBeLessThan(20)
    expect(contacts.has(`19-${'u'.repeat(20_000)}`)).toBe(true)
    expect(contacts.has(`0-${'u'.repeat(20_000)}`)).toBe(false)
    expect(contacts.hasCallsign('CS-0')).toBe(false)
    contacts.clear()
    expect(budget.bytes).toBe(0)
    expect(budget.entries).toBe(0)
  })

  it('keeps a callsign shared by two uids until both are gone', () => {
    const contacts = new RemoteContacts(new ByteBudget())
    contacts.set('a', 'SAME')
    contacts.set('b', 'SAME')
    expect(contacts.delete('a')).toBe(true)
    expect(contacts.hasCallsign('SAME')).toBe(true)
    contacts.delete('b')
    expect(contacts.hasCallsign('SAME')).toBe(false)
    expect(contacts.delete('b')).toBe(false)
  })
})
