// The bytes a stream framer holds between chunks. Appending grows the buffer geometrically, so a frame that arrives
// in many small pieces (one byte per TLS record) costs copying in proportion to its size, not to its size squared.

export class ByteAccumulator {
  private buffer: Buffer = Buffer.alloc(0)
  private length = 0
  /** False while `buffer` is a chunk we were handed: it is never written to, only replaced. */
  private owned = false

  /** `limit`: what the framer may hold; growth stops doubling there, so a held frame costs at most about that much. */
  constructor(private readonly limit: number) {}

  append(chunk: Buffer): void {
    if (this.length === 0) {
      // The common case, a chunk holding whole frames, costs no copy.
      this.buffer = chunk
      this.length = chunk.length
      this.owned = false
      return
    }
    const needed = this.length + chunk.length
    if (!this.owned || needed > this.buffer.length) {
      const grown = Math.max(needed, Math.min(this.buffer.length * 2, this.limit))
      const next = Buffer.allocUnsafe(grown)
      this.buffer.copy(next, 0, 0, this.length)
      this.buffer = next
      this.owned = true
    }
    chunk.copy(this.buffer, this.length)
    this.length = needed
  }

  /** The held bytes. A view: valid until the next consume(); appending never writes over it. */
  get bytes(): Buffer {
    return this.buffer.subarray(0, this.length)
  }

  get size(): number {
    return this.length
  }

  /**
   * Drop the first `count` bytes. The rest moves to a new buffer (the old one is never written again), so frames
   * handed out as views keep their bytes and do not pin more than their own chunk.
   */
  consume(count: number): void {
    if (count === 0) return
    const rest = this.buffer.subarray(count, this.length)
    this.buffer = rest.length === 0 ? Buffer.alloc(0) : Buffer.from(rest)
    this.length = rest.length
    this.owned = true
  }

  /** Everything held, and empty afterwards. */
  take(): Buffer {
    const all = this.bytes
    this.buffer = Buffer.alloc(0)
    this.length = 0
    this.owned = false
    return all
  }
}
