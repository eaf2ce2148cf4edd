// The contacts (uid → callsign) a TAK federate announced on one session, used to route direct messages to it. A peer
// picks the uids and callsigns, each as large as a gRPC message, so the list is capped by count per session and charged
// to the gateway-wide cache budget (Memory:CacheBytes): past either, the oldest announced contact is forgotten first.

import { ENTRY_OVERHEAD_BYTES, type ByteBudget } from '../../routing/byte-budget.ts'

/** Contacts one session keeps (a large TAK Server federates a few thousand). */
const MAX_REMOTE_CONTACTS = 50_000

interface Contact {
  uid: string
  callsign: string
}

export class RemoteContacts {
  /** Insertion order is the order of last announcement: the first is the oldest. */
  private readonly byUid = new Map<string, Contact>()
  /** How many contacts carry each callsign, so a direct message by callsign is one lookup, not a pass over all. */
  private readonly callsigns = new Map<string, number>()
  private evictedCount = 0

  constructor(
    private readonly budget: ByteBudget,
    private readonly maxCount = MAX_REMOTE_CONTACTS
  ) {}

  get size(): number {
    return this.byUid.size
  }

  /** Contacts forgotten to keep within the count cap or the byte budget. */
  get evicted(): number {
    return this.evictedCount
  }

  has(uid: string): boolean {
    return this.byUid.has(uid)
  }

  get(uid: string): string | undefined {
    return this.byUid.get(uid)?.callsign
  }

  hasCallsign(callsign: string): boolean {
    return this.callsigns.has(callsign)
  }

  /** Announced (CREATE or UPDATE): now the newest. */
  set(uid: string, callsign: string): void {
    this.delete(uid)
    const contact: Contact = { uid, callsign }
    this.byUid.set(uid, contact)
    this.callsigns.set(callsign, (this.callsigns.get(callsign) ?? 0) + 1)
    // Two bytes a character: what V8 may hold for a string a peer sent (not always Latin-1).
    this.budget.charge(contact, 2 * (uid.length + callsign.length) + ENTRY_OVERHEAD_BYTES, () => this.evict(contact))
    if (this.byUid.size > this.maxCount) this.evict(this.byUid.values().next().value!, true)
  }

  /** Withdrawn (DELETE); whether it was known. */
  delete(uid: string): boolean {
    const contact = this.byUid.get(uid)
    if (!contact) return false
    this.budget.release(contact)
    this.remove(contact)
    return true
  }

  /** The session ended: everything goes, and leaves the budget. */
  clear(): void {
    for (const contact of this.byUid.values()) this.budget.release(contact)
    this.byUid.clear()
    this.callsigns.clear()
  }

  private evict(contact: Contact, release = false): void {
    if (this.byUid.get(contact.uid) !== contact) return
    if (release) this.budget.release(contact)
    this.remove(contact)
    this.evictedCount++
  }

  private remove(contact: Contact): void {
    this.byUid.delete(contact.uid)
    const left = (this.callsigns.get(contact.callsign) ?? 1) - 1
    if (left > 0) this.callsigns.set(contact.callsign, left)
    else this.callsigns.delete(contact.callsign)
  }
}
