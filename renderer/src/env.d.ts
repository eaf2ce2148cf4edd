// What the page may expect from its host: window.fedgate (the typed contract) and .vue modules.

/// <reference types="vite/client" />

import type { FedgateBridge } from '../../gateway/api/contract.ts'

declare global {
  interface Window {
    fedgate?: FedgateBridge
  }
}

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

export {}
