// @vitest-environment happy-dom
// Texts that must follow the deployment as it is now (issue 17): the federation port says why it is off instead of
// "0", a hint naming a setting goes once the setting is set, and a Free-plan network explains its plan even while
// federation settings are missing.

import { flushPromises } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { DeploymentSettingsDto, DeviceAddressDto, Plan } from '../../gateway/api/contract.ts'
import { PERMISSIONS } from '../../gateway/api/contract.ts'
import SettingsPage from '../../renderer/src/pages/SettingsPage.vue'
import { useOrganizationsStore } from '../../renderer/src/stores/organizations.ts'
import { useSessionStore } from '../../renderer/src/stores/session.ts'
import DevicesTab from '../../renderer/src/tabs/DevicesTab.vue'
import PeersTab from '../../renderer/src/tabs/PeersTab.vue'
import { fakeGateway, mountWithVuetify, unmountAll, type FakeGateway } from './fake-gateway.ts'

const AT = '2026-11-26T10:00:00.000Z'
const ORG = 'org_recon'
const NET = 'net_alpha'

const PORTS = { federation: 9001, streaming: 8089, marti: 8443, enrollment: 8446, console: 8080 }

function deploymentSettings(overrides: Partial<DeploymentSettingsDto> = {}): DeploymentSettingsDto {
  return {
    dataDir: '/data',
    settingsPath: '/data/appsettings.json',
    settings: { Federation: { Port: 9001, AdvertisedHostname: 'laptop.example', OurFederateId: 'fg-1' } },
    missingSettings: [],
    ports: { ...PORTS },
    deviceAddresses: [],
    ...overrides
  }
}

function signedInWith(plan: Plan): void {
  useSessionStore().me = {
    user: {
      id: 'u1',
      username: 'lead',
      displayName: 'Lead',
      deploymentAdmin: true,
      memberships: [{ organizationId: ORG, admin: true }],
      createdAt: AT
    },
    networkPermissions: { [NET]: [...PERMISSIONS] },
    adminOf: [ORG]
  }
  const organizations = useOrganizationsStore()
  organizations.list = [{ id: ORG, name: '2-5 Recon', plan, tokenLimit: 5, tokensUsed: 0, createdAt: AT }]
  organizations.select(ORG)
}

let gw: FakeGateway

beforeEach(() => {
  localStorage.clear()
  setActivePinia(createPinia())
  gw = fakeGateway({ getDeploymentSettings: () => deploymentSettings() })
})

afterEach(unmountAll)

describe('Settings: the federation port', () => {
  it('while the federation settings are missing: off, and until what, not "0"', async () => {
    gw.answers.getDeploymentSettings = () =>
      deploymentSettings({
        settings: { Federation: { Port: 9001, AdvertisedHostname: '', OurFederateId: '' } },
        missingSettings: ['Federation:AdvertisedHostname', 'Federation:OurFederateId'],
        ports: { ...PORTS, federation: 0 }
      })
    const wrapper = await mountWithVuetify(SettingsPage)
    const port = wrapper.find('[data-testid="federation-port"]').text()
    expect(port).toContain('9001: off until AdvertisedHostname and OurFederateId are set')
    expect(port).not.toMatch(/\b0\b/)
  })

  it('one setting left: names only that one', async () => {
    gw.answers.getDeploymentSettings = () =>
      deploymentSettings({ missingSettings: ['Federation:OurFederateId'], ports: { ...PORTS, federation: 0 } })
    const wrapper = await mountWithVuetify(SettingsPage)
    expect(wrapper.find('[data-testid="federation-port"]').text()).toContain('off until OurFederateId is set')
  })

  it('listening: the port it listens on', async () => {
    const wrapper = await mountWithVuetify(SettingsPage)
    const port = wrapper.find('[data-testid="federation-port"]').text()
    expect(port).toContain('9001')
    expect(port).not.toContain('off')
  })
})

describe('Enroll dialog: the hint about AdvertisedHostname', () => {
  const machine: DeviceAddressDto[] = [
    { address: '192.168.8.20', interfaceName: 'wlan0', advertised: false, likely: true, covered: true },
    { address: '10.8.0.2', interfaceName: 'tun0', advertised: false, likely: false, covered: true }
  ]

  async function hintWith(addresses: DeviceAddressDto[]): Promise<string> {
    gw.answers.getDeploymentSettings = () => deploymentSettings({ deviceAddresses: addresses })
    gw.answers.listDevices = () => []
    gw.answers.listDeviceEnrollments = () => []
    signedInWith('team')
    const wrapper = await mountWithVuetify(DevicesTab, { networkId: NET })
    await wrapper.find('[data-testid="enroll-device"]').trigger('click')
    await flushPromises()
    return document.querySelector('[data-testid="enroll-dialog"] [data-testid="device-address"]')?.textContent ?? ''
  }

  it('names the setting while it is not set', async () => {
    expect(await hintWith(machine)).toContain('Set Federation:AdvertisedHostname to put a name first.')
  })

  it('says nothing of it once it is set', async () => {
    const advertised: DeviceAddressDto = { address: 'laptop.example', interfaceName: null, advertised: true, likely: true, covered: true }
    const text = await hintWith([advertised, ...machine])
    expect(text).toContain('Pick the network the phones are on.')
    expect(text).not.toContain('AdvertisedHostname')
  })
})

describe('External TAK Servers tab on the Free plan', () => {
  it('explains the plan even while federation settings are missing', async () => {
    signedInWith('free')
    gw.answers.getConnectionInfo = () => ({
      hostname: null,
      port: 9001,
      fingerprint: null,
      ourFederateId: null,
      missingSettings: ['Federation:AdvertisedHostname', 'Federation:OurFederateId'],
      settingsPath: '/data/appsettings.json'
    })
    gw.answers.listExternalPeers = () => []
    gw.answers.listRejectedPeers = () => []
    const wrapper = await mountWithVuetify(PeersTab, { networkId: NET })
    expect(wrapper.find('[data-testid="missing-settings"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="free-plan-note"]').text()).toContain('The Free plan does not federate.')
  })
})
