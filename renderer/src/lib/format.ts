// Figures as an operator reads them: sizes, ages, rates.

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KB', 'MB', 'GB', 'TB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value >= 10 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`
}

export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return '—'
  return date.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit'
  })
}

/** "12 s ago", "5 min ago", "3 h ago", else the date. */
export function formatAgo(iso: string | null | undefined, now = Date.now()): string {
  if (iso === null || iso === undefined) return 'never'
  const at = new Date(iso).getTime()
  if (Number.isNaN(at)) return '—'
  const seconds = Math.max(0, Math.round((now - at) / 1000))
  if (seconds < 60) return `${seconds} s ago`
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`
  return formatTime(iso)
}

/** Time left until `iso`, as a countdown reads: "45 s", "12 min", "23 h"; "0 s" once it has passed. */
export function formatRemaining(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((new Date(iso).getTime() - now) / 1000))
  if (seconds >= 7200) return `${Math.round(seconds / 3600)} h`
  return seconds >= 120 ? `${Math.round(seconds / 60)} min` : `${seconds} s`
}

export function formatRate(perSecond: number): string {
  if (perSecond === 0) return '0/s'
  return perSecond >= 10 ? `${Math.round(perSecond)}/s` : `${perSecond.toFixed(1)}/s`
}

export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds)
  const days = Math.floor(s / 86_400)
  const hours = Math.floor((s % 86_400) / 3600)
  const minutes = Math.floor((s % 3600) / 60)
  if (days > 0) return `${days} d ${hours} h`
  if (hours > 0) return `${hours} h ${minutes} min`
  if (minutes > 0) return `${minutes} min ${s % 60} s`
  return `${s} s`
}

/** "1 device", "2 devices": counts an operator reads at a glance. */
export function countOf(count: number, singular: string, plural = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : plural}`
}

/** First and last bytes of a fingerprint, enough to tell peers apart at a glance; show the full value beside it. */
export function shortFingerprint(fingerprint: string): string {
  const bytes = fingerprint.split(':')
  return bytes.length <= 10 ? fingerprint : `${bytes.slice(0, 6).join(':')}…${bytes.slice(-3).join(':')}`
}

/** Clock offsets beyond this are flagged (the gateway's SKEW_FLAG_SECONDS). */
export const SKEW_FLAG_SECONDS = 30

/** "2 min 0 s behind", "45 s ahead": another clock against this machine's (their time minus ours). */
export function formatSkew(seconds: number): string {
  return `${formatDuration(Math.abs(seconds))} ${seconds < 0 ? 'behind' : 'ahead'}`
}
