// Runs the store kill -9 loop by hand, for longer than the test does:
//   node --import tsx scripts/store-kill-loop.ts [--iterations 2000] [--lanes 2] [--max-writing-ms 40]
// Exits 1 with the failing iteration if the store ever fails to open or loses an acknowledged write.

import { parseArgs } from 'node:util'
import { runKillLoop } from '../tests/unit/store/kill-loop.ts'

const { values } = parseArgs({
  options: {
    iterations: { type: 'string', default: '2000' },
    lanes: { type: 'string', default: '2' },
    'max-writing-ms': { type: 'string', default: '40' }
  }
})

const iterations = Number(values.iterations)
const lanes = Number(values.lanes)
const maxWritingMs = Number(values['max-writing-ms'])
if (![iterations, lanes, maxWritingMs].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('--iterations, --lanes and --max-writing-ms take whole numbers above 0')
  process.exit(2)
}

try {
  const report = await runKillLoop({ iterations, lanes, maxWritingMs, progress: (line) => console.log(line) })
  console.log(
    `OK: ${report.iterations} kill -9s, ${report.acknowledged} acknowledged writes all present, ` +
      `${report.killedBeforeOpen} kills before the store was open, ${(report.elapsedMs / 1000).toFixed(1)} s`
  )
  console.log(JSON.stringify(report))
} catch (err) {
  console.error(`FAILED: ${(err as Error).message}`)
  process.exit(1)
}
