// ROL programs for data packages: building, parsing, and every kind of malformed input as an error value.

import { describe, expect, it } from 'vitest'
import {
  announcePackageRol,
  buildRol,
  createResourceRol,
  dispersePackageRol,
  interpretPackageRol,
  parseRol,
  requestPackageRol,
  type RolPackageDetails,
  type RolResourceMeta
} from '../../../../gateway/federation/tak/rol.ts'

const HASH = 'ab'.repeat(32)

const meta: RolResourceMeta = {
  hash: HASH,
  name: 'plan.zip',
  filename: 'plan.zip',
  mimeType: 'application/x-zip-compressed',
  keywords: ['missionpackage'],
  submissionTime: '2026-01-02T03:04:05.000Z',
  submitter: 'ALPHA-1',
  uid: 'pkg_1',
  creatorUid: 'ANDROID-1',
  size: 5,
  tool: 'public'
}

const details: RolPackageDetails = {
  sha256: HASH,
  name: 'plan.zip',
  filename: 'plan.zip',
  senderUrl: 'https://gw:8443/Marti/sync/content?hash=' + HASH,
  sizeInBytes: 5,
  senderCallsign: 'ALPHA-1',
  dest: { callsigns: ['BRAVO-2'], uids: ['ANDROID-2'] },
  tsStored: 1700000000000
}

describe('ROL text', () => {
  it('builds "<op> <resource>\\n<json>;" exactly as TAK writes it', () => {
    expect(buildRol('request', 'package', { sha256: HASH })).toBe(`request package\n{"sha256":"${HASH}"};`)
  })

  it('parses TAK-style programs, with CRLF, extra whitespace and trailing blanks', () => {
    const r = parseRol(`announce package\r\n  {"sha256":"${HASH}","name":"a.zip"} ;  \n`)
    expect(r).toEqual({ ok: true, value: { operation: 'announce', resource: 'package', params: { sha256: HASH, name: 'a.zip' } } })
  })

  it.each([
    ['not text', 42],
    ['empty', ''],
    ['no resource', 'create\n{};'],
    ['unknown operation', 'explode package\n{};'],
    ['unknown resource', 'create spaceship\n{};'],
    ['missing semicolon', 'create resource\n{"hash":"x"}'],
    ['broken JSON', 'create resource\n{"hash":;'],
    ['JSON array', 'create resource\n[1,2];'],
    ['JSON string', 'create resource\n"x";'],
    ['JSON null', 'create resource\nnull;'],
    ['too long', `create resource\n{"x":"${'a'.repeat(300_000)}"};`]
  ])('returns an error value for %s', (_label, program) => {
    const r = parseRol(program)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.length).toBeGreaterThan(5)
  })
})

describe('package programs', () => {
  it('round-trips create resource with its bytes', () => {
    const bytes = Buffer.from('hello')
    const msg = createResourceRol(meta, bytes)
    const r = interpretPackageRol(msg)
    expect(r).toEqual({ ok: true, value: { kind: 'createResource', meta, bytes } })
  })

  it('round-trips announce package, destinations nested in senderUid as TAK does', () => {
    const msg = announcePackageRol(details)
    expect(msg.program.startsWith('announce package\n')).toBe(true)
    const params = JSON.parse(msg.program.slice('announce package\n'.length, -1)) as Record<string, unknown>
    expect(JSON.parse(params.senderUid as string)).toEqual({ callsigns: ['BRAVO-2'], uids: ['ANDROID-2'] })
    expect(interpretPackageRol(msg)).toEqual({ ok: true, value: { kind: 'announcePackage', details } })
  })

  it('round-trips request and disperse package (payload as Uint8Array from protobuf)', () => {
    expect(interpretPackageRol(requestPackageRol(HASH.toUpperCase()))).toEqual({
      ok: true,
      value: { kind: 'requestPackage', sha256: HASH }
    })
    const msg = dispersePackageRol(details, Buffer.from('zip'))
    const fromWire = { program: msg.program, payload: [{ data: new Uint8Array(Buffer.from('zip')) }] }
    const r = interpretPackageRol(fromWire)
    expect(r.ok && r.value.kind === 'dispersePackage' && r.value.bytes?.toString()).toBe('zip')
  })

  it('reads TAK string sizes and defaults missing optional fields', () => {
    const r = interpretPackageRol({ program: `create resource\n{"hash":"${HASH}","name":"x.zip","size":"12"};`, payload: [] })
    expect(r.ok && r.value.kind === 'createResource' && r.value.meta).toMatchObject({ size: 12, filename: 'x.zip', tool: 'public' })
    expect(r.ok && r.value.kind === 'createResource' && r.value.bytes).toBe(null)
  })

  it('marks missions and data feeds as ignored, not errors', () => {
    expect(interpretPackageRol({ program: 'create mission\n{"name":"m1"};' })).toEqual({
      ok: true,
      value: { kind: 'ignored', operation: 'create', resource: 'mission' }
    })
  })

  it.each([
    ['hash not hex', `create resource\n{"hash":"zz","name":"a"};`],
    ['no name', `create resource\n{"hash":"${HASH}"};`],
    ['name not text', `create resource\n{"hash":"${HASH}","name":7};`],
    ['negative size', `create resource\n{"hash":"${HASH}","name":"a","size":-1};`],
    ['senderUid bad JSON', `announce package\n{"sha256":"${HASH}","name":"a","senderUid":"{oops"};`],
    ['request without sha256', 'request package\n{};']
  ])('returns an error value for a package program with %s', (_label, program) => {
    const r = interpretPackageRol({ program, payload: [] })
    expect(r.ok).toBe(false)
  })
})
