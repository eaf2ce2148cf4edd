// Child of the store kill -9 loop (tests/unit/store/kill-loop.ts): opens the store and acknowledges writes as fast
// as it can, several in flight at once, printing each counter only after its `await update()` resolved.
// argv: <store module URL> <data dir> <tag>. stdout to a pipe is synchronous on Linux, so a printed ack survives SIGKILL.

const [storeUrl, dir, tag] = process.argv.slice(2)
const { Store } = await import(storeUrl)
const store = await Store.open({ dir, debounceMs: 2 })
process.stdout.write('open\n')

// Earlier iterations were already checked by the parent: drop their records so the file stays small.
await store.update((doc) => {
  doc.organizations = doc.organizations.filter((o) => o.id.startsWith(`${tag}-`))
})

let next = 0
async function writer() {
  for (;;) {
    const counter = next++
    await store.update((doc) => {
      doc.organizations.push({
        id: `${tag}-${counter}`,
        name: `write ${counter}`,
        plan: 'team',
        tokenLimit: 1,
        createdAt: new Date().toISOString()
      })
    })
    process.stdout.write(`ack ${counter}\n`)
  }
}
for (let i = 0; i < 4; i++) void writer()
