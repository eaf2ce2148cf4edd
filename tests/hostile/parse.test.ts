// Issue 22, "one event can freeze everything": an enrolled device (mutual TLS to the streaming port) and a TAK
// federate (v2) each send single events built to make parsing square in their size: 120k attributes on one element,
// 120k <marti/> elements, 30k <marti><dest> pairs, a TAK protocol request whose comment holds 85k "<TakRequest". The
// old gateway froze for 15 s to minutes on each (its event loop, and with it this test); now a steady stream between
// two other devices keeps arriving without a gap of seconds, nobody is dropped, and the bad events are counted.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { takFederationArea, type TakFederation } from '../../gateway/federation/tak/index.ts'
import { MAX_ELEMENTS } from '../../gateway/cot/xml-scan.ts'
import { DeviceClient } from '../support/device-client.ts'
import { enrollIdentity, pli, until } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import { leafCertificate, throwawayCa } from '../support/hardening-certs.ts'
import { geoEvent, TakFederate } from '../support/tak-federate.ts'

const MAX_EVENT_BYTES = 1_048_576
/** A gap this long in a 100 ms stream means the gateway stopped; a loaded 2-core machine stays far below it. */
const MAX_GAP_MS = 4000

const ATTACKS = 120_000
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
const NAME_CHARS = `${LETTERS}0123456789`

/** `count` distinct three-character attribute names: ` abc=""` is 7 bytes, so 120k of them fit in one event. */
function manyAttributes(count: number): string {
  const parts: string[] = []
  for (let i = 0; i < count; i++) {
    const name = LETTERS[Math.floor(i / 3844) % 52]! + NAME_CHARS[Math.floor(i / 62) % 62]! + NAME_CHARS[i % 62]!
    parts.push(` ${name}=""`)
  }
  return parts.join('')
}

function cot(uid: string, type: string, detailInner: string): string {
  const now = new Date()
  const stale = new Date(now.getTime() + 60_000)
  return (
    `<event version="2.0" uid="${uid}" type="${type}" how="h-g-i-g-o" time="${now.toISOString()}" start="${now.toISOString()}" stale="${stale.toISOString()}">` +
    `<point lat="1" lon="2" hae="3" ce="4" le="5"/><detail>${detailInner}</detail></event>`
  )
}

const deviceAttacks: { what: string; xml: string; refused: boolean }[] = [
  { what: `${ATTACKS} attributes on one element`, xml: cot('ATTACK-ATTRS', 'a-f-G', `<x${manyAttributes(ATTACKS)}/>`), refused: true },
  { what: `${ATTACKS} <marti/> elements`, xml: cot('ATTACK-MARTI', 'b-t-f', '<marti/>'.repeat(ATTACKS)), refused: true },
  {
    what: '30k <marti><dest uid/></marti>',
    xml: cot('ATTACK-DEST', 'b-t-f', '<marti><dest uid="u"/></marti>'.repeat(30_000)),
    refused: true
  },
  // Valid CoT (a comment is not elements): answered, not counted, and it must not cost the square of its size either.
  {
    what: 'a protocol request with 85k "<TakRequest" in a comment',
    xml: cot('ATTACK-TAKP', 't-x-takp-q', `<!--${'<TakRequest '.repeat(85_000)}-->`),
    refused: false
  }
]

describe('one hostile event cannot freeze the gateway', () => {
  let t: TestGateway
  let fed: TakFederation
  let attacker: DeviceClient
  let talker: DeviceClient
  let listener: DeviceClient
  let federate: TakFederate
  let peerId = ''

  beforeAll(async () => {
    t = await startTestGateway({
      env: {
        Federation__AdvertisedHostname: 'localhost',
        Federation__OurFederateId: 'fedgate-parse',
        Streaming__MaxEventBytes: String(MAX_EVENT_BYTES)
      }
    })
    fed = takFederationArea(t.services)!
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Parse', plan: 'team' }, admin)
    const networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Main' }, admin)).id
    const port = t.services.ports.streaming
    attacker = await DeviceClient.connect({ port, ...(await enrollIdentity(t, admin, networkId, 'ATTACKER')) })
    talker = await DeviceClient.connect({ port, ...(await enrollIdentity(t, admin, networkId, 'TALKER')) })
    listener = await DeviceClient.connect({ port, ...(await enrollIdentity(t, admin, networkId, 'LISTENER')) })
    const peerCert = leafCertificate(throwawayCa('Parse peers CA'), 'federate', -1, 30)
    peerId = (await t.ok('addExternalPeer', { networkId, fingerprint: peerCert.fingerprint, displayName: 'Federate' }, admin)).id
    federate = new TakFederate({
      port: fed.port,
      ca: t.services.pki.caCertPem,
      key: peerCert.keyPem,
      certChain: peerCert.chainPem,
      healthIntervalMs: 500
    }).start()
    await federate.serving()
    await until(() => fed.sessionsOf(peerId).length === 1, 5000, 'the federate session')
    // Both inputs reach the listener before any attack.
    attacker.send(pli('ATTACKER-UID', 'ATTACKER'))
    federate.send({ event: geoEvent('FED-HELLO') } as never)
    await until(
      () => listener.events.some((e) => e.uid === 'ATTACKER-UID') && listener.events.some((e) => e.uid === 'FED-HELLO'),
      5000,
      'the first events'
    )
  })

  afterAll(async () => {
    federate?.close()
    await attacker?.close()
    await talker?.close()
    await listener?.close()
    await t?.stop()
  })

  /**
   * Runs `attack` while TALKER sends a position every 100 ms; returns the longest time LISTENER went without a new one
   * (sampled every 20 ms: a frozen gateway freezes this loop too, and the gap shows when it wakes). Bounded: at most
   * 200 ticks after the attack was sent.
   */
  async function longestGapDuring(attack: () => void, done: () => boolean): Promise<number> {
    const received = (): number => listener.events.filter((e) => e.uid === 'TALKER-UID').length
    let seen = received()
    let lastArrival = Date.now()
    let longest = 0
    let seq = 0
    talker.send(pli('TALKER-UID', 'TALKER', { lat: 1, lon: seq++ }))
    attack()
    for (let tick = 0; tick < 200; tick++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      if (tick % 5 === 0) talker.send(pli('TALKER-UID', 'TALKER', { lat: 1, lon: seq++ }))
      const now = Date.now()
      const count = received()
      if (count > seen) {
        longest = Math.max(longest, now - lastArrival)
        lastArrival = now
        seen = count
      }
      if (tick >= 20 && done()) break
    }
    return Math.max(longest, Date.now() - lastArrival)
  }

  it('a device: each event is dropped and counted, the device stays, everyone else keeps receiving', async () => {
    const oversizeBefore = t.services.health().dropsByReason['devices.oversize'] ?? 0
    let refused = 0
    for (const attack of deviceAttacks) {
      expect(Buffer.byteLength(attack.xml)).toBeLessThan(MAX_EVENT_BYTES)
      if (attack.refused) refused++
      const answered = (): boolean =>
        !attack.refused
          ? attacker.received.some((e) => e.type === 't-x-takp-r' && e.uid === 'ATTACK-TAKP')
          : (t.services.health().dropsByReason['devices.oversize'] ?? 0) - oversizeBefore >= refused
      const gap = await longestGapDuring(() => attacker.sendRaw(attack.xml), answered)
      expect.soft(gap, attack.what).toBeLessThan(MAX_GAP_MS)
      expect.soft(answered(), `${attack.what}: handled`).toBe(true)
    }
    expect(t.services.health().dropsByReason['devices.oversize'] ?? 0).toBe(oversizeBefore + refused)
    // No attack event reached anyone; the protocol request was refused (no version 1 in it), not switched.
    expect(listener.events.filter((e) => e.uid.startsWith('ATTACK-'))).toEqual([])
    expect(attacker.received.find((e) => e.uid === 'ATTACK-TAKP')!.detailXml).toContain('status="false"')
    // The sender is still connected and heard; the listener (silent all along) was not dropped.
    attacker.send(pli('ATTACKER-UID', 'ATTACKER', { lat: 5, lon: 5 }))
    await until(() => listener.events.some((e) => e.uid === 'ATTACKER-UID' && e.point.lat === 5), 5000, 'the attacker heard again')
    expect(attacker.socket.destroyed || listener.socket.destroyed).toBe(false)
  })

  it('a TAK federate: each event is dropped and counted as federation.oversize, the session goes on', async () => {
    const oversize = (): number => t.services.health().dropsByReason['federation.oversize'] ?? 0
    const attacks = [
      {
        what: `${ATTACKS} attributes in 'other'`,
        event: geoEvent('FED-ATTRS', { other: `<detail><x${manyAttributes(ATTACKS)}/></detail>` })
      },
      // A destination makes the mapping parse the rebuilt event: with 120k <marti/> that parse was square.
      {
        what: `${ATTACKS} <marti/> in 'other' and a destination`,
        event: geoEvent('FED-MARTI', { other: `<detail>${'<marti/>'.repeat(ATTACKS)}</detail>`, ptpCallsigns: ['LISTENER'] })
      },
      {
        what: `${MAX_ELEMENTS + 1} destinations`,
        event: geoEvent('FED-DESTS', { ptpUids: Array.from({ length: MAX_ELEMENTS + 1 }, (_, i) => `u${i}`) })
      }
    ]
    const before = oversize()
    let sent = 0
    for (const attack of attacks) {
      sent++
      const counted = (): boolean => oversize() - before >= sent
      const gap = await longestGapDuring(() => federate.send({ event: attack.event } as never), counted)
      expect.soft(gap, attack.what).toBeLessThan(MAX_GAP_MS)
      expect.soft(counted(), `${attack.what}: counted`).toBe(true)
    }
    expect(oversize()).toBe(before + attacks.length)
    expect(listener.events.filter((e) => e.uid.startsWith('FED-') && e.uid !== 'FED-HELLO')).toEqual([])
    // The federate's session is the same one and still delivers.
    expect(fed.sessionsOf(peerId)).toHaveLength(1)
    expect(federate.ended.size).toBe(0)
    federate.send({ event: geoEvent('FED-AFTER') } as never)
    await until(() => listener.events.some((e) => e.uid === 'FED-AFTER'), 5000, 'the federate heard again')
  })
})
