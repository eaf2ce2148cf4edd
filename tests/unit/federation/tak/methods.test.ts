// External TAK Server methods through dispatch on a real gateway: connection info and missing settings, downloads
// (PEMs into a JKS with keytool, CoreConfig snippets through xmllint against our XSD), fingerprint normalisation,
// one network per fingerprint, tokens and the Free plan, permissions per action, and the audit log.

import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { X509Certificate } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestGateway, TEST_ADMIN_PASSWORD, type TestGateway } from '../../../support/gateway.ts'

const XSD = path.resolve(__dirname, '../../../support/coreconfig.xsd')
const FP_A = 'AB'.repeat(32)
const FP_B = 'cd:'.repeat(31) + 'cd'
const colonize = (hex: string): string => hex.toUpperCase().match(/../g)!.join(':')

describe('external TAK Server methods', () => {
  let t: TestGateway
  let bare: TestGateway
  let admin = ''
  let orgId = ''
  let networkId = ''
  let otherNetworkId = ''
  let tmp = ''

  beforeAll(async () => {
    ;[t, bare] = await Promise.all([
      startTestGateway({ env: { Federation__AdvertisedHostname: 'gw.example.org', Federation__OurFederateId: 'fedgate-methods' } }),
      startTestGateway()
    ])
    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Recon', plan: 'team', tokenLimit: 3 }, admin)
    orgId = org.id
    networkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Blue' }, admin)).id
    otherNetworkId = (await t.ok('createNetwork', { organizationId: org.id, name: 'Green' }, admin)).id
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fedgate-tak-methods-'))
  })

  afterAll(async () => {
    await t?.stop()
    await bare?.stop()
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('names the missing settings and where appsettings.json is', async () => {
    const token = await bare.loginAs('admin', TEST_ADMIN_PASSWORD)
    const info = await bare.ok('getConnectionInfo', undefined, token)
    expect(info.missingSettings).toEqual(['Federation:AdvertisedHostname', 'Federation:OurFederateId'])
    expect(info.settingsPath).toBe(path.join(bare.dataDir, 'appsettings.json'))
    expect(info.fingerprint).toBeNull()
    const res = await bare.call('downloadArtifact', { kind: 'federation-cert' }, token)
    expect(res.ok).toBe(false)
    if (!res.ok) {
      expect(res.error.code).toBe('unavailable')
      expect(res.error.message).toContain('Federation:AdvertisedHostname')
    }
  })

  it('gives hostname, the bound port and our fingerprint', async () => {
    const info = await t.ok('getConnectionInfo', undefined, admin)
    expect(info.hostname).toBe('gw.example.org')
    expect(info.port).toBeGreaterThan(0)
    expect(info.port).toBe(t.services.ports.federation)
    expect(info.fingerprint).toBe(t.services.pki.federation!.fingerprint)
    expect(info.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    expect(info.ourFederateId).toBe('fedgate-methods')
    expect(info.missingSettings).toEqual([])
  })

  it('downloads PEMs that keytool imports into a JKS truststore', async () => {
    for (const kind of ['federation-cert', 'ca-cert'] as const) {
      const file = await t.ok('downloadArtifact', { kind }, admin)
      expect(file.mimeType).toBe('application/x-pem-file')
      expect(file.filename).toMatch(/^fedgate-methods-.*\.pem$/)
      const pem = Buffer.from(file.contentBase64, 'base64').toString()
      const cert = new X509Certificate(pem)
      if (kind === 'federation-cert') {
        expect(cert.fingerprint256).toBe(t.services.pki.federation!.fingerprint)
        expect(cert.subject).toContain('CN=fedgate-methods')
      } else {
        expect(cert.ca).toBe(true)
      }
      const pemFile = path.join(tmp, file.filename)
      fs.writeFileSync(pemFile, pem)
      const store = path.join(tmp, `${kind}.jks`)
      execFileSync('keytool', ['-importcert', '-noprompt', '-keystore', store, '-storepass', 'changeit', '-alias', 'x', '-file', pemFile], {
        stdio: 'pipe'
      })
      const listing = execFileSync('keytool', ['-list', '-keystore', store, '-storepass', 'changeit'], { encoding: 'utf8' })
      expect(listing).toContain(cert.fingerprint256)
    }
  }, 30_000)

  it('gives CoreConfig snippets that validate inside <federation> against our XSD (order, fileFilter)', async () => {
    const outgoing = Buffer.from(
      (await t.ok('downloadArtifact', { kind: 'coreconfig-outgoing' }, admin)).contentBase64,
      'base64'
    ).toString()
    const federate = Buffer.from(
      (await t.ok('downloadArtifact', { kind: 'coreconfig-federate' }, admin)).contentBase64,
      'base64'
    ).toString()
    expect(outgoing).toContain('protocolVersion="2"')
    expect(outgoing).toContain('address="gw.example.org"')
    expect(outgoing).toContain(`port="${t.services.ports.federation}"`)
    expect(outgoing).toContain('reconnectInterval="30"')
    expect(outgoing).toContain('unlimitedRetries="true"')
    expect(federate).toContain(`id="${t.services.pki.federation!.fingerprint}"`)
    expect(federate).toContain('<inboundGroup>__ANON__</inboundGroup>')
    expect(federate).toContain('<outboundGroup>__ANON__</outboundGroup>')
    const validate = (body: string): boolean => {
      const file = path.join(tmp, `doc-${Math.random().toString(36).slice(2)}.xml`)
      fs.writeFileSync(
        file,
        `<?xml version="1.0" encoding="UTF-8"?>\n<federation xmlns="http://bbn.com/marti/xml/config" enableFederation="true">\n${body}</federation>\n`
      )
      try {
        execFileSync('xmllint', ['--noout', '--schema', XSD, file], { stdio: 'pipe' })
        return true
      } catch {
        return false
      }
    }
    const fileFilter = '<fileFilter><fileExtension>pref</fileExtension></fileFilter>\n'
    // The federate snippet's second part (<federateCA>) goes after <fileFilter>, as its comment says.
    const [federate1, federateCA] = [federate.slice(0, federate.indexOf('<!-- Part 2:')), federate.slice(federate.indexOf('<!-- Part 2:'))]
    expect(validate(outgoing + federate1 + fileFilter + federateCA)).toBe(true)
    expect(validate(outgoing + fileFilter)).toBe(true)
    expect(validate(federate1 + fileFilter + federateCA)).toBe(true)
    // The schema really enforces what TAK's does: order, and the required fileFilter.
    expect(validate(federate + fileFilter)).toBe(false)
    expect(validate(federate1 + outgoing + fileFilter)).toBe(false)
    expect(validate(outgoing + federate)).toBe(false)
    expect(validate(fileFilter + outgoing)).toBe(false)
  })

  it('normalises fingerprints, rejects anything but 32 bytes, and registers one fingerprint on one network only', async () => {
    const peer = await t.ok('addExternalPeer', { networkId, fingerprint: FP_A.toLowerCase(), displayName: 'TAK A' }, admin)
    expect(peer.fingerprint).toBe(colonize(FP_A))
    expect(peer).toMatchObject({ incoming: true, outgoing: true, acceptPackages: false, sharePackages: false, dial: null })
    expect(peer.status.connected).toBe(false)
    for (const fingerprint of ['AB:CD', FP_A + 'AB', 'zz'.repeat(32), '']) {
      const res = await t.call('addExternalPeer', { networkId, fingerprint, displayName: 'Bad' }, admin)
      expect(res.ok ? 'ok' : res.error.code).toBe('invalid')
    }
    const same = await t.call('addExternalPeer', { networkId: otherNetworkId, fingerprint: colonize(FP_A), displayName: 'Again' }, admin)
    expect(same.ok ? 'ok' : same.error.code).toBe('conflict')
    if (!same.ok) expect(same.error.message).toContain("network 'Blue'")
    const listed = await t.ok('listExternalPeers', { networkId }, admin)
    expect(listed.map((p) => p.id)).toEqual([peer.id])
    expect(await t.ok('listExternalPeers', { networkId: otherNetworkId }, admin)).toEqual([])
  })

  it('counts one token per peer and refuses at the limit and on the Free plan', async () => {
    await t.ok('addExternalPeer', { networkId, fingerprint: FP_B, displayName: 'TAK B', dial: { address: '127.0.0.1', port: 1 } }, admin)
    await t.ok('addExternalPeer', { networkId: otherNetworkId, fingerprint: 'EF'.repeat(32), displayName: 'TAK C' }, admin)
    const orgs = await t.ok('listOrganizations', undefined, admin)
    expect(orgs.find((o) => o.id === orgId)!.tokensUsed).toBe(3)
    const over = await t.call('addExternalPeer', { networkId, fingerprint: '12'.repeat(32), displayName: 'TAK D' }, admin)
    expect(over.ok ? 'ok' : over.error.code).toBe('plan_limit')
    const free = await t.ok('createOrganization', { name: 'Freebies', plan: 'free', tokenLimit: 10 }, admin)
    const freeNet = await t.ok('createNetwork', { organizationId: free.id, name: 'F' }, admin)
    const res = await t.call('addExternalPeer', { networkId: freeNet.id, fingerprint: '34'.repeat(32), displayName: 'TAK F' }, admin)
    expect(res.ok ? 'ok' : res.error.code).toBe('plan_limit')
  })

  it('checks the permission of each action and audits every change', async () => {
    await t.ok('createUser', { username: 'toggler', password: TEST_ADMIN_PASSWORD, organizationId: orgId }, admin)
    await t.ok('createUser', { username: 'stopper', password: TEST_ADMIN_PASSWORD, organizationId: orgId }, admin)
    const users = await t.ok('listUsers', { organizationId: orgId }, admin)
    const id = (name: string): string => users.find((u) => u.username === name)!.id
    const togglers = await t.ok('createTeam', { organizationId: orgId, name: 'Togglers' }, admin)
    await t.ok('setTeamMembers', { teamId: togglers.id, memberIds: [id('toggler')] }, admin)
    await t.ok('setTeamGrants', { teamId: togglers.id, grants: [{ networkId, permissions: ['changeFederation'] }] }, admin)
    const stoppers = await t.ok('createTeam', { organizationId: orgId, name: 'Stoppers' }, admin)
    await t.ok('setTeamMembers', { teamId: stoppers.id, memberIds: [id('stopper')] }, admin)
    await t.ok('setTeamGrants', { teamId: stoppers.id, grants: [{ networkId, permissions: ['stopFederating'] }] }, admin)
    const toggler = await t.loginAs('toggler', TEST_ADMIN_PASSWORD)
    const stopper = await t.loginAs('stopper', TEST_ADMIN_PASSWORD)
    const peer = (await t.ok('listExternalPeers', { networkId }, admin)).find((p) => p.displayName === 'TAK A')!

    const code = (r: Awaited<ReturnType<TestGateway['call']>>): string => (r.ok ? 'ok' : r.error.code)
    expect(code(await t.call('addExternalPeer', { networkId, fingerprint: '56'.repeat(32), displayName: 'X' }, toggler))).toBe('forbidden')
    expect(code(await t.call('removeExternalPeer', { id: peer.id }, toggler))).toBe('forbidden')
    expect(code(await t.call('updateExternalPeer', { id: peer.id, outgoing: false }, stopper))).toBe('forbidden')
    const updated = await t.ok('updateExternalPeer', { id: peer.id, outgoing: false, sharePackages: true }, toggler)
    expect(updated).toMatchObject({ outgoing: false, sharePackages: true, incoming: true })
    await t.ok('removeExternalPeer', { id: peer.id }, stopper)
    expect((await t.ok('listExternalPeers', { networkId }, admin)).some((p) => p.id === peer.id)).toBe(false)

    const log = (await t.ok('listAuditLog', { organizationId: orgId, limit: 100 }, admin)).entries
    const actions = log.map((e) => `${e.actor} ${e.action}`)
    expect(actions).toContain('admin addExternalPeer')
    expect(actions).toContain('toggler updateExternalPeer')
    expect(actions).toContain('stopper removeExternalPeer')
    const update = log.find((e) => e.action === 'updateExternalPeer')!
    expect(update.details).toMatchObject({ outgoing: { from: true, to: false }, sharePackages: { from: false, to: true } })
  })
})
