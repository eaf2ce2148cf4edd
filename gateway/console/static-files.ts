// The built renderer served as static files: only regular files inside its directory, hashed assets cached for good,
// and any other extension-less path answered with the single-page app.

import fsp from 'node:fs/promises'
import type http from 'node:http'
import path from 'node:path'
import { SECURITY_HEADERS, sendText } from './answers.ts'

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json'
}

/** `staticRoot` is the real path of the built renderer, or null when it has not been built. */
export async function serveStatic(staticRoot: string | null, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
  if (!staticRoot) {
    sendText(res, 503, 'The console has not been built: run `npm run build:web`. The HTTP API under /api/ works.')
    return
  }
  const segments = pathSegments(url)
  if (segments === 'bad') {
    sendText(res, 400, 'Bad path.')
    return
  }
  if (segments.some((s) => s === '..' || s === '.' || s.startsWith('.'))) {
    sendText(res, 404, 'Not found.')
    return
  }
  let file = path.join(staticRoot, ...segments)
  let found = await readStatic(staticRoot, file)
  if (!found && path.extname(file) === '') {
    // Client-side routes: the page is the single-page app.
    file = path.join(staticRoot, 'index.html')
    found = await readStatic(staticRoot, file)
  }
  if (!found) {
    sendText(res, 404, 'Not found.')
    return
  }
  const type = MIME_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream'
  // Vite puts content-hashed names under assets/; everything else (index.html) must be revalidated.
  const cache = segments[0] === 'assets' ? 'public, max-age=31536000, immutable' : 'no-cache'
  res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(found.length), 'Cache-Control': cache })
  res.end(req.method === 'HEAD' ? undefined : found)
}

/** The decoded, non-empty segments of the path, or 'bad' for what no file name holds (NUL, backslash, bad escapes). */
function pathSegments(url: URL): string[] | 'bad' {
  let relative: string
  try {
    relative = decodeURIComponent(url.pathname)
  } catch {
    return 'bad'
  }
  if (relative.includes('\0') || relative.includes('\\')) return 'bad'
  return relative.split('/').filter((s) => s.length > 0)
}

export async function realDir(dir: string): Promise<string | null> {
  try {
    const real = await fsp.realpath(dir)
    return (await fsp.stat(real)).isDirectory() ? real : null
  } catch {
    return null
  }
}

/** Reads a regular file inside root (symbolic links resolved), or null. Read before writeHead so a miss is a clean 404. */
async function readStatic(root: string, file: string): Promise<Buffer | null> {
  try {
    const real = await fsp.realpath(file)
    if (real !== root && !real.startsWith(root + path.sep)) return null
    const stat = await fsp.stat(real)
    if (!stat.isFile()) return null
    return await fsp.readFile(real)
  } catch {
    return null
  }
}
