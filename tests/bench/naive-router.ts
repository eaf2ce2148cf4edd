// The benchmark's baseline: the obvious streaming router. Mutual TLS like ours, then every event is split on
// `</event>`, fully parsed with fast-xml-parser, and written to each receiver with its own socket.write — no header
// scan, no batching, no send-queue cap (a slow receiver's socket buffer grows without bound).
//
// With `parse: false` it is the benchmark's floor: the same split and the same one write per receiver, and nothing
// else (no parse, no position memory). No router that writes each event to each receiver's TLS socket can do less,
// so the floor's latency is what the TLS fan-out and the load generator cost on this machine by themselves.

import tls from 'node:tls'
import type { AddressInfo } from 'node:net'
import { XMLParser } from 'fast-xml-parser'
import type { LocalLink } from '../../gateway/routing/types.ts'

export interface NaiveIdentity {
  deviceId: string
  networkId: string
}

export interface NaiveRouterOptions {
  port: number
  host?: string
  tls: { key: string; cert: string; ca: string }
  authorize(certificate: tls.PeerCertificate): NaiveIdentity | null
  links: LocalLink[]
  /** false: the floor (see above). */
  parse?: boolean
}

export interface NaiveConnectionInfo {
  deviceId: string
  /** What the socket holds unsent: the naive router's only "queue". */
  queuedBytes: number
}

export interface NaiveRouter {
  port: number
  close(): Promise<void>
  connections(): NaiveConnectionInfo[]
  counters(): { eventsIn: number; deliveries: number; malformed: number }
}

interface NaiveConnection {
  socket: tls.TLSSocket
  identity: NaiveIdentity
  pending: Buffer
}

const EVENT_END = Buffer.from('</event>')

export async function startNaiveRouter(options: NaiveRouterOptions): Promise<NaiveRouter> {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' })
  const byNetwork = new Map<string, Set<NaiveConnection>>()
  const latest = new Map<string, Map<string, Buffer>>()
  const counters = { eventsIn: 0, deliveries: 0, malformed: 0 }
  const linkedTo = (networkId: string): string[] => options.links.filter((l) => l.cot && l.from === networkId).map((l) => l.to)
  const linkedFrom = (networkId: string): string[] => options.links.filter((l) => l.cot && l.to === networkId).map((l) => l.from)

  const server = tls.createServer({
    key: options.tls.key,
    cert: options.tls.cert,
    ca: options.tls.ca,
    requestCert: true,
    rejectUnauthorized: true
  })
  server.on('tlsClientError', (_error, socket) => socket.destroy())
  server.on('secureConnection', (socket) => {
    socket.on('error', () => socket.destroy())
    const identity = options.authorize(socket.getPeerCertificate())
    if (!identity) return socket.destroy()
    socket.setNoDelay(true)
    const connection: NaiveConnection = { socket, identity, pending: Buffer.alloc(0) }
    const peers = byNetwork.get(identity.networkId) ?? new Set()
    byNetwork.set(identity.networkId, peers.add(connection))
    for (const networkId of [identity.networkId, ...linkedFrom(identity.networkId)]) {
      for (const xml of latest.get(networkId)?.values() ?? []) socket.write(xml)
    }
    socket.on('data', (chunk: Buffer) => {
      connection.pending = Buffer.concat([connection.pending, chunk])
      let end: number
      while ((end = connection.pending.indexOf(EVENT_END)) !== -1) {
        const xml = Buffer.from(connection.pending.subarray(0, end + EVENT_END.length))
        connection.pending = connection.pending.subarray(end + EVENT_END.length)
        route(connection, xml)
      }
    })
    socket.on('close', () => peers.delete(connection))
  })

  function route(sender: NaiveConnection, xml: Buffer): void {
    if (options.parse === false) return forward(sender, xml)
    let event: { uid?: string; type?: string } | undefined
    try {
      event = (parser.parse(xml.toString('utf8')) as { event?: { uid?: string; type?: string } }).event
    } catch {
      counters.malformed++
      return
    }
    if (!event?.uid || !event.type) {
      counters.malformed++
      return
    }
    counters.eventsIn++
    const start = xml.indexOf('<event')
    const bytes = start > 0 ? xml.subarray(start) : xml
    const networkId = sender.identity.networkId
    if (event.type.startsWith('a-')) {
      const positions = latest.get(networkId) ?? new Map<string, Buffer>()
      latest.set(networkId, positions.set(event.uid, bytes))
    }
    for (const target of [networkId, ...linkedTo(networkId)]) {
      for (const receiver of byNetwork.get(target) ?? []) {
        if (receiver === sender) continue
        receiver.socket.write(bytes)
        counters.deliveries++
      }
    }
  }

  function forward(sender: NaiveConnection, xml: Buffer): void {
    counters.eventsIn++
    const networkId = sender.identity.networkId
    for (const target of [networkId, ...linkedTo(networkId)]) {
      for (const receiver of byNetwork.get(target) ?? []) {
        if (receiver === sender) continue
        receiver.socket.write(xml)
        counters.deliveries++
      }
    }
  }

  await new Promise<void>((resolve) => server.listen(options.port, options.host ?? '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        for (const connections of byNetwork.values()) for (const c of connections) c.socket.destroy()
      }),
    connections: () =>
      [...byNetwork.values()].flatMap((set) =>
        [...set].map((c) => ({ deviceId: c.identity.deviceId, queuedBytes: c.socket.writableLength }))
      ),
    counters: () => ({ ...counters })
  }
}
