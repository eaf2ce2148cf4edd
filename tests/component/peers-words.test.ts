// @vitest-environment happy-dom
// The External TAK Servers tab in words an operator reads out: hostname, port and fingerprint large and grouped;
// the CoreConfig snippets inline, ready to paste, fetched when the connection panel opens; a peer whose server
// refused our certificate says what to send its admin.

import { flushPromises } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ExternalPeerDto } from '../../gateway/api/contract.ts'
import PeersTab from '../../renderer/src/tabs/PeersTab.vue'
import { peerDto, signInAsNetworkLead } from './peer-fixture.ts'
import { fakeGateway, mountWithVuetify, unmountAll, type FakeGateway } from './fake-gateway.ts'

const NET = 'net_alpha'
const ORG = 'org_recon'
const OURS = Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(':')
const REFUSED =
  'The TAK Server refused our certificate (tlsv1 alert unknown ca): has its admin put our CA (ca.pem, External TAK Servers tab) in its federation truststore?'
const SNIPPET = '<federation-outgoing displayName="Fedgate" address="laptop.example" port="9001" enabled="true"/>\n'

function peer(name: string, lastError: string | null): ExternalPeerDto {
  return peerDto(name, { networkId: NET }, { connected: false, lastError })
}

let gw: FakeGateway
beforeEach(() => {
  localStorage.clear()
  gw = fakeGateway({
    getConnectionInfo: () => ({
      hostname: 'laptop.example',
      port: 9001,
      fingerprint: OURS,
      ourFederateId: 'fg-1',
      missingSettings: [],
      settingsPath: null,
      takSideRequirements: []
    }),
    listExternalPeers: () => [peer('HQ', REFUSED), peer('Depot', 'Nothing accepts connections at that address and port.')],
    listRejectedPeers: () => [],
    downloadArtifact: (args) => ({
      filename: 'x.xml',
      mimeType: 'application/xml',
      contentBase64: btoa((args as { kind: string }).kind === 'coreconfig-outgoing' ? SNIPPET : '<federate id="fg-1"/>')
    })
  })
  signInAsNetworkLead(NET, ORG)
})
afterEach(unmountAll)

const groups = (el: Element | null | undefined): string[] => [...(el?.children ?? [])].map((g) => g.textContent ?? '')

describe('External TAK Servers in words', () => {
  it('opening the connection panel shows hostname, port and fingerprint grouped, and both CoreConfig snippets inline', async () => {
    const wrapper = await mountWithVuetify(PeersTab, { networkId: NET })
    expect(gw.count('downloadArtifact')).toBe(0)
    await wrapper.find('[data-testid="connection-info"] button').trigger('click')
    await flushPromises()
    expect(document.querySelector('[data-testid="our-hostname"]')?.textContent).toBe('laptop.example')
    expect(document.querySelector('[data-testid="our-port"]')?.textContent).toBe('9001')
    const fingerprint = groups(document.querySelector('[data-testid="our-fingerprint"]'))
    expect(fingerprint).toHaveLength(8)
    expect(fingerprint.join('')).toBe(OURS)
    expect(gw.count('downloadArtifact')).toBe(2)
    const outgoing = document.querySelector('[data-testid="snippet-coreconfig-outgoing"]')
    expect(outgoing?.querySelector('pre')?.textContent).toBe(SNIPPET)
    expect(outgoing?.querySelector('button[aria-label="Copy snippet"]')).not.toBeNull()
    expect(outgoing?.querySelector('[data-testid="artifact-coreconfig-outgoing"]')).not.toBeNull()
    expect(document.querySelector('[data-testid="snippet-coreconfig-federate"] pre')?.textContent).toBe('<federate id="fg-1"/>')
  })

  it('a peer that refused our certificate says what to send; another error does not', async () => {
    const wrapper = await mountWithVuetify(PeersTab, { networkId: NET })
    const hq = wrapper.find('[data-testid="peer-HQ"]')
    const note = hq.find('[data-testid="peer-refused"]')
    expect(note.text()).toContain(
      'HQ does not trust us yet. Send its admin our CA certificate, for their federation truststore, and our fingerprint'
    )
    expect(groups(note.find('.groups').element).join('')).toBe(OURS)
    expect(note.find('[data-testid="refused-ca-download"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="peer-Depot"] [data-testid="peer-refused"]').exists()).toBe(false)
    // Each peer's own fingerprint is grouped too.
    expect(groups(hq.find('.groups').element)).toHaveLength(8)
  })
})
