// Request body bounds (console/body.ts): each method's limit for a caller with and without a session, and the
// budget of bytes all bodies may hold at once, which keeps room for ordinary calls while large uploads arrive.

import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BodyBudget, DEFAULT_BODY_BYTES, UNAUTHENTICATED_BODY_BYTES, bodyLimit } from '../../../gateway/console/body.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

const MiB = 1_048_576
let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway({ env: { Packages__MaxBytes: String(3 * MiB) } })
})

afterAll(async () => {
  await gw?.stop()
})

describe('bodyLimit', () => {
  it('is small without a session, 64 KiB by default, and what a method declares', () => {
    expect(bodyLimit(gw.services, 'login', false)).toBe(UNAUTHENTICATED_BODY_BYTES)
    expect(bodyLimit(gw.services, 'uploadDataPackage', false)).toBe(UNAUTHENTICATED_BODY_BYTES)
    expect(bodyLimit(gw.services, 'createOrganization', true)).toBe(DEFAULT_BODY_BYTES)
    expect(bodyLimit(gw.services, 'setTeamGrants', true)).toBe(MiB)
    // A 3 MiB package as base64 is 4 MiB, plus room for its name and the JSON around it.
    expect(bodyLimit(gw.services, 'uploadDataPackage', true)).toBe(4 * MiB + 64 * 1024)
  })
})

describe('BodyBudget', () => {
  it('lets two of the largest bodies in at once, keeps its reserve for ordinary calls, and gives bytes back once', () => {
    const budget = BodyBudget.forMethods(gw.services)
    const large = bodyLimit(gw.services, 'uploadDataPackage', true)
    const first = budget.reserve(large)
    const second = budget.reserve(large)
    expect(first).not.toBeNull()
    expect(second).not.toBeNull()
    expect(budget.reserve(large)).toBeNull()
    expect(budget.reserve(2 * DEFAULT_BODY_BYTES)).toBeNull()
    // Ordinary calls still fit: 8 MiB of them.
    const small = Array.from({ length: 128 }, () => budget.reserve(DEFAULT_BODY_BYTES))
    expect(small.every((r) => r !== null)).toBe(true)
    expect(budget.reserve(DEFAULT_BODY_BYTES)).toBeNull()
    for (const release of small) release!()
    first!()
    first!()
    expect(budget.reserve(large)).not.toBeNull()
    expect(budget.reserve(large)).toBeNull()
  })
})
