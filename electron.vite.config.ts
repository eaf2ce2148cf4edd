// Build of the desktop app: main (ESM) and preload (one CommonJS file: sandboxed preloads cannot be ES modules)
// into out/, the renderer (root renderer/, owned by the console) into out/renderer with relative asset URLs.

import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import vue from '@vitejs/plugin-vue'
import { defineConfig, type UserConfig } from 'electron-vite'
import vuetify from 'vite-plugin-vuetify'

const root = path.dirname(fileURLToPath(import.meta.url))
const fromRoot = (...parts: string[]): string => path.join(root, ...parts)

/** Folders whose .proto files the bundled gateway loads from `<dir of out/main/index.js>/proto` at runtime. */
const PROTO_DIRS = ['gateway/cot/proto', 'gateway/federation/tak/proto']

/**
 * Copies our .proto files next to the bundled main process. Gateway modules find them relative to their own file,
 * and after bundling every module's file is out/main/index.js.
 */
function copyProtoFiles(): { name: string; writeBundle(): void } {
  return {
    name: 'fedgate-copy-proto',
    writeBundle() {
      const target = fromRoot('out', 'main', 'proto')
      fs.mkdirSync(target, { recursive: true })
      for (const dir of PROTO_DIRS) {
        if (!fs.existsSync(fromRoot(dir))) continue
        for (const name of fs.readdirSync(fromRoot(dir)).filter((n) => n.endsWith('.proto'))) {
          fs.copyFileSync(fromRoot(dir, name), path.join(target, name))
        }
      }
    }
  }
}

const config: UserConfig = {
  main: {
    plugins: [copyProtoFiles()],
    build: {
      outDir: fromRoot('out', 'main'),
      // Production dependencies stay in node_modules inside the asar; only our code is bundled.
      externalizeDeps: true,
      rollupOptions: {
        input: { index: fromRoot('main', 'index.ts') },
        output: { format: 'es', entryFileNames: '[name].js' }
      }
    }
  },
  preload: {
    build: {
      outDir: fromRoot('out', 'preload'),
      // The sandbox gives the preload `require('electron')` only: everything else must be inside the one file.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: fromRoot('main', 'preload.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs', codeSplitting: false }
      }
    }
  },
  renderer: {
    root: fromRoot('renderer'),
    base: './',
    plugins: [vue(), vuetify({ autoImport: true })],
    build: {
      outDir: fromRoot('out', 'renderer'),
      emptyOutDir: true,
      // Every asset a file: the CSP refuses data: fonts.
      assetsInlineLimit: 0,
      chunkSizeWarningLimit: 2000,
      rollupOptions: { input: { index: fromRoot('renderer', 'index.html') } }
    }
  }
}

export default defineConfig(config)
