// Our TAK federation server against a gRPC stack that is not grpc-js: Connect for Node (@connectrpc/connect-node),
// whose HTTP/2 client, gRPC framing and protobuf codec (@bufbuild/protobuf) share no code with grpc-js or protobufjs.
// The service comes from our own fig.proto through its file descriptors, so both ends agree only on the wire.
//
// It proves what grpc-js on both ends could hide: that the event frames we write ourselves on both roles
// (federation/tak/direct-writes.ts: many length-prefixed messages per HTTP/2 write) are read by an independent parser in
// order and intact, and that events that stack sends reach our devices: as the federate dialing our server, and as the
// TAK Server our gateway dials; and that data packages cross over ROL both ways with that server.

import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as protoLoader from '@grpc/proto-loader'
import { create, createFileRegistry, fromBinary, type DescService } from '@bufbuild/protobuf'
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt'
import { Code, ConnectError, createClient, type CallOptions } from '@connectrpc/connect'
import { connectNodeAdapter, createGrpcTransport } from '@connectrpc/connect-node'
import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { takFederationArea } from '../../gateway/federation/tak/index.ts'
import { protoDirectory } from '../../gateway/federation/tak/proto.ts'
import { packagesArea } from '../../gateway/packages/index.ts'
import { createResourceRol } from '../../gateway/federation/tak/rol.ts'
import { zipOf } from '../support/zip.ts'
import { DeviceClient } from '../support/device-client.ts'
import { enrollIdentity, pli, until } from '../support/devices.ts'
import { startTestGateway, type TestGateway } from '../support/gateway.ts'
import { testPki, type TestPki } from '../support/pki.ts'

/** FederatedChannel as @bufbuild/protobuf sees it, built from the descriptors of our fig.proto (no generated code). */
function federatedChannel(): DescService {
  const definition = protoLoader.loadSync('fig.proto', { includeDirs: [protoDirectory()] })
  const service = definition['com.atakmap.FederatedChannel'] as protoLoader.ServiceDefinition
  const files = new Map<string, Buffer>()
  for (const method of Object.values(service)) {
    for (const bytes of [...method.requestType.fileDescriptorProtos, ...method.responseType.fileDescriptorProtos]) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes)
      files.set(file.name, bytes)
    }
  }
  // protobufjs (under proto-loader) names the files by package, lists no imports and writes type names as they appear
  // in the .proto (relative). @bufbuild/protobuf wants them as protoc writes them: imports listed, names qualified.
  const parsed = [...files.values()].map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes))
  const main = parsed.find((file) => file.service.some((s) => s.name === 'FederatedChannel'))!
  const others = parsed.filter((file) => file !== main)
  main.dependency = others.map((file) => file.name)
  qualifyTypeNames(parsed)
  const set = create(FileDescriptorSetSchema, { file: [...others, main] })
  const found = createFileRegistry(set).getService('com.atakmap.FederatedChannel')
  if (!found) throw new Error('FederatedChannel not in the descriptors')
  return found
}

type FileProto = ReturnType<typeof fromBinary<typeof FileDescriptorProtoSchema>>
type MessageProto = FileProto['messageType'][number]

/** Protobuf's scoping rule: a name is looked up in the innermost scope first, then outwards. */
function qualifyTypeNames(files: FileProto[]): void {
  const known = new Set<string>()
  const collect = (scope: string, messages: MessageProto[], enums: { name: string }[]): void => {
    for (const e of enums) known.add(`${scope}.${e.name}`)
    for (const m of messages) {
      known.add(`${scope}.${m.name}`)
      collect(`${scope}.${m.name}`, m.nestedType, m.enumType)
    }
  }
  for (const file of files) collect(file.package ? `.${file.package}` : '', file.messageType, file.enumType)
  const resolve = (name: string, scope: string): string => {
    if (name.startsWith('.')) return name
    for (let at = scope; ; at = at.slice(0, Math.max(0, at.lastIndexOf('.')))) {
      if (known.has(`${at}.${name}`)) return `${at}.${name}`
      if (at === '') throw new Error(`cannot resolve ${name} from ${scope}`)
    }
  }
  const fix = (scope: string, messages: MessageProto[]): void => {
    for (const m of messages) {
      const inner = `${scope}.${m.name}`
      for (const field of m.field) if (field.typeName) field.typeName = resolve(field.typeName, inner)
      fix(inner, m.nestedType)
    }
  }
  for (const file of files) {
    const scope = file.package ? `.${file.package}` : ''
    fix(scope, file.messageType)
    for (const service of file.service) {
      for (const method of service.method) {
        method.inputType = resolve(method.inputType, scope)
        method.outputType = resolve(method.outputType, scope)
      }
    }
  }
}

/** A position with a remark (our devices' positions carry a sequence number there). */
const HERE = { lat: 34.25, lon: -117.5 }
const position = (uid: string, callsign: string, remark: string): string => pli(uid, callsign, HERE, remark)

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The methods this test calls, as Connect names them (a client over a DescService is not typed per method). */
interface FederatedChannelClient {
  serverFederateGroupsStream(request: object, options: CallOptions): AsyncIterable<unknown>
  clientEventStream(request: object, options: CallOptions): AsyncIterable<unknown>
  healthCheck(request: object, options: CallOptions): Promise<unknown>
  serverEventStream(requests: AsyncIterable<object>, options: CallOptions): Promise<unknown>
}

interface ReceivedEvent {
  uid: string
  lat: number
  other: string
}

describe('our federation server with a Connect for Node federate', () => {
  let t: TestGateway
  let tak: TestPki
  let device: DeviceClient
  let client: FederatedChannelClient
  const abort = new AbortController()
  const received: ReceivedEvent[] = []
  const contacts: { operation: number; callsign: string }[] = []
  let groupsFirst: { status: number } | null = null

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-interop' } })
    tak = await testPki({ freshCa: true, hostname: 'tak-connect.test', federateId: 'tak-connect' })
    const admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Interop', plan: 'team' }, admin)
    const network = await t.ok('createNetwork', { organizationId: org.id, name: 'Blue' }, admin)
    await t.ok(
      'addExternalPeer',
      { networkId: network.id, fingerprint: tak.pki.federation!.fingerprint, displayName: 'Connect federate' },
      admin
    )
    const identity = await enrollIdentity(t, admin, network.id, 'BLUE-1')
    device = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
    device.send(position('BLUE-1-UID', 'BLUE-1', 'hello'))

    const port = takFederationArea(t.services)!.port
    const transport = createGrpcTransport({
      baseUrl: `https://127.0.0.1:${port}`,
      nodeOptions: {
        ca: t.services.pki.caCertPem,
        key: tak.pki.federation!.keyPem,
        cert: `${tak.pki.federation!.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
        // As TAK Server: the federation certificate is pinned by fingerprint, not checked against a host name.
        checkServerIdentity: () => undefined
      }
    })
    client = createClient(federatedChannel(), transport) as unknown as FederatedChannelClient
  })

  afterAll(async () => {
    abort.abort()
    await device?.close()
    await t?.stop()
    tak?.cleanup()
  })

  const subscription = (withVersion: boolean) => ({
    identity: { name: 'connect-federate', uid: 'connect-federate-uid', type: 3, serverId: 'connect-server' },
    filter: '',
    ...(withVersion ? { version: { major: 5, minor: 7, patch: 14, branch: 'RELEASE', variant: 'connect' } } : {})
  })

  it('opens the TAK call sequence: one SERVING on the groups stream, SERVING health', async () => {
    void (async () => {
      for await (const groups of client.serverFederateGroupsStream(subscription(false), { signal: abort.signal })) {
        groupsFirst ??= { status: (groups as { streamUpdate?: { status: number } }).streamUpdate?.status ?? -1 }
      }
    })().catch(() => {})
    void (async () => {
      for await (const message of client.clientEventStream(subscription(true), { signal: abort.signal })) {
        const m = message as { event?: { uid: string; lat: number; other: string }; contact?: { operation: number; callsign: string } }
        if (m.event) received.push({ uid: m.event.uid, lat: m.event.lat, other: m.event.other })
        else if (m.contact) contacts.push({ operation: m.contact.operation, callsign: m.contact.callsign })
      }
    })().catch(() => {})
    await until(() => groupsFirst !== null, 5000, 'the groups stream')
    expect(groupsFirst).toEqual({ status: 1 })
    const health = (await client.healthCheck({ status: 1 }, { signal: abort.signal })) as { status: number }
    expect(health.status).toBe(1)
    // Our device is announced as a contact (CREATE = 1) on the event stream.
    await until(() => contacts.some((c) => c.callsign === 'BLUE-1'), 5000, 'the BLUE-1 contact')
    expect(contacts.find((c) => c.callsign === 'BLUE-1')!.operation).toBe(1)
  })

  it('reads a burst of our events (framed by us and gathered per turn, direct-writes.ts) in order and intact', async () => {
    const count = 2000
    const before = received.length
    for (let i = 0; i < count; i++) device.send(position('BLUE-1-UID', 'BLUE-1', `burst-${i}`))
    await until(() => received.length - before >= count, 15_000, `${count} events`)
    const burst = received.slice(before).filter((e) => e.other.includes('burst-'))
    expect(burst.map((e) => Number(/burst-(\d+)/.exec(e.other)![1]))).toEqual(Array.from({ length: count }, (_, i) => i))
    expect(burst.every((e) => e.uid === 'BLUE-1-UID' && e.lat === HERE.lat && e.other.includes('callsign="BLUE-1"'))).toBe(true)
  })

  it("delivers the Connect federate's events to our device in order", async () => {
    const count = 300
    async function* events() {
      for (let i = 0; i < count; i++) {
        const now = BigInt(Date.now())
        yield {
          event: {
            uid: 'CONNECT-1',
            type: 'a-h-G',
            coordSource: 'm-g',
            sendTime: now,
            startTime: now,
            staleTime: now + 60_000n,
            lat: 35.5,
            lon: -116.25,
            hae: 10,
            ce: 5,
            le: 5,
            other: `<detail><contact callsign="CONNECT-1"/><remarks>from-connect-${i}</remarks></detail>`
          }
        }
      }
    }
    void client.serverEventStream(events(), { signal: abort.signal }).catch(() => {})
    await until(() => device.received.filter((e) => e.uid === 'CONNECT-1').length >= count, 10_000, 'the federate events')
    const got = device.received.filter((e) => e.uid === 'CONNECT-1')
    expect(got.map((e) => Number(/from-connect-(\d+)/.exec(e.detailXml)![1]))).toEqual(Array.from({ length: count }, (_, i) => i))
    expect(got[0]!.point).toMatchObject({ lat: 35.5, lon: -116.25 })
  })
})

describe('our dialer with a Connect for Node TAK Server', () => {
  let t: TestGateway
  let tak: TestPki
  let device: DeviceClient
  let server: http2.Http2SecureServer
  let peerId = ''
  const fromUs: { uid: string; other: string }[] = []
  const rolFromUs: { program: string; payload: { data: Uint8Array }[] }[] = []
  let healthChecks = 0
  let admin = ''
  let networkId = ''
  /** A mission package the server creates on us over ROL once the session is up. */
  let theirPackage: Buffer
  const stop = new AbortController()
  /** identity.uid of each Subscription our dialer opened a server-streaming call with. */
  const subscribedAs: string[] = []
  type Subscribed = { identity?: { uid?: string } }
  /** Set by a test: the server ends the next stream of ours that it reads from, as a TAK Server does with an error. */
  const endNext = { rol: false, events: false }

  const untilAborted = (signal: AbortSignal): Promise<void> =>
    new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })))

  beforeAll(async () => {
    t = await startTestGateway({ env: { Federation__AdvertisedHostname: 'localhost', Federation__OurFederateId: 'fedgate-dialer' } })
    tak = await testPki({ freshCa: true, hostname: 'tak-connect-server.test', federateId: 'tak-connect-server' })
    theirPackage = await zipOf({
      'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>',
      'hq.txt': 'from the Connect TAK Server'
    })
    const create = createResourceRol(
      {
        hash: createHash('sha256').update(theirPackage).digest('hex'),
        name: 'hq.zip',
        filename: 'hq.zip',
        mimeType: 'application/zip',
        keywords: ['missionpackage'],
        submissionTime: new Date().toISOString(),
        submitter: 'hq',
        uid: 'res-hq',
        creatorUid: '',
        size: theirPackage.length,
        tool: 'public'
      },
      theirPackage
    )
    const health = (): void => void healthChecks++
    // A TAK Server's side of the sequence our dialer follows (spec §2.3): one SERVING on the groups stream, SERVING
    // health, streams that stay open; and after the first health check, 300 of its own events.
    const impl = {
      async *serverFederateGroupsStream(request: Subscribed, context: { signal: AbortSignal }) {
        subscribedAs.push(request.identity?.uid ?? '')
        yield { streamUpdate: { status: 1 } }
        await untilAborted(context.signal)
      },
      async *clientEventStream(request: Subscribed, context: { signal: AbortSignal }) {
        subscribedAs.push(request.identity?.uid ?? '')
        while (healthChecks === 0 && !context.signal.aborted) await sleep(20)
        for (let i = 0; i < 300 && !context.signal.aborted; i++) {
          const now = BigInt(Date.now())
          yield {
            event: {
              uid: 'TAKSERVER-1',
              type: 'a-h-G',
              coordSource: 'm-g',
              sendTime: now,
              startTime: now,
              staleTime: now + 60_000n,
              lat: 36.5,
              lon: -115.25,
              hae: 0,
              ce: 5,
              le: 5,
              other: `<detail><contact callsign="HQ-1"/><remarks>from-server-${i}</remarks></detail>`
            }
          }
        }
        await untilAborted(context.signal)
      },
      async serverEventStream(requests: AsyncIterable<{ event?: { uid: string; other: string } }>) {
        for await (const message of requests) {
          if (endNext.events) throw new ConnectError('events refused', Code.Unavailable)
          if (message.event) fromUs.push({ uid: message.event.uid, other: message.event.other })
        }
        return {}
      },
      async *clientROLStream(request: Subscribed, context: { signal: AbortSignal }) {
        subscribedAs.push(request.identity?.uid ?? '')
        yield { program: create.program, payload: create.payload.map((part) => ({ type: 1, data: part.data })) }
        await untilAborted(context.signal)
      },
      async serverROLStream(requests: AsyncIterable<{ program: string; payload: { data: Uint8Array }[] }>) {
        for await (const message of requests) {
          // Like TAK with a message over its limit: the stream ends with an error, this message unread.
          if (endNext.rol) throw new ConnectError('message larger than max', Code.ResourceExhausted)
          rolFromUs.push(message)
        }
        return {}
      },
      async clientFederateGroupsStream(requests: AsyncIterable<unknown>) {
        for await (const _ of requests) void _
        return {}
      },
      async healthCheck() {
        health()
        return { status: 1 }
      }
    }
    const handler = connectNodeAdapter({
      routes: (router) => void router.service(federatedChannel(), impl as unknown as Parameters<typeof router.service>[1]),
      shutdownSignal: stop.signal
    })
    server = http2.createSecureServer(
      {
        key: tak.pki.federation!.keyPem,
        cert: `${tak.pki.federation!.certPem.trim()}\n${tak.pki.caCertPem.trim()}\n`,
        ca: t.services.pki.caCertPem,
        requestCert: true,
        rejectUnauthorized: true
      },
      handler
    )
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port

    admin = await t.loginAs('admin', t.adminPassword!)
    const org = await t.ok('createOrganization', { name: 'Dialer', plan: 'team' }, admin)
    const network = await t.ok('createNetwork', { organizationId: org.id, name: 'Red' }, admin)
    networkId = network.id
    const identity = await enrollIdentity(t, admin, network.id, 'RED-1')
    device = await DeviceClient.connect({ port: t.services.ports.streaming, cert: identity.cert, key: identity.key, ca: identity.ca })
    device.send(position('RED-1-UID', 'RED-1', 'hello'))
    peerId = (
      await t.ok(
        'addExternalPeer',
        {
          networkId: network.id,
          fingerprint: tak.pki.federation!.fingerprint,
          displayName: 'Connect TAK Server',
          dial: { address: '127.0.0.1', port }
        },
        admin
      )
    ).id
    await t.ok('updateExternalPeer', { id: peerId, sharePackages: true, acceptPackages: true }, admin)
  })

  afterAll(async () => {
    stop.abort()
    await device?.close()
    await t?.stop()
    server?.close()
    tak?.cleanup()
  })

  it('connects, and the server reads a burst of our events (written by us straight to HTTP/2) in order', async () => {
    const fed = takFederationArea(t.services)!
    await until(() => fed.status(peerId).connected && healthChecks > 0, 15_000, 'the dialer to connect')
    const count = 2000
    for (let i = 0; i < count; i++) device.send(position('RED-1-UID', 'RED-1', `dialer-${i}`))
    await until(() => fromUs.filter((e) => e.other.includes('dialer-')).length >= count, 15_000, `${count} events at the server`)
    const burst = fromUs.filter((e) => e.other.includes('dialer-'))
    expect(burst.map((e) => Number(/dialer-(\d+)/.exec(e.other)![1]))).toEqual(Array.from({ length: count }, (_, i) => i))
    expect(burst.every((e) => e.uid === 'RED-1-UID')).toBe(true)
    // One connection, one identity: the groups, event and ROL streams all subscribe with the same uid (spec §2.5).
    await until(() => subscribedAs.length >= 3, 5000, 'the three subscriptions')
    expect(subscribedAs[0]).toMatch(/^[0-9a-f]{32}$/)
    expect(new Set(subscribedAs).size).toBe(1)
  })

  it("delivers the server's events to our device in order", async () => {
    await until(() => device.received.filter((e) => e.uid === 'TAKSERVER-1').length >= 300, 10_000, "the server's events")
    const got = device.received.filter((e) => e.uid === 'TAKSERVER-1')
    expect(got.map((e) => Number(/from-server-(\d+)/.exec(e.detailXml)![1]))).toEqual(Array.from({ length: 300 }, (_, i) => i))
  })

  it('exchanges data packages over ROL both ways: theirs stored with its bytes, ours created on the server', async () => {
    const hash = createHash('sha256').update(theirPackage).digest('hex')
    let stored = false
    for (let i = 0; i < 100 && !stored; i++) {
      stored = (await t.ok('listDataPackages', { networkId }, admin)).some((p) => p.hash === hash && p.source.kind === 'peer')
      if (!stored) await sleep(50)
    }
    expect(stored).toBe(true)
    expect(fs.readFileSync(packagesArea(t.services)!.store.filePath(hash)).equals(theirPackage)).toBe(true)

    const ours = await zipOf(
      { 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', 'route.bin': randomBytes(200_000) },
      { compress: false }
    )
    await t.ok('uploadDataPackage', { networkId, name: 'route.zip', contentBase64: ours.toString('base64') }, admin)
    await until(
      () => rolFromUs.some((r) => r.program.startsWith('create resource') && r.program.includes('route.zip')),
      10_000,
      'our create resource'
    )
    const created = rolFromUs.find((r) => r.program.includes('route.zip'))!
    expect(Buffer.from(created.payload[0]!.data).equals(ours)).toBe(true)
    // What came from the server is never offered back to it (single hop).
    expect(rolFromUs.some((r) => r.program.includes('hq.zip'))).toBe(false)
  })

  it('when the server ends our data-package stream: nothing more goes there, the session carries on, the peer says why', async () => {
    const fed = takFederationArea(t.services)!
    endNext.rol = true
    const upload = async (name: string): Promise<string> => {
      const zip = await zipOf({ 'MANIFEST/manifest.xml': '<MissionPackageManifest version="2"/>', [`${name}.txt`]: name })
      return (await t.ok('uploadDataPackage', { networkId, name: `${name}.zip`, contentBase64: zip.toString('base64') }, admin)).id
    }
    await upload('refused')
    // grpc-js tells a client-streaming call's end only to its callback: the dialer must hear it there.
    await until(() => (fed.status(peerId).lastError ?? '').includes('data-package stream'), 10_000, 'the ended ROL stream to be reported')
    expect(fed.status(peerId).lastError).toMatch(/RESOURCE_EXHAUSTED|message larger than max/)
    const later = await upload('later')
    await sleep(500)
    const record = (await t.ok('listDataPackages', { networkId }, admin)).find((p) => p.id === later)!
    expect(record.sharedWith.some((s) => s.kind === 'peer' && s.id === peerId)).toBe(false)
    expect(rolFromUs.some((r) => r.program.includes('later.zip') || r.program.includes('refused.zip'))).toBe(false)
    // CoT still flows both ways on the same session.
    expect(fed.status(peerId).connected).toBe(true)
    device.send(position('RED-1-UID', 'RED-1', 'after-rol-ended'))
    await until(() => fromUs.some((e) => e.other.includes('after-rol-ended')), 10_000, 'an event after the ROL stream ended')
  })

  it('when the server ends our event stream, the session is over (the dialer hears it and will dial again)', async () => {
    const fed = takFederationArea(t.services)!
    endNext.events = true
    device.send(position('RED-1-UID', 'RED-1', 'refused-event'))
    await until(() => !fed.status(peerId).connected, 10_000, 'the session to end')
    expect(fed.status(peerId).lastError).toMatch(/event stream/)
  })
})
