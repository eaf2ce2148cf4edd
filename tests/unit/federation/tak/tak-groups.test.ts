// TAK groups per external peer (issue 16 §1, §2): the lists and their bounds through dispatch on a real gateway, the
// audit of a change, the migration of peers saved before, and the per-peer federate snippet pasted where its comments
// say into a TAK admin's CoreConfig.xml, then validated with xmllint against our XSD and, when the TAK Server sources
// are on this machine, against TAK's own CoreConfig.xsd — with group names that need escaping.

import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate } from '../../../../gateway/store/migrate.ts'
import { startTestGateway, type TestGateway } from '../../../support/gateway.ts'

const OUR_XSD = path.resolve(__dirname, '../../../support/coreconfig.xsd')
const EXAMPLE = path.resolve(__dirname, '../../../support/coreconfig-example.xml')
/** TAK Server's repository (a bare git directory); its CoreConfig.xsd is read from there when present. */
const TAK_GIT = process.env.TAK_SERVER_GIT_DIR ?? '/work/.mirror/TAK-Product-Center+Server/repo'
const TAK_XSD_PATH = 'src/takserver-common/src/main/xsd/CoreConfig.xsd'
const FP = 'AB'.repeat(32)
const ODD = ['Ops & <Blue>', 'O\'Neil "HQ"', 'Gruppe Süd']

function takXsd(dir: string): string | null {
  try {
    const text = execFileSync('git', ['--git-dir', TAK_GIT, 'show', `HEAD:${TAK_XSD_PATH}`], { stdio: ['ignore', 'pipe', 'ignore'] })
    const file = path.join(dir, 'TAK-CoreConfig.xsd')
    fs.writeFileSync(file, text)
    return file
  } catch {
    return null
  }
}

/** Pastes each part of the snippet at the marker its comments name (before <fileFilter>, after it). */
function paste(snippet: string): string {
  const at = snippet.indexOf('<!-- Part 2:')
  expect(at).toBeGreaterThan(0)
  const example = fs.readFileSync(EXAMPLE, 'utf8')
  return example.replace('<!-- PASTE federate -->', snippet.slice(0, at)).replace('<!-- PASTE federateCA -->', snippet.slice(at))
}

function valid(xsd: string, file: string): boolean {
  try {
    execFileSync('xmllint', ['--noout', '--schema', xsd, file], { stdio: 'pipe' })
    return true
  } catch {
    return false
  }
}

describe('TAK groups of an external peer', () => {
  let t: TestGateway
  let admin = ''
  let networkId = ''
  let orgId = ''
  let tmp = ''

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'gw.example.org', Federation__OurFederateId: 'fedgate-groups' } })
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team', tokenLimit: 5 }, admin)
    orgId = org.id
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Blue' }, admin)).id
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-tak-groups-'))
  })

  afterAll(async () => {
    await t?.stop()
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('defaults to __ANON__ both ways, keeps the names given (each once), and refuses lists out of bounds', async () => {
    const plain = await t.ok('addExternalPeer', { networkId, fingerprint: 'CD'.repeat(32), displayName: 'Plain' }, admin)
    expect(plain.takGroups).toEqual({ inbound: ['__ANON__'], outbound: ['__ANON__'] })
    const named = await t.ok(
      'addExternalPeer',
      { networkId, fingerprint: FP, displayName: 'HQ', takGroups: { inbound: [...ODD, ODD[0]!], outbound: ['Blue Force'] } },
      admin
    )
    expect(named.takGroups).toEqual({ inbound: ODD, outbound: ['Blue Force'] })
    const bad = [
      { inbound: [], outbound: ['a'] },
      { inbound: Array.from({ length: 33 }, (_, i) => `g${i}`), outbound: ['a'] },
      { inbound: ['x'.repeat(65)], outbound: ['a'] },
      { inbound: ['tab\there'], outbound: ['a'] },
      { inbound: ['  '], outbound: ['a'] },
      { inbound: ['a'] }
    ]
    for (const takGroups of bad) {
      const res = await t.call('updateExternalPeer', { id: named.id, takGroups }, admin)
      expect(res.ok ? 'ok' : res.error.code).toBe('invalid')
    }
    const max = { inbound: Array.from({ length: 32 }, (_, i) => `${i}`.padEnd(64, 'g')), outbound: ['a'] }
    expect((await t.ok('updateExternalPeer', { id: plain.id, takGroups: max }, admin)).takGroups).toEqual(max)
  })

  it('audits a change of groups with what it was and what it is', async () => {
    const peer = (await t.ok('listExternalPeers', { networkId }, admin)).find((p) => p.displayName === 'HQ')!
    await t.ok('updateExternalPeer', { id: peer.id, takGroups: { inbound: ['Blue Force', ...ODD], outbound: ['Blue Force'] } }, admin)
    const log = (await t.ok('listAuditLog', { organizationId: orgId, limit: 50 }, admin)).entries
    const entry = log.find((e) => e.action === 'updateExternalPeer' && 'takGroups' in (e.details ?? {}))!
    expect(entry.details).toMatchObject({
      takGroups: { from: { inbound: ODD, outbound: ['Blue Force'] }, to: { inbound: ['Blue Force', ...ODD], outbound: ['Blue Force'] } }
    })
    expect(log.find((e) => e.action === 'addExternalPeer' && e.target.includes('HQ'))!.details).toMatchObject({
      takGroups: { inbound: ODD, outbound: ['Blue Force'] }
    })
  })

  it("gives a peer's snippet with its groups, escaped, for our leaf and our CA, that validates where its comments put it", async () => {
    const peer = (await t.ok('listExternalPeers', { networkId }, admin)).find((p) => p.displayName === 'HQ')!
    const dl = await t.ok('downloadArtifact', { kind: 'coreconfig-federate', peerId: peer.id }, admin)
    const snippet = Buffer.from(dl.contentBase64, 'base64').toString()
    expect(dl.filename).toBe('fedgate-groups-federate-HQ.xml')
    expect(snippet).toContain(`<federate id="${t.services.pki.federation!.fingerprint}"`)
    expect(snippet).toContain(`<federateCA fingerprint="${t.services.pki.caFingerprint}">`)
    expect(snippet.match(/<inboundGroup>Ops &amp; &lt;Blue&gt;<\/inboundGroup>/g)).toHaveLength(2)
    expect(snippet.match(/<outboundGroup>Blue Force<\/outboundGroup>/g)).toHaveLength(2)
    expect(snippet).not.toContain('__ANON__')
    expect(snippet).toContain('enableFederation="true"')
    expect(snippet).toContain('v2enabled="true"')
    expect(snippet).toContain('truststore')

    const pasted = path.join(tmp, 'CoreConfig.xml')
    fs.writeFileSync(pasted, paste(snippet))
    const federation = path.join(tmp, 'federation.xml')
    const section = /<federation [\s\S]*<\/federation>/.exec(fs.readFileSync(pasted, 'utf8'))![0]
    fs.writeFileSync(federation, section.replace('<federation ', '<federation xmlns="http://bbn.com/marti/xml/config" '))
    expect(valid(OUR_XSD, federation)).toBe(true)
    // The names come back as the operator typed them once an XML reader has the pasted file.
    const names = execFileSync('xmllint', ['--xpath', "//*[local-name()='federateCA']/*[local-name()='inboundGroup']/text()", pasted])
    expect(names.toString()).toContain('Blue Force')
    expect(names.toString()).toContain('Ops &amp; &lt;Blue&gt;')

    // Both parts together before <fileFilter> break TAK's order: the schemas really check it.
    const together = path.join(tmp, 'together.xml')
    fs.writeFileSync(
      together,
      fs.readFileSync(EXAMPLE, 'utf8').replace('<!-- PASTE federate -->', snippet).replace('<!-- PASTE federateCA -->', '')
    )
    const xsd = takXsd(tmp)
    if (xsd) {
      expect(valid(xsd, pasted)).toBe(true)
      expect(valid(xsd, together)).toBe(false)
    } else {
      console.warn(`TAK Server's CoreConfig.xsd is not on this machine (${TAK_GIT}); checked against our XSD only.`)
    }
  })

  it('keeps the generic snippet (__ANON__) without a peer, and refuses an unknown peer', async () => {
    const generic = Buffer.from((await t.ok('downloadArtifact', { kind: 'coreconfig-federate' }, admin)).contentBase64, 'base64').toString()
    expect(generic.match(/<inboundGroup>__ANON__<\/inboundGroup>/g)).toHaveLength(2)
    const res = await t.call('downloadArtifact', { kind: 'coreconfig-federate', peerId: 'peer_nope' }, admin)
    expect(res.ok ? 'ok' : res.error.code).toBe('not_found')
  })

  it('gives peers saved before TAK groups existed __ANON__ both ways, as the snippet they were pasted with', () => {
    const old = {
      schemaVersion: 2,
      ...Object.fromEntries(
        [
          'organizations',
          'users',
          'teams',
          'networks',
          'devices',
          'federations',
          'federationCodes',
          'dataPackages',
          'deviceEnrollments'
        ].map((k) => [k, []])
      ),
      externalPeers: [{ id: 'peer_1', networkId: 'net_1', fingerprint: 'AA', displayName: 'Old', dial: null }],
      meta: { deploymentId: 'd', createdAt: '2026-01-01T00:00:00.000Z' }
    }
    const doc = migrate(old)
    expect(doc.externalPeers[0]!.takGroups).toEqual({ inbound: ['__ANON__'], outbound: ['__ANON__'] })
  })
})
