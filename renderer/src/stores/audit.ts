// The audit log as the console shows it: one page at a time from the gateway, newest first, filtered there by who,
// what and when; new lines are pushed live by `auditAppended` events onto the newest page.

import { defineStore } from 'pinia'
import { reactive, ref } from 'vue'
import type { ArgsOf, AuditEntryDto, AuditKind, ResultOf } from '../../../gateway/api/contract.ts'
import { api, onEvent } from '../api.ts'

export const AUDIT_PAGE_SIZE = 50

export interface AuditFilters {
  who: string
  what: AuditKind | null
  /** Local calendar days (YYYY-MM-DD) from the date pickers; empty for no bound. */
  fromDay: string
  toDay: string
}

export const useAuditStore = defineStore('audit', () => {
  const entries = ref<AuditEntryDto[]>([])
  const organizationId = ref<string | undefined>(undefined)
  const filters = reactive<AuditFilters>({ who: '', what: null, fromDay: '', toDay: '' })
  const loading = ref(false)
  /** Cursors of the pages before the one shown (newest first); empty on the newest page. */
  const cursors = ref<(string | undefined)[]>([])
  const current = ref<string | undefined>(undefined)
  const nextCursor = ref<string | null>(null)

  /** The filters as the gateway takes them: times are the local day's first and last millisecond. */
  function query(): Omit<ArgsOf<'exportAuditLog'>, 'format'> {
    const who = filters.who.trim()
    return {
      ...(organizationId.value !== undefined ? { organizationId: organizationId.value } : {}),
      ...(who ? { who } : {}),
      ...(filters.what ? { what: filters.what } : {}),
      ...(filters.fromDay ? { from: new Date(`${filters.fromDay}T00:00:00`).toISOString() } : {}),
      ...(filters.toDay ? { to: new Date(`${filters.toDay}T23:59:59.999`).toISOString() } : {})
    }
  }

  async function fetchPage(cursor: string | undefined): Promise<void> {
    loading.value = true
    try {
      const page = await api().listAuditLog({ ...query(), limit: AUDIT_PAGE_SIZE, ...(cursor !== undefined ? { cursor } : {}) })
      entries.value = page.entries
      nextCursor.value = page.nextCursor
      current.value = cursor
    } finally {
      loading.value = false
    }
  }

  /** The newest page, for an organization (undefined: the whole deployment). */
  async function load(forOrganization?: string): Promise<void> {
    organizationId.value = forOrganization
    cursors.value = []
    await fetchPage(undefined)
  }

  async function older(): Promise<void> {
    if (nextCursor.value === null) return
    const from = current.value
    await fetchPage(nextCursor.value)
    cursors.value = [...cursors.value, from]
  }

  async function newer(): Promise<void> {
    if (cursors.value.length === 0) return
    const back = cursors.value.at(-1)
    await fetchPage(back)
    cursors.value = cursors.value.slice(0, -1)
  }

  function matches(entry: AuditEntryDto): boolean {
    const q = query()
    if (q.organizationId !== undefined && entry.organizationId !== q.organizationId) return false
    if (q.what !== undefined && entry.kind !== q.what) return false
    if (q.who !== undefined && !`${entry.actor}\n${entry.who}`.toLowerCase().includes(q.who.toLowerCase())) return false
    return (q.from === undefined || entry.at >= q.from) && (q.to === undefined || entry.at <= q.to)
  }

  function follow(): () => void {
    return onEvent((event) => {
      // Only the newest page grows; an older page stays as it was read.
      if (event.type !== 'auditAppended' || cursors.value.length > 0 || !matches(event.entry)) return
      entries.value = [event.entry, ...entries.value].slice(0, AUDIT_PAGE_SIZE)
    })
  }

  async function exportAs(format: 'csv' | 'ndjson'): Promise<ResultOf<'exportAuditLog'>> {
    const file = await api().exportAuditLog({ ...query(), format })
    saveText(file.filename, file.text, file.mimeType)
    return file
  }

  return { entries, organizationId, filters, loading, cursors, nextCursor, load, older, newer, follow, exportAs }
})

/** Hands text to the browser as a file download (Electron and any browser alike). */
function saveText(filename: string, text: string, mimeType: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: `${mimeType};charset=utf-8` }))
  const link = document.createElement('a')
  link.href = url
  link.download = filename
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(url), 30_000)
}
