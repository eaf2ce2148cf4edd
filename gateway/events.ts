// The gateway's push channel to consoles: typed ConsoleEvents fanned out to every subscriber (SSE, IPC).

import type { ConsoleEvent } from './api/contract.ts'

export type EventListener = (event: ConsoleEvent) => void

export class EventBus {
  private readonly listeners = new Set<EventListener>()

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  emit(event: ConsoleEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch {
        // A broken subscriber (a closed SSE socket) must not stop the others.
      }
    }
  }

  get size(): number {
    return this.listeners.size
  }
}
