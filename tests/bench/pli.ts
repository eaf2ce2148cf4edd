// ATAK-like position reports (~660 bytes) for the benchmark, carrying a fixed-width `<bench>` element with the source
// index, a sequence number and the send time, so receivers can read them with a byte search instead of a parse.

const MARKER = Buffer.from('<bench src="')
const SRC_DIGITS = 6
const SEQ_DIGITS = 10
const TIME_DIGITS = 13
const SEQ_OFFSET = MARKER.length + SRC_DIGITS + '" seq="'.length
const TIME_OFFSET = SEQ_OFFSET + SEQ_DIGITS + '" t="'.length
/** Bytes from the marker's start to the end of the send-time digits. */
export const BENCH_ELEMENT_BYTES = TIME_OFFSET + TIME_DIGITS + '"/>'.length

const pad = (value: number, digits: number): string => String(Math.floor(value)).padStart(digits, '0')

export function benchCallsign(source: number): string {
  return `BENCH-${pad(source, 5)}`
}

/**
 * One PLI as TAK devices send it: contact with endpoint (a position report), takv, group, status, track, and our marker.
 * `sentMicros` is the load generator's monotonic clock; the event times are wall-clock like ATAK's.
 */
export function pliBytes(source: number, seq: number, sentMicros: number, nowMs = Date.now()): Buffer {
  const callsign = benchCallsign(source)
  const time = new Date(nowMs).toISOString()
  const stale = new Date(nowMs + 75_000).toISOString()
  const lat = (48.8 + (source % 100) * 0.001 + (seq % 60) * 0.00001).toFixed(7)
  const lon = (2.3 + Math.floor(source / 100) * 0.001).toFixed(7)
  return Buffer.from(
    `<event version="2.0" uid="ANDROID-${pad(source, 6)}f1e2d3c4" type="a-f-G-U-C" time="${time}" start="${time}" stale="${stale}" how="h-e">` +
      `<point lat="${lat}" lon="${lon}" hae="35.214" ce="9.9" le="9999999.0"/>` +
      '<detail><takv os="34" version="5.2.0.10 (1f8d3e0a).1726836291-CIV" device="SAMSUNG SM-S918U1" platform="ATAK-CIV"/>' +
      `<contact endpoint="*:-1:stcp" callsign="${callsign}"/><uid Droid="${callsign}"/>` +
      '<precisionlocation altsrc="GPS" geopointsrc="GPS"/><__group role="Team Member" name="Cyan"/><status battery="87"/>' +
      `<track course="${((seq * 7) % 360).toFixed(2)}" speed="1.25"/>` +
      `<bench src="${pad(source, SRC_DIGITS)}" seq="${pad(seq, SEQ_DIGITS)}" t="${pad(sentMicros, TIME_DIGITS)}"/>` +
      '</detail></event>'
  )
}

function digitsAt(buffer: Buffer, at: number, count: number): number {
  let value = 0
  for (let i = at; i < at + count; i++) value = value * 10 + (buffer[i]! - 0x30)
  return value
}

export interface BenchMark {
  source: number
  seq: number
  sentMicros: number
}

/**
 * Reads the `<bench>` markers of a received byte stream chunk by chunk. A marker may straddle two chunks: the last
 * bytes of the previous chunk are kept and searched together with the start of the next one.
 */
export class MarkerReader {
  private carry: Buffer = Buffer.alloc(0)

  push(chunk: Buffer, onMark: (source: number, seq: number, sentMicros: number) => void): void {
    let data = chunk
    if (this.carry.length > 0) {
      if (chunk.length < BENCH_ELEMENT_BYTES) {
        data = Buffer.concat([this.carry, chunk])
      } else {
        // The carry holds only markers that were incomplete; with the next chunk's first bytes each is complete now.
        const joined = Buffer.concat([this.carry, chunk.subarray(0, BENCH_ELEMENT_BYTES)])
        for (let at = joined.indexOf(MARKER); at !== -1 && at < this.carry.length; at = joined.indexOf(MARKER, at + 1))
          this.read(joined, at, onMark)
      }
    }
    const lastWhole = data.length - BENCH_ELEMENT_BYTES
    for (let at = data.indexOf(MARKER); at !== -1 && at <= lastWhole; at = data.indexOf(MARKER, at + BENCH_ELEMENT_BYTES))
      this.read(data, at, onMark)
    this.carry = Buffer.from(data.subarray(Math.max(0, lastWhole + 1)))
  }

  private read(buffer: Buffer, at: number, onMark: (source: number, seq: number, sentMicros: number) => void): void {
    onMark(
      digitsAt(buffer, at + MARKER.length, SRC_DIGITS),
      digitsAt(buffer, at + SEQ_OFFSET, SEQ_DIGITS),
      digitsAt(buffer, at + TIME_OFFSET, TIME_DIGITS)
    )
  }
}

/** Throws when the marker reader misses, repeats or misreads a PLI in a stream cut at awkward sizes (run before each benchmark). */
export function checkMarkerReader(): void {
  const events = Array.from({ length: 40 }, (_, i) => pliBytes(i % 7, i, 1_000_000 + i))
  const stream = Buffer.concat(events)
  for (const size of [1, 3, 61, 77, events[0]!.length, 1000, 16_384]) {
    const reader = new MarkerReader()
    const seen: number[] = []
    for (let at = 0; at < stream.length; at += size) {
      reader.push(stream.subarray(at, at + size), (source, seq, sent) => {
        if (source !== seq % 7 || sent !== 1_000_000 + seq)
          throw new Error(`The PLI marker reader misread event ${seq} (chunks of ${size})`)
        seen.push(seq)
      })
    }
    if (seen.length !== events.length || seen.some((seq, i) => seq !== i))
      throw new Error(`The PLI marker reader lost or repeated events (chunks of ${size})`)
  }
}
