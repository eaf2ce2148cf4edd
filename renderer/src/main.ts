// The console's entry: bundled fonts, Vuetify, Pinia, the window.fedgate transport, then the app.

import '@fontsource/roboto/400.css'
import '@fontsource/roboto/500.css'
import '@fontsource/roboto/700.css'
import './styles.css'
import { createApp } from 'vue'
import { createPinia } from 'pinia'
import App from './App.vue'
import { installBridge } from './api.ts'
import { createConsoleVuetify } from './plugins/vuetify.ts'

installBridge()
createApp(App).use(createPinia()).use(createConsoleVuetify()).mount('#app')
