// External TAK Servers of the network being viewed: our connection info for the remote admin, the registered peers
// with live status from `peerStatus` events (no polling), and rejected connection attempts to turn into peers.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ArtifactKind, ConnectionInfo, DialTarget, ExternalPeerDto, RejectedPeerDto, Toggles } from '../../../gateway/api/contract.ts'
import { api, isNotAvailable, onEvent } from '../api.ts'
import { saveDownload } from '../lib/files.ts'

/** The answer, or null when the gateway says this method is not part of this build. */
async function optional<T>(call: Promise<T>): Promise<T | null> {
  try {
    return await call
  } catch (err) {
    if (isNotAvailable(err)) return null
    throw err
  }
}

export const usePeersStore = defineStore('peers', () => {
  const networkId = ref<string | null>(null)
  const connectionInfo = ref<ConnectionInfo | null>(null)
  const list = ref<ExternalPeerDto[]>([])
  const rejected = ref<RejectedPeerDto[]>([])
  const available = ref<boolean | null>(null)
  const peersAvailable = ref<boolean | null>(null)
  const loading = ref(false)

  async function load(forNetwork: string): Promise<void> {
    if (networkId.value !== forNetwork) list.value = []
    networkId.value = forNetwork
    loading.value = true
    try {
      // Connection info and the peer list are separate methods; show whichever this gateway offers.
      const [info, peers, attempts] = await Promise.all([
        optional(api().getConnectionInfo()),
        optional(api().listExternalPeers({ networkId: forNetwork })),
        optional(api().listRejectedPeers())
      ])
      if (networkId.value !== forNetwork) return
      connectionInfo.value = info
      list.value = peers ?? []
      rejected.value = attempts ?? []
      peersAvailable.value = peers !== null
      available.value = info !== null || peers !== null
    } finally {
      loading.value = false
    }
  }

  const reload = async (): Promise<void> => {
    if (networkId.value !== null) await load(networkId.value)
  }

  function follow(): () => void {
    return onEvent((event) => {
      if (event.type === 'peerStatus') {
        const byId = new Map(event.peers.map((s) => [s.peerId, s]))
        for (const peer of list.value) {
          const status = byId.get(peer.id)
          if (status !== undefined) peer.status = status
        }
      } else if (event.type === 'rejectedPeer') {
        const others = rejected.value.filter((r) => r.fingerprint !== event.peer.fingerprint)
        rejected.value = [event.peer, ...others]
      } else if (event.type === 'changed' && event.area === 'peers') {
        if (event.networkId === undefined || event.networkId === networkId.value) void reload().catch(() => undefined)
      }
    })
  }

  async function add(peer: { fingerprint: string; displayName: string; dial?: DialTarget } & Toggles): Promise<ExternalPeerDto> {
    if (networkId.value === null) throw new Error('Open a network first.')
    const added = await api().addExternalPeer({ networkId: networkId.value, ...peer })
    await reload()
    return added
  }

  async function update(id: string, changes: Partial<Toggles> & { displayName?: string }): Promise<void> {
    const updated = await api().updateExternalPeer({ id, ...changes })
    const index = list.value.findIndex((p) => p.id === id)
    if (index >= 0) list.value[index] = updated
  }

  async function remove(id: string): Promise<void> {
    await api().removeExternalPeer({ id })
    await reload()
  }

  async function download(kind: ArtifactKind): Promise<void> {
    saveDownload(await api().downloadArtifact({ kind }))
  }

  return { networkId, connectionInfo, list, rejected, available, peersAvailable, loading, load, reload, follow, add, update, remove, download }
})
