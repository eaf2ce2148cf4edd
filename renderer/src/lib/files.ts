// Bytes in and out of the browser: base64 ↔ Blob for downloads from the gateway, and files read in chunks for uploads.

import type { DownloadDto } from '../../../gateway/api/contract.ts'

export function base64ToBytes(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** Saves bytes the gateway sent as a file download (works in Electron and any browser, no server round trip). */
export function saveBase64(filename: string, base64: string, mimeType = 'application/octet-stream'): void {
  const blob = new Blob([base64ToBytes(base64)], { type: mimeType })
  const url = URL.createObjectURL(blob)
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  link.rel = 'noopener'
  document.body.appendChild(link)
  link.click()
  link.remove()
  // The click starts the download synchronously; keep the URL a moment for slow hosts.
  setTimeout(() => URL.revokeObjectURL(url), 30_000)
}

export function saveDownload(download: DownloadDto): void {
  saveBase64(download.filename, download.contentBase64, download.mimeType)
}

/** Base64 of a whole file, read in slices so a large package neither blocks the page nor builds one huge string at once. */
export async function fileToBase64(file: Blob, onProgress: (fraction: number) => void, chunkBytes = 3 * 256 * 1024): Promise<string> {
  // A multiple of 3 bytes per chunk keeps each chunk's base64 free of padding, so the pieces join cleanly.
  const parts: string[] = []
  for (let offset = 0; offset < file.size; offset += chunkBytes) {
    const bytes = new Uint8Array(await file.slice(offset, offset + chunkBytes).arrayBuffer())
    let binary = ''
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
    parts.push(btoa(binary))
    onProgress(Math.min(1, (offset + bytes.length) / file.size))
    // Let the progress bar paint between slices.
    await new Promise((resolve) => setTimeout(resolve, 0))
  }
  if (file.size === 0) onProgress(1)
  return parts.join('')
}

/**
 * Draws a PNG given as a data URL onto a canvas. The CSP (default-src 'self') refuses data: images in <img>,
 * but decoding the bytes ourselves is not a fetch, so the gateway's QR image still shows.
 */
export async function drawDataUrl(canvas: HTMLCanvasElement, dataUrl: string, size: number): Promise<void> {
  const match = /^data:([^;,]+)?;base64,(.*)$/.exec(dataUrl)
  if (match === null) throw new Error('The QR image is not a base64 data URL.')
  const blob = new Blob([base64ToBytes(match[2] ?? '')], { type: match[1] ?? 'image/png' })
  const bitmap = await createImageBitmap(blob)
  canvas.width = size
  canvas.height = size
  const context = canvas.getContext('2d')
  if (context === null) return
  context.imageSmoothingEnabled = false
  context.fillStyle = '#fff'
  context.fillRect(0, 0, size, size)
  context.drawImage(bitmap, 0, 0, size, size)
  bitmap.close()
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    // Clipboard needs a secure context; http://127.0.0.1 is one, but a LAN address is not.
    const area = document.createElement('textarea')
    area.value = text
    area.style.position = 'fixed'
    area.style.opacity = '0'
    document.body.appendChild(area)
    area.select()
    const ok = document.execCommand('copy')
    area.remove()
    return ok
  }
}
