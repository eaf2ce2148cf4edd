// The revocation journal (pki/revocations.ndjson): what it remembers across opens, a torn last line, a full disk,
// and its replay onto an older copy of db.json (devices by fingerprint, peers by id).

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ApiError } from '../../../gateway/api/errors.ts'
import { RevocationJournal, type RevocationEntry } from '../../../gateway/pki/revocations.ts'
import { emptyDocument, type DeviceRecord, type ExternalPeerRecord } from '../../../gateway/store/schema.ts'

const FP = (byte: string): string => Array.from({ length: 32 }, () => byte).join(':')
const device = (id: string, fingerprint: string): RevocationEntry => ({
  kind: 'device',
  at: '2026-01-01T00:00:00.000Z',
  fingerprint,
  deviceId: id,
  callsign: id,
  networkId: 'net-1'
})
const peer = (id: string): RevocationEntry => ({
  kind: 'peer',
  at: '2026-01-02T00:00:00.000Z',
  fingerprint: FP('CC'),
  peerId: id,
  displayName: `TAK ${id}`,
  networkId: 'net-1'
})

let dir = ''
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-revocations-'))
})
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

describe('revocation journal', () => {
  it('remembers across opens, in any fingerprint spelling, in a 0600 file', () => {
    RevocationJournal.open(dir).record([device('dev-1', FP('AB')), peer('peer-1')])
    const again = RevocationJournal.open(dir)
    expect(again.deviceRevoked(FP('ab').replace(/:/g, ''))).toBe(true)
    expect(again.deviceRevoked(FP('AC'))).toBe(false)
    expect(again.peerRemoved('peer-1')).toBe(true)
    expect(fs.statSync(again.file).mode & 0o777).toBe(0o600)
  })

  it('skips a torn last line and starts the next entry on a line of its own', () => {
    RevocationJournal.open(dir).record([device('dev-1', FP('AB'))])
    fs.appendFileSync(path.join(dir, 'revocations.ndjson'), '{"kind":"device","at":"2026')
    const torn = RevocationJournal.open(dir)
    expect(torn.unreadable).toBe(1)
    torn.record([device('dev-2', FP('CD'))])
    const after = RevocationJournal.open(dir)
    expect(after.deviceRevoked(FP('AB'))).toBe(true)
    expect(after.deviceRevoked(FP('CD'))).toBe(true)
  })

  it('on a full disk refuses with unavailable and remembers nothing', () => {
    const journal = RevocationJournal.open(dir)
    // The disk fills while Fedgate runs: appends to /dev/full fail with a real ENOSPC.
    fs.symlinkSync('/dev/full', path.join(dir, 'revocations.ndjson'))
    let error: unknown
    try {
      journal.record([device('dev-1', FP('AB'))])
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(ApiError)
    expect((error as ApiError).code).toBe('unavailable')
    expect((error as ApiError).message).toMatch(/disk is full.*nothing was changed/)
    expect(journal.deviceRevoked(FP('AB'))).toBe(false)
    // And a journal that is not a regular file stops the start with a sentence, instead of being read forever.
    expect(() => RevocationJournal.open(dir)).toThrow(/not a regular file/)
  })

  it('replays onto an older document: revokes by fingerprint, removes peers by id (a re-added fingerprint stays)', () => {
    const journal = RevocationJournal.open(dir)
    journal.record([device('dev-1', FP('AB')), peer('peer-old')])
    const doc = emptyDocument()
    doc.devices.push({ id: 'dev-1', callsign: 'ONE', fingerprint: FP('AB'), revokedAt: null } as DeviceRecord)
    doc.devices.push({ id: 'dev-2', callsign: 'TWO', fingerprint: FP('CD'), revokedAt: null } as DeviceRecord)
    doc.externalPeers.push({ id: 'peer-old', displayName: 'Old', fingerprint: FP('CC') } as ExternalPeerRecord)
    doc.externalPeers.push({ id: 'peer-new', displayName: 'New', fingerprint: FP('CC') } as ExternalPeerRecord)
    const replayed = journal.replay(doc)
    expect(doc.devices.map((d) => d.revokedAt)).toEqual(['2026-01-01T00:00:00.000Z', null])
    expect(doc.externalPeers.map((p) => p.id)).toEqual(['peer-new'])
    expect(replayed.devices.join()).toMatch(/ONE/)
    expect(replayed.peers.join()).toMatch(/Old/)
    expect(journal.replay(doc)).toEqual({ devices: [], peers: [] })
  })
})
