// The console's Server-Sent Events (GET /api/events): one stream per signed-in tab, each event filtered for what that
// user may see now, capped in number per user and in all, and closed when the session ends or the reader stalls.

import type http from 'node:http'
import type { ConsoleEvent } from '../api/contract.ts'
import { eventForUser } from '../events.ts'
import { bearerToken } from '../net/http.ts'
import type { Services } from '../services.ts'
import type { UserRecord } from '../store/schema.ts'
import { SECURITY_HEADERS, SIGN_IN_AGAIN, sendError } from './answers.ts'

/** A console that stopped reading must not make the gateway buffer without bound. */
const MAX_UNREAD_BYTES = 4 * 1_048_576

interface EventStream {
  token: string
  userId: string
  close(): void
}

export interface EventStreamLimits {
  heartbeatMs: number
  maxStreams: number
  maxStreamsPerUser: number
}

export class EventStreams {
  private readonly streams = new Set<EventStream>()

  constructor(
    private readonly services: Services,
    private readonly limits: EventStreamLimits
  ) {}

  open(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    // EventSource cannot set headers, so the token may come in the query string.
    const token = bearerToken(req.headers.authorization) ?? url.searchParams.get('token')
    const first = this.services.accounts.userForToken(token)
    if (!token || !first) {
      sendError(res, 'unauthenticated', SIGN_IN_AGAIN, 401, { 'WWW-Authenticate': 'Bearer' })
      return
    }
    // One user's streams are capped (their oldest gives way, so their own new tab still works), so one account cannot
    // take the whole total; the total cap then only turns away many different users.
    const own = [...this.streams].filter((s) => s.userId === first.id)
    for (const stale of own.slice(0, Math.max(0, own.length - this.limits.maxStreamsPerUser + 1))) stale.close()
    if (this.streams.size >= this.limits.maxStreams) {
      sendError(res, 'unavailable', 'Too many consoles are listening for events; close some and try again.')
      return
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no'
    })
    res.write('retry: 3000\n: connected\n\n')
    req.socket.setNoDelay(true)
    req.socket.setKeepAlive(true, this.limits.heartbeatMs)
    this.follow(res, token, first.id)
  }

  private follow(res: http.ServerResponse, token: string, userId: string): void {
    const { services } = this
    // Permissions can change while the stream is open: look the user up again for every event.
    const currentUser = (): UserRecord | undefined => services.store.data.users.find((u) => u.id === userId)
    const unsubscribe = services.events.subscribe((event: ConsoleEvent) => {
      const user = currentUser()
      if (!user) {
        stream.close()
        return
      }
      const visible = eventForUser(event, services, user)
      if (!visible) return
      res.write(`data: ${JSON.stringify(visible)}\n\n`)
      if (res.writableLength > MAX_UNREAD_BYTES) stream.close()
    })
    const heartbeat = setInterval(() => {
      if (!services.accounts.peekUser(token)) {
        stream.close()
        return
      }
      res.write(': heartbeat\n\n')
    }, this.limits.heartbeatMs)
    heartbeat.unref()
    let closed = false
    const stream: EventStream = {
      token,
      userId,
      close: () => {
        if (closed) return
        closed = true
        clearInterval(heartbeat)
        unsubscribe()
        this.streams.delete(stream)
        res.end()
      }
    }
    this.streams.add(stream)
    res.on('close', () => stream.close())
  }

  /** Closes the streams of one session (it signed out). */
  closeSession(token: string): void {
    for (const stream of this.streams) if (stream.token === token) stream.close()
  }

  closeAll(): void {
    for (const stream of [...this.streams]) stream.close()
  }
}
