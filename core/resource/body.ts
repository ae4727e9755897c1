import { invalidParameters } from '../errors.ts';
import type { JsonObject } from '../filters/ast.ts';
import { isPlainObject, type ResourceCall } from './call.ts';

export interface WriteBody {
  data?: JsonObject;
  /** Requested ACEs; `null` values mean "remove" in merge-patch and are ignored otherwise. */
  permissions?: Record<string, string[] | null>;
}

/** Validates `{"data": {...}, "permissions": {...}}`, the only shape Kinto accepts for writes. */
export function readWriteBody(call: ResourceCall): WriteBody {
  const body = call.body ?? {};
  if (!isPlainObject(body)) throw invalidParameters('body', null, 'Should be a JSON object');
  const unknown = Object.keys(body).filter((k) => k !== 'data' && k !== 'permissions');
  if (unknown.length) {
    throw invalidParameters('body', unknown[0], `Unrecognized keys in mapping: ${unknown.map((k) => `'${k}'`).join(', ')}`);
  }
  const result: WriteBody = {};
  if (body.data !== undefined) {
    if (!isPlainObject(body.data)) throw invalidParameters('body', 'data', `${JSON.stringify(body.data)} is not a mapping type`);
    result.data = body.data;
  }
  if (body.permissions !== undefined) result.permissions = readPermissions(body.permissions, call.definition.permissions);
  return result;
}

function readPermissions(raw: unknown, allowed: readonly string[]): Record<string, string[] | null> {
  if (!isPlainObject(raw)) throw invalidParameters('body', 'permissions', 'Should be a mapping of permission lists');
  const result: Record<string, string[] | null> = {};
  for (const [perm, principals] of Object.entries(raw)) {
    if (!allowed.includes(perm)) {
      throw invalidParameters('body', `permissions.${perm}`, `Unrecognized keys in mapping: '${perm}'`);
    }
    if (principals === null) {
      result[perm] = null;
      continue;
    }
    if (!Array.isArray(principals) || principals.some((p) => typeof p !== 'string')) {
      throw invalidParameters('body', `permissions.${perm}`, 'Should be a list of principals');
    }
    result[perm] = [...new Set(principals as string[])];
  }
  return result;
}
