// withInboundEventLimit (gateway/federation/tak/proto.ts): a peer's FederatedEvent over the limit is not decoded, on
// every method a peer's event arrives by (both roles, and SendOneEvent); the limit is read per event; nothing else changes.

import { describe, expect, it } from 'vitest'
import {
  isOversize,
  loadFigService,
  withInboundEventLimit,
  type FederatedEventMessage,
  type OversizeEvent
} from '../../../../gateway/federation/tak/proto.ts'

describe('withInboundEventLimit', () => {
  const base = loadFigService()
  const event = (remarks: number): FederatedEventMessage =>
    ({
      event: {
        uid: 'u-1',
        type: 'a-f-G',
        sendTime: 1,
        startTime: 1,
        staleTime: 2,
        lat: 1,
        lon: 2,
        hae: 0,
        ce: 9,
        le: 9,
        how: 'm-g',
        other: `<detail><remarks>${'r'.repeat(remarks)}</remarks></detail>`
      }
    }) as unknown as FederatedEventMessage

  it('hands over small events decoded and big ones as their size only, on each inbound side', () => {
    let limit = 10_000
    const limited = withInboundEventLimit(base, () => limit)
    const small = base.encodeEvent(event(100))
    const big = base.encodeEvent(event(20_000))
    const inbound = [
      limited.definition.ClientEventStream!.responseDeserialize,
      limited.definition.ServerEventStream!.requestDeserialize,
      limited.definition.SendOneEvent!.requestDeserialize
    ] as ((bytes: Buffer) => FederatedEventMessage | OversizeEvent)[]
    for (const deserialize of inbound) {
      const decoded = deserialize(small)
      expect(isOversize(decoded)).toBe(false)
      expect((decoded as FederatedEventMessage).event?.uid).toBe('u-1')
      expect(deserialize(big)).toEqual({ oversizeBytes: big.length })
    }
    limit = 100_000
    expect(isOversize(inbound[0]!(big))).toBe(false)
  })

  it('leaves the outbound side, the paths and the other methods as they were', () => {
    const limited = withInboundEventLimit(base, () => 1)
    const bytes = base.encodeEvent(event(10))
    expect(limited.definition.ServerEventStream!.requestSerialize(bytes)).toBe(bytes)
    for (const [name, method] of Object.entries(base.definition)) {
      expect(limited.definition[name]!.path).toBe(method.path)
      if (!['ClientEventStream', 'ServerEventStream', 'SendOneEvent'].includes(name)) expect(limited.definition[name]).toBe(method)
    }
    // The dialing side's client reads peers' events through the limited deserializers too.
    expect(limited.Client.service).toBe(limited.definition)
    expect(limited.Client.service.ClientEventStream!.responseDeserialize).not.toBe(base.definition.ClientEventStream!.responseDeserialize)
  })
})
