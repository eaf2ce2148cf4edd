// HTTP/2 flow control for federation links. With HTTP/2's default 64 KiB windows a link carries only what one window
// per round trip allows, and a round trip includes a turn of both gateways' event loops: on a busy loopback that was
// ~9k events/s, with the rest queued and then dropped (tests/bench, fed v2). A federation link is one long-lived,
// high-volume connection, so both ends open their receive windows wide.
//
// grpc-js has a channel option for the dialing side ('grpc-node.flow_control_window') but none for a server. On the
// server side we reach the HTTP/2 session through the call's stream (grpc-inside.ts); when it is not there, nothing
// changes.
//
// The other side of a wide window: after a pause, a window's worth of events is ready at once; the streams that carry
// them are read with a budget per turn (routing/read-budget.ts), so they cannot hold the event loop.

import type http2 from 'node:http2'
import { serverCallStream } from './grpc-inside.ts'

/** Receive window of a federation link (per stream and per connection). */
export const FEDERATION_WINDOW_BYTES = 4 * 1024 * 1024

const widened = new WeakSet<http2.Http2Session>()

/** Open the receive windows of the HTTP/2 session a server call arrived on; false when the session is not found. */
export function widenReceiveWindow(call: unknown): boolean {
  const session = serverCallStream(call)?.session
  if (!session || typeof session.setLocalWindowSize !== 'function') return false
  if (widened.has(session) || session.destroyed) return true
  widened.add(session)
  try {
    session.setLocalWindowSize(FEDERATION_WINDOW_BYTES)
    // A new initial window applies to the streams already open too (RFC 9113 §6.9.2).
    session.settings({ initialWindowSize: FEDERATION_WINDOW_BYTES })
    return true
  } catch {
    return false
  }
}
