/**
 * PostgreSQL's jsonb ordering (`compareJsonbContainers` in jsonb_util.c), so that the
 * in-memory backend sorts and filters exactly like `data->'field'` comparisons in SQL:
 *
 *   null < string < number < boolean < array < object, and a missing field (SQL NULL,
 *   `undefined` here) after everything.
 *   - strings by code point (byte order of UTF-8, i.e. the "C" collation);
 *   - arrays: more elements is greater; equal lengths compare element by element;
 *   - objects: more pairs is greater; equal counts compare key-1, value-1, key-2, ...
 *     with keys in jsonb storage order (shorter UTF-8 keys first, then bytewise).
 *   - PostgreSQL quirk: a *top-level* empty array sorts before every other value,
 *     `null` included (a scalar is stored as a one-element "raw scalar" array and the
 *     element count is compared first). Nested empty arrays follow the type order.
 */
import type { JsonValue } from './ast.ts';

type JsonMap = { [key: string]: JsonValue };

const RANK_NULL = 0;
const RANK_STRING = 1;
const RANK_NUMBER = 2;
const RANK_BOOLEAN = 3;
const RANK_ARRAY = 4;
const RANK_OBJECT = 5;

function typeRank(value: JsonValue): number {
  if (value === null) return RANK_NULL;
  switch (typeof value) {
    case 'string':
      return RANK_STRING;
    case 'number':
      return RANK_NUMBER;
    case 'boolean':
      return RANK_BOOLEAN;
    default:
      return Array.isArray(value) ? RANK_ARRAY : RANK_OBJECT;
  }
}

/** Total order of jsonb values as top-level field values; `undefined` (missing) is greatest. */
export function compareJson(a: JsonValue | undefined, b: JsonValue | undefined): number {
  if (a === undefined || b === undefined) {
    if (a === b) return 0;
    return a === undefined ? 1 : -1;
  }
  const aEmpty = Array.isArray(a) && a.length === 0;
  const bEmpty = Array.isArray(b) && b.length === 0;
  if (aEmpty || bEmpty) {
    if (aEmpty === bEmpty) return 0;
    return aEmpty ? -1 : 1;
  }
  return compareNested(a, b);
}

function compareNested(a: JsonValue, b: JsonValue): number {
  const rankA = typeRank(a);
  const rankB = typeRank(b);
  if (rankA !== rankB) return rankA < rankB ? -1 : 1;
  switch (rankA) {
    case RANK_NULL:
      return 0;
    case RANK_STRING:
      return compareCodePoints(a as string, b as string);
    case RANK_NUMBER:
    case RANK_BOOLEAN:
      return sign(Number(a) - Number(b));
    case RANK_ARRAY:
      return compareArrays(a as JsonValue[], b as JsonValue[]);
    default:
      return compareObjects(a as JsonMap, b as JsonMap);
  }
}

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function compareArrays(a: JsonValue[], b: JsonValue[]): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  for (let i = 0; i < a.length; i++) {
    const result = compareNested(a[i], b[i]);
    if (result !== 0) return result;
  }
  return 0;
}

function compareObjects(a: JsonMap, b: JsonMap): number {
  const keysA = storageOrder(a);
  const keysB = storageOrder(b);
  if (keysA.length !== keysB.length) return keysA.length < keysB.length ? -1 : 1;
  for (let i = 0; i < keysA.length; i++) {
    const byKey = compareCodePoints(keysA[i], keysB[i]);
    if (byKey !== 0) return byKey;
    const byValue = compareNested(a[keysA[i]], b[keysB[i]]);
    if (byValue !== 0) return byValue;
  }
  return 0;
}

/** jsonb stores object keys shortest (in UTF-8 bytes) first, then bytewise. */
function storageOrder(obj: JsonMap): string[] {
  return Object.keys(obj)
    .map((key) => ({ key, bytes: Buffer.byteLength(key, 'utf8') }))
    .sort((x, y) => x.bytes - y.bytes || compareCodePoints(x.key, y.key))
    .map((entry) => entry.key);
}

/**
 * Code point order (= UTF-8 byte order). Plain `<` compares UTF-16 units, which puts
 * astral characters (surrogates, 0xD800+) before U+E000..U+FFFF; shifting the unit
 * ranges restores code point order without decoding.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointWeight(x) < codePointWeight(y) ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

function codePointWeight(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** Deep equality of JSON values (object key order is irrelevant); `undefined` only equals itself. */
export function jsonEquals(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEquals(item, b[i]));
  }
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && jsonEquals(a[key], b[key]));
}
