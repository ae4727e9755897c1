/**
 * Kinto's pagination token: base64 of `{"last_object": {...}, "offset": N, "nonce": "..."}`
 * where `last_object` holds the sort-field values of a page's last object, keyed by
 * dotted field name. The next page is the keyset "after" those values.
 */
import { containsNulCharacter, Filter, fieldName, resolveField, setOwnField } from './ast.ts';
import type { FilterNode, JsonObject, JsonValue, SortField } from './ast.ts';
import { pyB64Decode, pyJsonDumps, pyUtf8Decode } from './pycompat.ts';

export interface PaginationToken {
  lastObject: Record<string, JsonValue>;
  offset: number;
  nonce: string;
}

/**
 * Reads a token as Kinto does (lenient base64, strict UTF-8 and JSON); null when invalid.
 * Stricter than Kinto on `offset` (a number) and `nonce` (a string), and rejects NUL
 * characters that PostgreSQL's jsonb cannot hold.
 */
export function decodeToken(encoded: string): PaginationToken | null {
  const bytes = pyB64Decode(encoded);
  const text = bytes && pyUtf8Decode(bytes);
  if (text === null) return null;
  let info: JsonValue;
  try {
    info = JSON.parse(text) as JsonValue;
  } catch {
    return null;
  }
  if (!isPlainObject(info)) return null;
  const { last_object: lastObject, offset, nonce } = info;
  if (!isPlainObject(lastObject) || containsNulCharacter(lastObject)) return null;
  if (typeof offset !== 'number' || typeof nonce !== 'string') return null;
  return { lastObject, offset, nonce };
}

function isPlainObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** base64 of `{"last_object": ..., "offset": N, "nonce": "..."}`, serialised as Python's json.dumps. */
export function encodeToken(lastObject: Record<string, JsonValue>, offset: number, nonce: string): string {
  // pyJsonDumps of the whole object, its three known keys written out (every page writes one).
  const json = `{"last_object": ${pyJsonDumps(lastObject)}, "offset": ${pyJsonDumps(offset)}, "nonce": ${pyJsonDumps(nonce)}}`;
  return Buffer.from(json, 'utf8').toString('base64');
}

/** The sort-field values of a page's last object, keyed by dotted name; missing fields are omitted. */
export function lastObjectFor(obj: JsonObject, sort: readonly SortField[]): Record<string, JsonValue> {
  const lastObject: JsonObject = {};
  for (const { field } of sort) {
    const value = resolveField(obj, field);
    if (value !== undefined) setOwnField(lastObject, fieldName(field), value);
  }
  return lastObject;
}

/** The keyset condition of the page following `lastObject` (absent keys read as missing). */
export function buildAfterFilter(sort: readonly SortField[], lastObject: Record<string, JsonValue>): FilterNode {
  const values = sort.map(({ field }) => {
    const name = fieldName(field);
    return Object.hasOwn(lastObject, name) ? lastObject[name] : undefined;
  });
  return Filter.after(sort, values);
}
