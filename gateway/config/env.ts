// Environment overrides in the .NET style (`Federation__AdvertisedHostname=…`) over appsettings.json. Every variable
// whose Section is one of ours is ours: a misspelt key is refused like an unknown file key, not silently ignored.

/** The settings being built, section by section (defaults merged with the file). */
type SettingsTree = Record<string, Record<string, unknown>>

/**
 * Applies every `Section__Key` variable of a known Section to `settings`, adding a sentence to `problems` for a bad
 * value or an unknown key. Names match without regard to case, as .NET's configuration does (and Windows' environment).
 */
export function applyEnvOverrides(settings: SettingsTree, env: NodeJS.ProcessEnv, problems: string[]): void {
  const sections = new Map(Object.keys(settings).map((section) => [section.toLowerCase(), section]))
  /** `Section:Key` → the variable that set it, to refuse two spellings of one setting. */
  const setBy = new Map<string, string>()
  for (const [name, raw] of Object.entries(env)) {
    const split = name.indexOf('__')
    if (raw === undefined || split <= 0) continue
    const section = sections.get(name.slice(0, split).toLowerCase())
    if (section === undefined) continue
    const values = settings[section] as Record<string, unknown>
    const wanted = name.slice(split + 2)
    const key = Object.keys(values).find((k) => k.toLowerCase() === wanted.toLowerCase())
    if (key === undefined) {
      problems.push(unknownKey(name, section, wanted, Object.keys(values)))
      continue
    }
    const earlier = setBy.get(`${section}:${key}`)
    if (earlier !== undefined) {
      problems.push(`${earlier} and ${name} both set ${section}:${key}; keep one of them`)
      continue
    }
    setBy.set(`${section}:${key}`, name)
    const problem = assign(values, key, raw)
    if (problem) problems.push(`environment ${name}='${raw}' ${problem}`)
  }
}

/** Stores `raw` as the type the default has; returns what is wrong with it, or null. */
function assign(values: Record<string, unknown>, key: string, raw: string): string | null {
  const current = values[key]
  if (typeof current === 'number') {
    const n = Number(raw)
    if (raw.trim() === '' || !Number.isFinite(n)) return 'is not a number'
    values[key] = n
  } else if (Array.isArray(current)) {
    values[key] = raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  } else {
    values[key] = raw
  }
  return null
}

function unknownKey(name: string, section: string, wanted: string, keys: string[]): string {
  const match = closestKey(wanted, keys)
  if (match !== null) return `${name} is not a setting; did you mean ${section}__${match}?`
  return `${name} is not a setting; ${section} has ${keys.map((k) => `${section}__${k}`).join(', ')}`
}

/**
 * The key an operator most likely meant: one that contains what they wrote or is contained in it (`Hostname` →
 * `AdvertisedHostname`), else one a few typing slips away (`Prot` → `Port`); null when nothing is close.
 */
export function closestKey(wanted: string, keys: string[]): string | null {
  const w = wanted.toLowerCase()
  // Past any real key's length, nothing is close (and the distance table stays small).
  if (w.length > 64) return null
  let best: string | null = null
  let bestScore = Number.POSITIVE_INFINITY
  for (const key of keys) {
    const k = key.toLowerCase()
    const contains = Math.min(w.length, k.length) >= 4 && (k.includes(w) || w.includes(k))
    const distance = editDistance(w, k)
    const close = contains || distance <= Math.max(2, Math.floor(Math.max(w.length, k.length) / 4))
    const score = contains ? 0 : distance
    if (close && score < bestScore) {
      best = key
      bestScore = score
    }
  }
  return best
}

/** Levenshtein distance; both names are short setting keys, so the quadratic table is tiny. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = row
  }
  return previous[b.length]!
}
