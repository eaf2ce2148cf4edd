// Vuetify for the console: our theme, SVG icons from @mdi/js (bundled, nothing fetched) and defaults that keep
// forms compact and consistent.

import { createVuetify } from 'vuetify'
import { aliases, mdi } from 'vuetify/iconsets/mdi-svg'
import 'vuetify/styles'

export function createConsoleVuetify(): ReturnType<typeof createVuetify> {
  return createVuetify({
    icons: { defaultSet: 'mdi', aliases, sets: { mdi } },
    theme: {
      defaultTheme: 'fedgate',
      themes: {
        fedgate: {
          dark: false,
          colors: {
            primary: '#1d5c8a',
            secondary: '#3b4a5a',
            accent: '#2e7d32',
            background: '#f3f5f7',
            surface: '#ffffff',
            'app-bar': '#17222d',
            success: '#2e7d32',
            warning: '#b26a00',
            error: '#c62828',
            info: '#1565c0'
          }
        }
      }
    },
    defaults: {
      VTextField: { variant: 'outlined', density: 'comfortable', color: 'primary' },
      VSelect: { variant: 'outlined', density: 'comfortable', color: 'primary' },
      VAutocomplete: { variant: 'outlined', density: 'comfortable', color: 'primary' },
      VTextarea: { variant: 'outlined', density: 'comfortable', color: 'primary' },
      VCard: { rounded: 'lg' },
      VBtn: { rounded: 'md' },
      VSwitch: { color: 'primary', density: 'compact', hideDetails: true, inset: true },
      VChip: { size: 'small' },
      // A dialog taller than a field laptop's window (640 px) scrolls its text and keeps its buttons on screen.
      VDialog: { scrollable: true }
    }
  })
}
