// @vitest-environment happy-dom
// A peer row says why nothing flows, as the gateway diagnosed it, with what to do, and flags a clock far off ours;
// a healthy row with a clock a few seconds off says nothing.

import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DiagnosisDto, ExternalPeerDto } from '../../gateway/api/contract.ts'
import PeersTab from '../../renderer/src/tabs/PeersTab.vue'
import { peerDto, signInAsNetworkLead } from './peer-fixture.ts'
import { fakeGateway, mountWithVuetify, unmountAll } from './fake-gateway.ts'

const NET = 'net_alpha'
const ORG = 'org_recon'
const OURS = Array.from({ length: 32 }, (_, i) => (i + 16).toString(16).toUpperCase()).join(':')
const SNIPPET = '<federation-outgoing displayName="Fedgate" address="laptop.example" port="9001" enabled="true"/>\n'
const NOTHING =
  'Connected, and we send, but nothing has arrived from HQ for 10 min. Its TAK Server probably puts our federate in no group its users share.'
const PAUSED = 'Paused: In and Out are both off, so nothing passes either way. Turn either on to resume.'

function peer(name: string, lastError: string | null, diagnosis: DiagnosisDto | null, clockSkewSeconds: number | null): ExternalPeerDto {
  return peerDto(name, { networkId: NET, diagnosis, clockSkewSeconds }, { lastError })
}

beforeEach(() => {
  localStorage.clear()
  fakeGateway({
    getConnectionInfo: () => ({
      hostname: 'laptop.example',
      port: 9001,
      fingerprint: OURS,
      ourFederateId: 'fg-1',
      missingSettings: [],
      settingsPath: null
    }),
    listExternalPeers: () => [
      peer('HQ', null, { code: 'nothing-arrives', message: NOTHING }, -120),
      peer('Depot', null, null, 4),
      peer('Relay', null, { code: 'paused', message: PAUSED }, null)
    ],
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

describe('why nothing flows, in the peer rows', () => {
  it('each row shows its diagnosis and a clock over 30 s off; a healthy row shows neither', async () => {
    const wrapper = await mountWithVuetify(PeersTab, { networkId: NET })
    const hq = wrapper.find('[data-testid="peer-HQ"]')
    expect(hq.find('[data-testid="diagnosis-nothing-arrives"]').text()).toBe(NOTHING)
    expect(hq.find('[data-testid="clock-skew"]').text()).toBe('Clock 2 min 0 s behind')
    const depot = wrapper.find('[data-testid="peer-Depot"]')
    expect(depot.find('[class*="diagnosis"]').exists()).toBe(false)
    expect(depot.find('[data-testid="clock-skew"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="peer-Relay"] [data-testid="diagnosis-paused"]').text()).toBe(PAUSED)
  })
})
