// The OpenAPI 3.1 document of the HTTP transport, for people who automate Fedgate: one POST path per method, built
// from the same schemas dispatch() checks, so it cannot drift from what the gateway accepts and answers.

import type { TSchema } from '@sinclair/typebox'
import { Kind, OptionalKind } from '@sinclair/typebox'
import { ERROR_CODES } from './vocabulary.ts'
import { METHODS, type ApiMethod } from './schema/index.ts'

/** Version of the contract as the document states it (info.version). */
export const CONTRACT_VERSION = '1'

/** The schema as plain JSON Schema: TypeBox's symbol-keyed metadata does not survive JSON. */
const jsonSchema = (schema: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(schema)) as Record<string, unknown>

const ERROR_RESPONSE = {
  description: 'Refused or failed: `code` for machines, `message` a sentence for an operator.',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        additionalProperties: false,
        required: ['ok', 'error'],
        properties: {
          ok: { const: false },
          error: {
            type: 'object',
            additionalProperties: false,
            required: ['code', 'message'],
            properties: { code: { type: 'string', enum: [...ERROR_CODES] }, message: { type: 'string' } }
          }
        }
      }
    }
  }
}

function operation(method: ApiMethod, isPublic: boolean): Record<string, unknown> {
  const { args, result, summary } = METHODS[method] as { args: TSchema; result: TSchema; summary?: string }
  const takesNone = args[Kind] === 'Undefined'
  return {
    operationId: method,
    ...(summary ? { summary } : {}),
    ...(isPublic ? { security: [] } : {}),
    ...(takesNone
      ? {}
      : { requestBody: { required: args[OptionalKind] !== 'Optional', content: { 'application/json': { schema: jsonSchema(args) } } } }),
    responses: {
      '200': {
        description: 'Done.',
        content: {
          'application/json': {
            schema: {
              type: 'object',
              additionalProperties: false,
              required: ['ok', 'result'],
              properties: { ok: { const: true }, result: jsonSchema(result) }
            }
          }
        }
      },
      '4XX': { $ref: '#/components/responses/Error' },
      '5XX': { $ref: '#/components/responses/Error' }
    }
  }
}

/**
 * The whole document. `isPublic` says which methods need no session (login, setup): the rule lives with the
 * handlers, above this floor.
 */
export function openApiDocument(isPublic: (method: ApiMethod) => boolean = () => false): Record<string, unknown> {
  const paths: Record<string, unknown> = {}
  for (const method of Object.keys(METHODS) as ApiMethod[]) paths[`/${method}`] = { post: operation(method, isPublic(method)) }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Fedgate console API',
      version: CONTRACT_VERSION,
      description:
        'Every method is `POST /api/<method>` with its JSON argument as the body. Sign in with `login` and send ' +
        '`Authorization: Bearer <token>` on every other call. Text arguments are trimmed before they are checked ' +
        '(except where a schema says `x-trim: false`). Events: `GET /api/events` (Server-Sent Events).'
    },
    servers: [{ url: '/api' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The token `login` returns.' } },
      responses: { Error: ERROR_RESPONSE }
    }
  }
}
