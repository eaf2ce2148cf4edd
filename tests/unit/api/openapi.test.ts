// The OpenAPI 3.1 document: built from the method schemas, it lists every method once with its argument and result,
// the error shape and bearer authentication, and the web console serves it at GET /api/openapi.json.

import http from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openApiDocument } from '../../../gateway/api/openapi.ts'
import { API_METHODS } from '../../../gateway/api/schema/index.ts'
import { startConsoleServer, type ConsoleServer } from '../../../gateway/console/server.ts'
import { startTestGateway, type TestGateway } from '../../support/gateway.ts'

type Json = Record<string, any>

/** Every `$ref` in the document, to check each points at something that exists. */
function refsOf(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) for (const item of node) refsOf(item, found)
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value)
      else refsOf(value, found)
    }
  }
  return found
}

const resolve = (doc: Json, ref: string): unknown =>
  ref
    .replace(/^#\//, '')
    .split('/')
    .reduce<unknown>((at, key) => (at as Json | undefined)?.[key], doc)

describe('openApiDocument()', () => {
  const doc = openApiDocument((method) => method === 'login') as Json

  it('is an OpenAPI 3.1 document with bearer authentication and JSON throughout', () => {
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) })
    expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }))
    expect(doc.security).toEqual([{ bearer: [] }])
    // Survives JSON unchanged: no functions, symbols or undefined inside.
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc)
    for (const ref of refsOf(doc)) expect(resolve(doc, ref), ref).toBeDefined()
  })

  it('has one POST path per method, each with its result and the error shape', () => {
    expect(Object.keys(doc.paths).sort()).toEqual(API_METHODS.map((m) => `/${m}`).sort())
    for (const method of API_METHODS) {
      const path = doc.paths[`/${method}`] as Json
      expect(Object.keys(path), method).toEqual(['post'])
      const op = path.post as Json
      expect(op.operationId).toBe(method)
      const ok = op.responses['200'].content['application/json'].schema
      expect(ok.properties.ok).toEqual({ const: true })
      expect(ok.properties.result, method).toEqual(expect.any(Object))
      expect(op.responses['4XX']).toEqual({ $ref: '#/components/responses/Error' })
    }
    const error = doc.components.responses.Error.content['application/json'].schema
    expect(error.properties.error.properties.code.enum).toContain('invalid')
  })

  it('describes arguments as JSON Schema: required fields, closed objects, no body for methods without one', () => {
    const create = doc.paths['/createOrganization'].post.requestBody
    expect(create.required).toBe(true)
    const schema = create.content['application/json'].schema
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false, required: ['name'] })
    expect(schema.properties.plan.anyOf.map((v: Json) => v.const)).toEqual(['free', 'team', 'enterprise'])
    expect(doc.paths['/whoami'].post.requestBody).toBeUndefined()
    expect(doc.paths['/listUsers'].post.requestBody.required).toBe(false)
    expect(doc.paths['/login'].post.security).toEqual([])
    expect(doc.paths['/whoami'].post.security).toBeUndefined()
  })
})

describe('GET /api/openapi.json', () => {
  let gw: TestGateway
  let server: ConsoleServer

  beforeAll(async () => {
    gw = await startTestGateway()
    server = await startConsoleServer({ services: gw.services, port: 0, staticDir: null, log: { info() {}, warn() {}, error() {} } })
  })

  afterAll(async () => {
    await server?.close()
    await gw?.stop()
  })

  it('serves the document without a session, marking the public methods', async () => {
    const { status, type, body } = await new Promise<{ status: number; type: string; body: string }>((done, fail) => {
      http
        .get(`${server.url}api/openapi.json`, (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => (text += chunk))
          res.on('end', () => done({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: text }))
        })
        .on('error', fail)
    })
    expect(status).toBe(200)
    expect(type).toMatch(/^application\/json/)
    const doc = JSON.parse(body) as Json
    expect(Object.keys(doc.paths)).toHaveLength(API_METHODS.length)
    expect(doc.paths['/login'].post.security).toEqual([])
    expect(doc.paths['/getSetupState'].post.security).toEqual([])
    expect(doc.paths['/createOrganization'].post.security).toBeUndefined()
  })
})
