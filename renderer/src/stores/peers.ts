// External TAK Servers of the network being viewed: our connection info for the remote admin, the registered peers
// with live status from `peerStatus` events (no polling), and rejected connection attempts to turn into peers.

import { defineStore } from 'pinia'
import { ref } from 'vue'
import type {
  ArtifactKind,
  ConnectionInfo,
  DialTarget,
  ExternalPeerDto,
  RejectedPeerDto,
  TakGroups,
  Toggles
} from '../../../gateway/api/contract.ts'
import { api } from '../api.ts'
import type { FilterChanges } from '../lib/traffic-words.ts'
import { base64ToBytes, saveDownload } from '../lib/files.ts'
import { useNetworkScope } from './network-scope.ts'

export const usePeersStore = defineStore('peers', () => {
  const connectionInfo = ref<ConnectionInfo | null>(null)
  const list = ref<ExternalPeerDto[]>([])
  const rejected = ref<RejectedPeerDto[]>([])
  const { networkId, loading, load, reload, follow } = useNetworkScope({
    area: 'peers',
    clear: () => (list.value = []),
    fetch: (forNetwork) =>
      Promise.all([api().getConnectionInfo(), api().listExternalPeers({ networkId: forNetwork }), api().listRejectedPeers()]),
    apply: ([info, peers, attempts]) => {
      connectionInfo.value = info
      list.value = peers
      rejected.value = attempts
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

  async function add(
    peer: { fingerprint: string; displayName: string; dial?: DialTarget; takGroups?: TakGroups } & Toggles
  ): Promise<ExternalPeerDto> {
    if (networkId.value === null) throw new Error('Open a network first.')
    const added = await api().addExternalPeer({ networkId: networkId.value, ...peer })
    await reload()
    return added
  }

  /** Toggles, name or dial settings; the gateway redials at once when the address, port or CA changed. */
  async function update(
    id: string,
    changes: Partial<Toggles> & {
      relay?: boolean
      maxHops?: number
      displayName?: string
      nextFingerprint?: string | null
      dial?: DialTarget | null
      takGroups?: TakGroups
    } & FilterChanges
  ): Promise<void> {
    const updated = await api().updateExternalPeer({ id, ...changes })
    const index = list.value.findIndex((p) => p.id === id)
    if (index >= 0) list.value[index] = updated
  }

  async function remove(id: string): Promise<void> {
    await api().removeExternalPeer({ id })
    await reload()
  }

  /** `peerId`: that peer's federate snippet (with its TAK groups) rather than the generic one. */
  async function download(kind: ArtifactKind, peerId?: string): Promise<void> {
    saveDownload(await api().downloadArtifact({ kind, ...(peerId ? { peerId } : {}) }))
  }

  /** A text artifact (a CoreConfig snippet) as text, to show inline ready to paste. */
  async function artifactText(kind: ArtifactKind, peerId?: string): Promise<string> {
    return new TextDecoder().decode(base64ToBytes((await api().downloadArtifact({ kind, ...(peerId ? { peerId } : {}) })).contentBase64))
  }

  return {
    networkId,
    connectionInfo,
    list,
    rejected,
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
