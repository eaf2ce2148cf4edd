// ESLint for the whole tree: rules that catch real bugs (typed where the type is what tells), and the house's
// boundaries (DESIGN §2, issue 19) as rules. Layout belongs to Prettier; eslint-config-prettier switches off the rest.

import { builtinModules } from 'node:module'
import fs from 'node:fs'
import path from 'node:path'
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import prettier from 'eslint-config-prettier/flat'
import vue from 'eslint-plugin-vue'
import globals from 'globals'
import tseslint from 'typescript-eslint'
import { GATEWAY_FLOORS } from './lint/floors.js'
import fedgate from './lint/plugin.js'

const root = import.meta.dirname
const packageJson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))

const TS = ['**/*.ts', '**/*.mts', '**/*.cts']

// no-restricted-imports takes one option list per file, so each area's list is built whole from these pieces.
const ELECTRON = {
  paths: [{ name: 'electron', message: 'Only main/ imports Electron: the gateway runs without it (fedgate serve).' }],
  patterns: [{ group: ['electron/*', '@electron/*'], message: 'Only main/ imports Electron.' }]
}
const NODE_BUILTINS = {
  paths: builtinModules
    .filter((name) => !name.startsWith('_') && !name.startsWith('node:'))
    .map((name) => ({ name, message: 'The renderer runs sandboxed in a browser: no Node modules.' })),
  patterns: [{ group: ['node:*'], message: 'The renderer runs sandboxed in a browser: no Node modules.' }]
}
// The production dependencies are the gateway's Node packages; the renderer's are build-time only.
const GATEWAY_PACKAGES = {
  paths: Object.keys(packageJson.dependencies ?? {}).map((name) => ({
    name,
    message: 'This is one of the gateway’s Node packages; the renderer reaches the gateway through window.fedgate.'
  })),
  patterns: []
}
const RENDERER_REACH = {
  paths: [],
  patterns: [
    {
      regex: '(^|/)gateway/(?!api/contract(\\.ts)?$)',
      message: 'From gateway/ the renderer imports only gateway/api/contract.ts (types and constants).'
    },
    { regex: '^(\\.\\./)+main/', message: 'The renderer talks to window.fedgate, never to main/.' }
  ]
}
const GATEWAY_REACH = {
  paths: [],
  patterns: [{ regex: '^(\\.\\./)+(renderer|main)/', message: 'The gateway depends on neither renderer/ nor main/.' }]
}

/** @param {...{ paths: object[], patterns: object[] }} parts */
function restrictedImports(...parts) {
  return ['error', { paths: parts.flatMap((part) => part.paths), patterns: parts.flatMap((part) => part.patterns) }]
}

export default defineConfig(
  {
    ignores: ['out/', 'dist-web/', 'release/', 'build/', 'test-results/', 'playwright-report/', '.fedgate-data/']
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...vue.configs['flat/essential'],
  {
    languageOptions: { sourceType: 'module', globals: { ...globals.node } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_` marks an argument kept for its position (a handler's signature), and `...rest` drops keys on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }
      ],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      // A value set before a `try` that assigns it again is a readable default, not a lost write; and every control
      // character in our regular expressions is there to strip or find one in untrusted input.
      'no-useless-assignment': 'off',
      'no-control-regex': 'off',
      'no-restricted-imports': restrictedImports(ELECTRON)
    }
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  },
  {
    files: ['**/*.vue'],
    languageOptions: {
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'] },
      globals: { ...globals.browser }
    },
    // vue-tsc checks names; no-undef cannot see the types' globals.
    rules: { 'no-undef': 'off' }
  },
  {
    // Typed rules only where types decide: a promise nobody awaits or catches fails silently. The .vue files
    // stay untyped here (vue-tsc types them) to keep the lint step fast.
    files: TS,
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error'
    }
  },
  {
    // Issue 19's sizes for product code: past them a file or function is doing more than one job.
    files: ['gateway/**', 'main/**', 'renderer/**'],
    rules: {
      'max-lines': ['error', { max: 400 }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }]
    }
  },
  {
    // Tests reach into internals on purpose.
    files: ['tests/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' }
  },
  {
    files: ['main/**', 'tests/unit/main/**'],
    rules: { 'no-restricted-imports': 'off' }
  },
  {
    files: ['renderer/**'],
    languageOptions: { globals: { ...globals.browser } },
    rules: { 'no-restricted-imports': restrictedImports(ELECTRON, NODE_BUILTINS, GATEWAY_PACKAGES, RENDERER_REACH) }
  },
  {
    files: ['gateway/**'],
    plugins: { fedgate },
    rules: {
      'no-restricted-imports': restrictedImports(ELECTRON, GATEWAY_REACH),
      'fedgate/floors': ['error', { root: path.join(root, 'gateway'), floors: GATEWAY_FLOORS, table: 'GATEWAY_FLOORS in lint/floors.js' }]
    }
  },
  prettier
)
