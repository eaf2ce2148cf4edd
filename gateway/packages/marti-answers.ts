// What the Marti API says about a package in TAK's own terms: its Enterprise Sync metadata, its PrimaryKey, the host
// a content URL names and the Content-Disposition of a download.

import { createHash } from 'node:crypto'
import type http from 'node:http'
import type { DataPackageRecord } from '../store/schema.ts'

/**
 * TAK's PrimaryKey is its database row number, sent as a string of digits: ATAK reads it with getInt (a string like
 * our ids fails the whole list of server packages), node-tak as a string. Ours is a number derived from the id, so a
 * package keeps it and two packages practically never share one.
 */
export function primaryKeyOf(id: string): string {
  return String(Number.parseInt(createHash('sha256').update(id).digest('hex').slice(0, 7), 16))
}

/** One package in TAK's Enterprise Sync metadata shape (`Metadata.Field` names). */
export function searchItem(p: DataPackageRecord): Record<string, unknown> {
  return {
    UID: p.id,
    Name: p.name,
    Hash: p.hash,
    PrimaryKey: primaryKeyOf(p.id),
    SubmissionDateTime: p.createdAt,
    SubmissionUser: p.source.label,
    CreatorUid: p.creatorUid ?? '',
    Keywords: ['missionpackage'],
    MIMEType: p.mimeType,
    Size: String(p.size),
    Tool: p.private ? 'private' : 'public',
    EXPIRATION: '-1',
    Groups: ['__ANON__']
  }
}

/** The host name the device used to reach us (from Host, without its port), else our local address. */
export function hostFor(req: http.IncomingMessage): string {
  const header = String(req.headers.host ?? '')
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::\d+)?$/.exec(header)
  if (bracketed) return `[${bracketed[1]}]`
  const plain = /^([A-Za-z0-9.-]{1,253})(?::\d+)?$/.exec(header)
  if (plain) return plain[1] as string
  const local = req.socket.localAddress ?? '127.0.0.1'
  const addr = local.startsWith('::ffff:') ? local.slice(7) : local
  return addr.includes(':') ? `[${addr}]` : addr
}

export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  return `inline; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`
}
