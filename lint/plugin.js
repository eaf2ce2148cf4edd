// @ts-check
// Fedgate's own lint rule: `fedgate/floors` refuses an import that runs up a floor of gateway/ (lint/floors.js).
// It resolves relative specifiers against the importing file, so it reads the same from any depth of folder.

import path from 'node:path'

/**
 * Where a module sits: the index of its floor and the entry that placed it, or null when no entry contains it.
 * @param {string[][]} floors
 * @param {string} relative module path under the root, '/'-separated, without extension
 * @returns {{ floor: number, entry: string } | null}
 */
export function floorOf(floors, relative) {
  /** @type {{ floor: number, entry: string } | null} */
  let best = null
  floors.forEach((entries, floor) => {
    for (const entry of entries) {
      const contains = relative === entry || relative.startsWith(`${entry}/`)
      if (contains && (!best || entry.length > best.entry.length)) best = { floor, entry }
    }
  })
  return best
}

/** @param {string} root @param {string} file @returns {string | null} '/'-separated and extensionless, null outside root */
function underRoot(root, file) {
  const relative = path.relative(root, file)
  if (relative.startsWith('..') || path.isAbsolute(relative)) return null
  return relative
    .split(path.sep)
    .join('/')
    .replace(/\.[cm]?[jt]s$/, '')
}

/**
 * Type-only imports and exports vanish from the emitted JavaScript, so they cannot make a module load another one
 * and may name types from any floor (a handler's Services type, a DTO of the contract).
 * @param {any} node
 */
function isTypeOnly(node) {
  if (node.importKind === 'type' || node.exportKind === 'type') return true
  const specifiers = node.specifiers ?? []
  if (specifiers.length === 0) return false
  return specifiers.every((/** @type {any} */ s) => s.importKind === 'type' || s.exportKind === 'type')
}

/** @type {import('eslint').Rule.RuleModule} */
const floorsRule = {
  meta: {
    type: 'problem',
    docs: { description: 'A module imports only from its own floor or lower ones (type-only imports excepted)' },
    schema: [
      {
        type: 'object',
        properties: {
          root: { type: 'string' },
          floors: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
          table: { type: 'string' }
        },
        required: ['root', 'floors'],
        additionalProperties: false
      }
    ],
    messages: {
      upward:
        "'{{specifier}}' is on floor {{targetFloor}} ({{target}}), above this module's floor {{floor}} ({{entry}}): " +
        'import only downward; move what both need to a lower floor, or take it as an argument.',
      unplaced: "'{{module}}' is on no floor: add its folder to {{table}}."
    }
  },
  create(context) {
    const { root, floors, table = 'the floor table' } = context.options[0]
    const self = underRoot(root, context.filename)
    if (self === null) return {}
    const own = floorOf(floors, self)

    /** @param {any} node @param {any} source */
    function check(node, source) {
      if (!own || !source || typeof source.value !== 'string' || !source.value.startsWith('.')) return
      if (isTypeOnly(node)) return
      const specifier = source.value
      const target = underRoot(root, path.resolve(path.dirname(context.filename), specifier.split('?')[0]))
      if (target === null) return
      // A module left off the table is reported where it lives, not at every import of it.
      const placed = floorOf(floors, target)
      if (!placed || placed.floor <= own.floor) return
      context.report({
        node: source,
        messageId: 'upward',
        data: {
          specifier,
          targetFloor: String(placed.floor),
          target: placed.entry,
          floor: String(own.floor),
          entry: own.entry
        }
      })
    }

    return {
      Program(node) {
        if (!own) context.report({ node, loc: { line: 1, column: 0 }, messageId: 'unplaced', data: { module: self, table } })
      },
      ImportDeclaration: (node) => check(node, node.source),
      ExportNamedDeclaration: (node) => check(node, node.source),
      ExportAllDeclaration: (node) => check(node, node.source),
      ImportExpression: (node) => check(node, node.source)
    }
  }
}

export default {
  meta: { name: 'fedgate' },
  rules: { floors: floorsRule }
}
