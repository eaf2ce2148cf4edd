// startGateway(): the whole product in one process — store, accounts, PKI, device streaming, federation,
// data packages — used by the Electron main process and by `fedgate serve`.

import path from 'node:path'
import type { HealthDto } from './api/contract.ts'
import { buildMethodTable } from './methods.ts'
import { AuditLog } from './audit/audit.ts'
import { Accounts } from './accounts/accounts.ts'
import { passwordProblem } from './accounts/passwords.ts'
import { loadSettings, type Settings } from './config/settings.ts'
import { baseHealth } from './deployment/views.ts'
import { HistoryBook, startHistory } from './deployment/history.ts'
import { startPositionFeed } from './deployment/map.ts'
import { EventBus } from './events.ts'
import { InternalEvents } from './internal.ts'
import { CodeHasher } from './access/codes.ts'
import { startLocalFederation } from './federation/local.ts'
import { startDevices } from './devices/index.ts'
import { ByteBudget } from './routing/byte-budget.ts'
import { Router } from './routing/router.ts'
import { startDeviceHousekeeping } from './devices/enrollment.ts'
import { openPki, type Pki } from './pki/pki.ts'
import { replayRevocations } from './pki/revocations.ts'
import { serverTls, watchServerIdentity } from './pki/server-identity.ts'
import { startPackages } from './packages/index.ts'
import { startTakFederation } from './federation/tak/index.ts'
import { createLogger, type Logger } from './log.ts'
import { ListenerPolicy, type ListenerPolicyOptions } from './net/listener-guard.ts'
import type { Services } from './services.ts'
import { Store } from './store/store.ts'

export interface GatewayOptions {
  /** Data directory: appsettings.json, db.json, pki/, packages/, audit.ndjson. */
  dataDir: string
  /** Environment for settings overrides (`Section__Key`) and FEDGATE_ADMIN_PASSWORD. Default process.env. */
  env?: NodeJS.ProcessEnv
  log?: Logger
  /** Store write debounce in ms. Default 50. */
  storeDebounceMs?: number
  /** Limits of the listening ports other than the defaults, and the file-handle limit to budget (tests). */
  listeners?: ListenerPolicyOptions
}

export interface Gateway {
  services: Services
  /** One-time token for `setupFirstAdmin`, while no user exists. */
  setupToken: string | null
  stop(): Promise<void>
}

/** Something started by an area that must be stopped in reverse order. */
type Stopper = () => Promise<void> | void

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const env = options.env ?? process.env
  const log = options.log ?? createLogger()
  const dataDir = path.resolve(options.dataDir)
  const { settings, file: settingsPath, created } = loadSettings(dataDir, env)
  if (created) log.info(`Created ${settingsPath} with default settings`)

  const store = await Store.open({
    dir: dataDir,
    debounceMs: options.storeDebounceMs,
    log: (level, message) => log[level](message)
  })
  const stoppers: Stopper[] = [() => store.close()]
  const stopAll = async (): Promise<void> => {
    for (const stop of stoppers.reverse()) {
      try {
        await stop()
      } catch (err) {
        log.error(`while stopping: ${(err as Error).message}`)
      }
    }
    stoppers.length = 0
  }

  try {
    const events = new EventBus()
    const audit = new AuditLog(path.join(dataDir, 'audit.ndjson'), events, () => store.data)
    stoppers.push(() => audit.close())
    const pki = await openGatewayPki(dataDir, settings, log)
    // Before anything trusts db.json: revocations it may have lost (restored from its backup) are put back.
    await replayRevocations(store, pki.revocations, (message) => log.warn(message))
    const services = buildServices({ dataDir, settings, settingsPath, store, events, audit, log, pki, listeners: options.listeners })
    await createFirstAdminFromEnv(services, env)
    await startAreas(services, stoppers)
    if (services.accounts.setupToken) log.info('No administrator exists yet: use the setup token to create the first one.')
    return { services, setupToken: services.accounts.setupToken, stop: stopAll }
  } catch (err) {
    await stopAll()
    throw err
  }
}

/**
 * Creates the CA and server certificate on first start; reissues the server certificate when the hostname changed,
 * the federation certificate only when it nears its end (partners pin its fingerprint).
 */
async function openGatewayPki(dataDir: string, settings: Settings, log: Logger): Promise<Pki> {
  const pki = await openPki(path.join(dataDir, 'pki'), {
    hostname: settings.Federation.AdvertisedHostname,
    federateId: settings.Federation.OurFederateId
  })
  if (pki.federationRenewal) {
    log.warn(
      `The federation certificate was about to expire and was renewed: its fingerprint is now ${pki.federationRenewal.to} ` +
        `(was ${pki.federationRenewal.from}). Every TAK Server and Fedgate that federates with this one knows the old ` +
        'fingerprint: send their admins the new one (External TAK Servers tab, connection info), or federation with them stops.'
    )
  }
  return pki
}

type ServiceParts = Pick<Services, 'dataDir' | 'settings' | 'settingsPath' | 'store' | 'events' | 'audit' | 'log' | 'pki'> & {
  listeners?: ListenerPolicyOptions
}

function buildServices(parts: ServiceParts): Services {
  const { dataDir, settings } = parts
  // The router joins every area: device connections, local federation links, TAK federation sessions.
  const router = new Router(Date.now, new ByteBudget(() => services.settings.Memory.CacheBytes))
  const services: Services = {
    ...parts,
    internal: new InternalEvents(),
    accounts: new Accounts(parts.store),
    methods: buildMethodTable(),
    startedAt: Date.now(),
    ports: {
      federation: settings.Federation.Port,
      streaming: settings.Streaming.TlsPort,
      marti: settings.Marti.Port,
      enrollment: settings.Enrollment.Port,
      console: settings.Console.Port
    },
    presence: null,
    healthContributors: [],
    history: new HistoryBook(settings.Console.ChartSampleSeconds),
    codeHasher: CodeHasher.open(path.join(dataDir, 'pki')),
    router,
    listeners: new ListenerPolicy(parts.listeners),
    health(): HealthDto {
      const health = baseHealth(services)
      for (const contribute of services.healthContributors) contribute(health)
      return health
    }
  }
  return services
}

/** Each area starts here, in order, and registers its stop. */
async function startAreas(services: Services, stoppers: Stopper[]): Promise<void> {
  const { router, pki } = services
  stoppers.push(startDeviceHousekeeping(services))
  stoppers.push(startLocalFederation(services, router))
  stoppers.push(startPositionFeed(services, router))
  services.healthContributors.push((health) => {
    const stats = router.stats()
    health.eventsInPerSecond = stats.eventsInPerSecond
    health.eventsOutPerSecond = stats.deliveriesPerSecond
    health.connections.peers = stats.endpoints.peers
    if (router.cacheBudget.evicted > 0) health.dropsByReason['cache.evicted'] = router.cacheBudget.evicted
  })

  // Data packages: the store and the Marti API devices use (8443); router and TAK federation reach it via packagesArea().
  const packages = await startPackages(services, {
    tls: { ...serverTls(pki), ca: pki.caCertPem },
    deliverToNetwork: (networkId, event) => router.publish(event, { kind: 'peer', networkId, endpointId: 'packages', peerId: 'packages' })
  })
  stoppers.push(() => packages.stop())
  const martiFollows = (): void => packages.useIdentity(serverTls(pki))
  services.internal.on('serverIdentityChanged', martiFollows)
  stoppers.push(() => void services.internal.off('serverIdentityChanged', martiFollows))
  router.onFileshareCrossedLink = (event, link) => packages.onFileshareCrossedLink(event, link)

  // Devices: the streaming listener (8089) and presence.
  const devices = await startDevices(services, {
    router,
    fileshareForReceiver: (event, hostDialed) =>
      packages.fileshareForReceiver(event, hostDialed ?? services.settings.Federation.AdvertisedHostname)
  })
  stoppers.push(() => devices.stop())

  // TAK federation v2 (Federation:Port): each live peer session is a router endpoint; peer changes act at once.
  const takFederation = await startTakFederation(services, { router, pki })
  stoppers.push(() => takFederation.stop())

  // The server certificate follows the machine's addresses (a network joined after start).
  stoppers.push(watchServerIdentity(services))
  stoppers.push(startHistory(services))
}

/** FEDGATE_ADMIN_PASSWORD on first start creates the deployment admin `admin` (headless installs). */
async function createFirstAdminFromEnv(services: Services, env: NodeJS.ProcessEnv): Promise<void> {
  const password = env.FEDGATE_ADMIN_PASSWORD
  if (!password || services.store.data.users.length > 0) return
  const problem = passwordProblem(password)
  if (problem) throw new Error(`FEDGATE_ADMIN_PASSWORD is not usable: ${problem}`)
  const user = await services.accounts.newUserRecord({ username: 'admin', password, displayName: 'Administrator', deploymentAdmin: true })
  await services.store.update((doc) => {
    doc.users.push(user)
  })
  services.accounts.setupToken = null
  services.audit.append({
    actor: 'system',
    action: 'createFirstAdmin',
    target: 'user admin',
    details: { from: 'FEDGATE_ADMIN_PASSWORD' },
    organizationId: null
  })
  services.log.info("Created the deployment administrator 'admin' from FEDGATE_ADMIN_PASSWORD")
}
