// The store kill -9 loop (issue 7, hardening 8), shared by the test and scripts/store-kill-loop.ts: a child process
// acknowledges writes as fast as it can, we SIGKILL it at a random moment, reopen the store and check that it opens
// cleanly and holds every write the child acknowledged.
//
// Children run plain JavaScript: the store's TypeScript (store.ts and what it imports) is transpiled once with
// TypeScript's own transpiler, which only strips types, as tsx does. That makes a child start in ~50 ms instead of
// ~250 ms with the tsx loader, so hundreds of iterations fit in seconds.

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import ts from 'typescript'
import { Store } from '../../../gateway/store/store.ts'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const REPO = path.resolve(HERE, '../../..')
const CHILD = path.join(HERE, 'kill-child.mjs')

export interface KillLoopOptions {
  iterations: number
  /** Independent data directories run side by side. Default 2. */
  lanes?: number
  /** Longest wait after the child opened the store before the kill, in ms. Default 40. */
  maxWritingMs?: number
  /** Share of kills aimed at a random moment from spawn (start-up, lock, open, backup) instead of while writing. */
  earlyKillShare?: number
  progress?: (line: string) => void
  /** Test of the test: rewrite the transpiled store (e.g. acknowledge before writing) to show the loop catches it. */
  sabotage?: (file: string, js: string) => string
}

export interface KillLoopReport {
  iterations: number
  /** Acknowledged writes checked after the kills. */
  acknowledged: number
  /** Iterations in which the child had acknowledged at least one write before it died. */
  iterationsWithAcks: number
  killedBeforeOpen: number
  maxAcksInOneIteration: number
  elapsedMs: number
}

export class KillLoopFailure extends Error {}

/** Transpile the store and its relative imports into a directory under node_modules (so `lowdb` resolves). */
export async function buildStoreForChildren(
  sabotage?: KillLoopOptions['sabotage']
): Promise<{ storeUrl: string; dispose(): Promise<void> }> {
  const cache = path.join(REPO, 'node_modules', '.cache')
  await fsp.mkdir(cache, { recursive: true })
  const outRoot = await fsp.mkdtemp(path.join(cache, 'fedgate-kill-loop-'))
  const pending = [path.join(REPO, 'gateway/store/store.ts')]
  const done = new Set<string>()
  while (pending.length > 0) {
    const source = pending.pop()!
    if (done.has(source)) continue
    done.add(source)
    const { outputText } = ts.transpileModule(await fsp.readFile(source, 'utf8'), {
      fileName: source,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2023,
        rewriteRelativeImportExtensions: true,
        isolatedModules: true
      }
    })
    const out = path.join(outRoot, path.relative(REPO, source)).replace(/\.ts$/, '.js')
    await fsp.mkdir(path.dirname(out), { recursive: true })
    await fsp.writeFile(out, sabotage ? sabotage(path.relative(REPO, source), outputText) : outputText)
    for (const match of outputText.matchAll(/(?:from|import)\s*\(?\s*['"](\.\.?\/[^'"]+)\.js['"]/g)) {
      pending.push(path.resolve(path.dirname(source), `${match[1]}.ts`))
    }
  }
  return {
    storeUrl: pathToFileURL(path.join(outRoot, 'gateway/store/store.js')).href,
    dispose: () => fsp.rm(outRoot, { recursive: true, force: true })
  }
}

interface IterationResult {
  acked: number[]
  opened: boolean
}

/** One iteration: spawn, kill at a random moment, collect what the child acknowledged. */
function runChildUntilKilled(
  storeUrl: string,
  dir: string,
  tag: string,
  options: Required<Pick<KillLoopOptions, 'maxWritingMs' | 'earlyKillShare'>>
): Promise<IterationResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, storeUrl, dir, tag], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let killTimer: NodeJS.Timeout | null = null
    let killed = false
    const kill = (): void => {
      killed = true
      child.kill('SIGKILL')
    }
    if (Math.random() < options.earlyKillShare) killTimer = setTimeout(kill, Math.random() * 150)
    child.stdout.on('data', (chunk: Buffer) => {
      const first = !stdout.includes('open\n')
      stdout += chunk.toString()
      if (first && stdout.includes('open\n') && !killTimer) killTimer = setTimeout(kill, Math.random() * options.maxWritingMs)
    })
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    let exited = false
    let closed = false
    const finish = (): void => {
      if (!exited || !closed) return
      if (killTimer) clearTimeout(killTimer)
      if (!killed) {
        reject(new KillLoopFailure(`The child stopped by itself before it was killed: ${stderr.trim() || stdout.trim()}`))
        return
      }
      const acked = [...stdout.matchAll(/^ack (\d+)$/gm)].map((m) => Number(m[1]))
      resolve({ acked, opened: stdout.includes('open\n') })
    }
    // 'close' guarantees every byte the child wrote to the pipe before dying has been read.
    child.on('exit', () => ((exited = true), finish()))
    child.stdout.on('close', () => ((closed = true), finish()))
    child.on('error', reject)
  })
}

async function runLane(
  lane: number,
  iterations: number,
  storeUrl: string,
  options: KillLoopOptions,
  report: KillLoopReport,
  stopped: () => boolean
): Promise<void> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), `fedgate-kill-${lane}-`))
  try {
    for (let i = 0; i < iterations && !stopped(); i++) {
      const tag = `k${lane}x${i}`
      const result = await runChildUntilKilled(storeUrl, dir, tag, {
        maxWritingMs: options.maxWritingMs ?? 40,
        earlyKillShare: options.earlyKillShare ?? 0.2
      })
      let store: Store
      try {
        store = await Store.open({ dir })
      } catch (err) {
        throw new KillLoopFailure(`Iteration ${tag}: the store did not open after the kill: ${(err as Error).message}`)
      }
      try {
        if (store.recovery) throw new KillLoopFailure(`Iteration ${tag}: the store needed recovery after a kill: ${store.recovery.message}`)
        const present = new Set(store.data.organizations.map((o) => o.id))
        const lost = result.acked.filter((n) => !present.has(`${tag}-${n}`))
        if (lost.length > 0)
          throw new KillLoopFailure(
            `Iteration ${tag}: ${lost.length} acknowledged write(s) missing after kill -9 (e.g. ${lost.slice(0, 5).join(', ')})`
          )
      } finally {
        await store.close()
      }
      const leftovers = fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))
      if (leftovers.length > 0) throw new KillLoopFailure(`Iteration ${tag}: temp files left after reopening: ${leftovers.join(', ')}`)
      report.iterations++
      report.acknowledged += result.acked.length
      if (result.acked.length > 0) report.iterationsWithAcks++
      if (!result.opened) report.killedBeforeOpen++
      report.maxAcksInOneIteration = Math.max(report.maxAcksInOneIteration, result.acked.length)
      if (report.iterations % 50 === 0)
        options.progress?.(`${report.iterations} iterations, ${report.acknowledged} acknowledged writes checked`)
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true })
  }
}

export async function runKillLoop(options: KillLoopOptions): Promise<KillLoopReport> {
  const started = Date.now()
  const lanes = Math.max(1, options.lanes ?? 2)
  const build = await buildStoreForChildren(options.sabotage)
  const report: KillLoopReport = {
    iterations: 0,
    acknowledged: 0,
    iterationsWithAcks: 0,
    killedBeforeOpen: 0,
    maxAcksInOneIteration: 0,
    elapsedMs: 0
  }
  try {
    const perLane = Array.from(
      { length: lanes },
      (_, lane) => Math.floor(options.iterations / lanes) + (lane < options.iterations % lanes ? 1 : 0)
    )
    let failed = false
    const results = await Promise.allSettled(
      perLane.map((count, lane) =>
        runLane(lane, count, build.storeUrl, options, report, () => failed).catch((err: unknown) => {
          failed = true
          throw err
        })
      )
    )
    for (const result of results) if (result.status === 'rejected') throw result.reason
  } finally {
    await build.dispose()
  }
  report.elapsedMs = Date.now() - started
  return report
}
