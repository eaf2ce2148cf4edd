// Builds the console (renderer/) into dist-web/ for both homes: Electron loads it over file:// and `fedgate serve`
// over http://, so every asset URL is relative and nothing is fetched from the internet (CSP default-src 'self').

import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import vuetify from 'vite-plugin-vuetify'

const root = fileURLToPath(new URL('./renderer', import.meta.url))

export default defineConfig({
  root,
  base: './',
  plugins: [vue(), vuetify({ autoImport: true })],
  build: {
    outDir: fileURLToPath(new URL('./dist-web', import.meta.url)),
    emptyOutDir: true,
    // Keep every asset a file: the CSP (default-src 'self') refuses data: URLs for fonts and images.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 2000,
    sourcemap: false
  },
  server: { host: '127.0.0.1' }
})
