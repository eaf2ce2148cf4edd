#!/usr/bin/env node
// The `fedgate` command: runs gateway/cli.ts straight from TypeScript through tsx (a production dependency),
// so `fedgate serve` needs no build step besides the web console.

import { register } from 'tsx/esm/api'

const unregister = register()
const { runCli } = await import('../gateway/cli.ts')
const code = await runCli(process.argv.slice(2))
process.exitCode = code
// tsx's loader keeps a message port open; release it so the process ends on its own.
await unregister()
// Everything is closed by now; should a stray handle remain, do not hang the operator's shell or service manager.
setTimeout(() => process.exit(code), 3000).unref()
