// A failed dial as the peer row shows it: plain words first, the system's code and address kept in parentheses.

import { describe as suite, expect, it } from 'vitest'
import { describe } from '../../../../gateway/federation/tak/client.ts'

const grpcUnavailable = (inner: string) => ({
  code: 14,
  message: `14 UNAVAILABLE: No connection established. Last error: ${inner}`,
  details: `No connection established. Last error: ${inner} (2026-11-27T06:40:00.000Z). Resolution note: `
})

suite('describe (dial failures)', () => {
  it('refused, timed out, unknown name, unreachable: said plainly, code and address kept', () => {
    expect(describe(grpcUnavailable('Error: connect ECONNREFUSED 127.0.0.1:9001'))).toBe(
      'Nothing accepts connections at that address and port: is the TAK Server running, and its federation port open? (ECONNREFUSED 127.0.0.1:9001)'
    )
    expect(describe(grpcUnavailable('Error: getaddrinfo ENOTFOUND hq.example.invalid'))).toMatch(
      /^That host name does not resolve.*\(ENOTFOUND\)$/
    )
    expect(describe(grpcUnavailable('Error: connect EHOSTUNREACH 10.9.9.9:9001'))).toMatch(
      /cannot be reached.*\(EHOSTUNREACH 10\.9\.9\.9:9001\)$/
    )
    expect(describe(grpcUnavailable('Error: connect ETIMEDOUT 10.1.1.1:9001'))).toMatch(/^No answer .*\(ETIMEDOUT 10\.1\.1\.1:9001\)$/)
  })

  it('a remote that refused our certificate: what its admin must add', () => {
    const raw =
      '805CAC09B47F0000:error:0A000418:SSL routines:ssl3_read_bytes:sslv3 alert certificate unknown:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 46\n'
    expect(describe(grpcUnavailable(raw))).toBe(
      'The TAK Server refused our certificate (sslv3 alert certificate unknown): has its admin put our CA (ca.pem, External TAK Servers tab) in its federation truststore?'
    )
  })

  it("an error of our own or one without plain words comes out of grpc-js's wrapping whole", () => {
    const ours =
      'The TAK Server at 10.0.0.5:9001 presented certificate AA:BB, not the registered CC:DD. Check the fingerprint registered for this peer.'
    expect(describe(grpcUnavailable(`Error: ${ours}`))).toBe(ours)
    expect(describe(grpcUnavailable('Failed to connect'))).toBe('Failed to connect')
  })

  it('anything else stays as the remote or grpc-js said it', () => {
    expect(describe({ code: 7, message: '7 PERMISSION_DENIED: not allowed', details: 'Certificate fingerprint is not registered' })).toBe(
      'Certificate fingerprint is not registered'
    )
    expect(describe({ code: 2, message: '', details: '' })).toBe('gRPC status 2')
  })
})
