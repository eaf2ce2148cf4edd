// External TAK Servers of the network being viewed: our connection info for the remote admin, the registered peers
// with live status from `peerStatus` events (no polling), and rejected connection attempts to turn into peers.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { ArtifactKind, ConnectionInfo, DialTarget, ExternalPeerDto, RejectedPeerDto, Toggles } from '../../../gateway/api/contract.ts'
import { api, isNotAvailable } from '../api.ts'
import { base64ToBytes, saveDownload } from '../lib/files.ts'
import { useNetworkScope } from './network-scope.ts'

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
  const connectionInfo = ref<ConnectionInfo | null>(null)
  const list = ref<ExternalPeerDto[]>([])
  const rejected = ref<RejectedPeerDto[]>([])
  const peersAvailable = ref<boolean | null>(null)
  const { networkId, available, loading, load, reload, follow } = useNetworkScope({
    area: 'peers',
    clear: () => (list.value = []),
    // Connection info and the peer list are separate methods; show whichever this gateway offers.
    fetch: (forNetwork) =>
      Promise.all([
        optional(api().getConnectionInfo()),
        optional(api().listExternalPeers({ networkId: forNetwork })),
        optional(api().listRejectedPeers())
      ]),
    apply: ([info, peers, attempts]) => {
      connectionInfo.value = info
      list.value = peers ?? []
      rejected.value = attempts ?? []
      peersAvailable.value = peers !== null
      // optional() turns "not in this build" into null instead of failing: the tab is there if either half is.
      available.value = info !== null || peers !== null
    },
    onEvent: (event) => {
      if (event.type === 'peerStatus') {
        const byId = new Map(event.peers.map((s) => [s.peerId, s]))
        for (const peer of list.value) {
          const status = byId.get(peer.id)
          if (status !== undefined) peer.status = status
        }
      } else if (event.type === 'rejectedPeer') {
        const others = rejected.value.filter((r) => r.fingerprint !== event.peer.fingerprint)
        rejected.value = [event.peer, ...others]
      }
    }
  })

  async function add(peer: { fingerprint: string; displayName: string; dial?: DialTarget } & Toggles): Promise<ExternalPeerDto> {
    if (networkId.value === null) throw new Error('Open a network first.')
    const added = await api().addExternalPeer({ networkId: networkId.value, ...peer })
    await reload()
    return added
  }

  /** Toggles, name or dial settings; the gateway redials at once when the address, port or CA changed. */
  async function update(
    id: string,
    changes: Partial<Toggles> & { displayName?: string; nextFingerprint?: string | null; dial?: DialTarget | null }
  ): Promise<void> {
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

  /** A text artifact (a CoreConfig snippet) as text, to show inline ready to paste. */
  async function artifactText(kind: ArtifactKind): Promise<string> {
    return new TextDecoder().decode(base64ToBytes((await api().downloadArtifact({ kind })).contentBase64))
  }

  return {
    networkId,
    connectionInfo,
    list,
    rejected,
    available,
    peersAvailable,
    loading,
    load,
    reload,
    follow,
    add,
    update,
    remove,
    download,
    artifactText
  }
})
