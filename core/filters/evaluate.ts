/**
 * In-memory reader of the filter tree: the memory backend's WHERE, ORDER BY and
 * Kinto's `_fields` projection. Value ordering comes from `compare.ts` so results
 * match the PostgreSQL backend.
 */
import {
  likeParts,
  resolveField,
  setOwnField,
  type Comparison,
  type FieldPath,
  type FilterNode,
  type JsonObject,
  type JsonValue,
  type SortField,
} from './ast.ts';
import { compareJson, jsonEquals } from './compare.ts';

export function matchesAll(obj: JsonObject, filters: readonly FilterNode[]): boolean {
  for (const filter of filters) {
    if (!matchesFilter(obj, filter)) return false;
  }
  return true;
}

export function matchesFilter(obj: JsonObject, node: FilterNode): boolean {
  if (node.kind === 'after') return comesAfter(obj, node.sort, node.values);
  const actual = resolveField(obj, node.field);
  switch (node.kind) {
    case 'compare':
      return matchesComparison(node.op, actual, node.value);
    case 'in': {
      const listed = actual !== undefined && node.values.some((value) => jsonEquals(actual, value));
      return node.negate ? !listed : listed;
    }
    case 'like':
      return typeof actual === 'string' && likeRegExp(node.pattern).test(actual);
    case 'has':
      return (actual !== undefined) === node.present;
    case 'contains':
      return matchesContains(actual, node.values, node.any);
  }
}

/** A missing field equals nothing, so only `not` matches it. */
function matchesComparison(op: Comparison, actual: JsonValue | undefined, expected: JsonValue): boolean {
  if (actual === undefined) return op === 'not';
  switch (op) {
    case 'eq':
      return jsonEquals(actual, expected);
    case 'not':
      return !jsonEquals(actual, expected);
    case 'lt':
      return compareJson(actual, expected) < 0;
    case 'gt':
      return compareJson(actual, expected) > 0;
    case 'min':
      return compareJson(actual, expected) >= 0;
    case 'max':
      return compareJson(actual, expected) <= 0;
  }
}

function matchesContains(actual: JsonValue | undefined, wanted: readonly JsonValue[], any: boolean): boolean {
  if (!Array.isArray(actual)) return false;
  const present = (value: JsonValue) => actual.some((item) => jsonEquals(item, value));
  return any ? wanted.some(present) : wanted.every(present);
}

/** Keyset pagination: true when `obj` sorts strictly after the reference `values`. */
function comesAfter(obj: JsonObject, sort: readonly SortField[], values: readonly (JsonValue | undefined)[]): boolean {
  for (let i = 0; i < sort.length; i++) {
    const order = compareJson(resolveField(obj, sort[i].field), values[i]);
    if (order !== 0) return order * sort[i].direction > 0;
  }
  return false;
}

const LIKE_CACHE_LIMIT = 256;
const likeCache = new Map<string, RegExp>();

/** `like_` is PostgreSQL's ILIKE with `*` as the only wildcard; other characters are literal. */
function likeRegExp(pattern: string): RegExp {
  let regexp = likeCache.get(pattern);
  if (regexp === undefined) {
    const body = likeParts(pattern).map(escapeRegExp).join('.*');
    regexp = new RegExp(`^${body}$`, 'isu');
    if (likeCache.size >= LIKE_CACHE_LIMIT) likeCache.clear();
    likeCache.set(pattern, regexp);
  }
  return regexp;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}

/** Orders objects along `sort` (first field first); ties keep their input order. */
export function compareBySort(a: JsonObject, b: JsonObject, sort: readonly SortField[]): number {
  for (const { field, direction } of sort) {
    const order = compareJson(resolveField(a, field), resolveField(b, field));
    if (order !== 0) return order * direction;
  }
  return 0;
}

export function sortObjects<T extends JsonObject>(objs: readonly T[], sort: readonly SortField[]): T[] {
  return [...objs].sort((a, b) => compareBySort(a, b, sort));
}

/** Selected sub-trees: `true` keeps the whole value under a key. */
type Selection = Map<string, Selection | true>;

/**
 * Kinto's `_fields` projection (`dict_subset`): `id` and `last_modified` are always
 * kept; `a.b` keeps `b` inside object `a` (or all of `a` when it is not an object);
 * absent fields are omitted.
 */
export function projectFields(obj: JsonObject, fields: readonly FieldPath[]): JsonObject {
  return applySelection(obj, selectionOf([...fields, ['id'], ['last_modified']]));
}

function selectionOf(paths: readonly FieldPath[]): Selection {
  const root: Selection = new Map();
  for (const path of paths) {
    let node = root;
    for (let i = 0; i < path.length; i++) {
      const existing = node.get(path[i]);
      if (existing === true) break;
      if (i === path.length - 1) {
        node.set(path[i], true);
        break;
      }
      const child: Selection = existing ?? new Map();
      node.set(path[i], child);
      node = child;
    }
  }
  return root;
}

function applySelection(obj: JsonObject, selection: Selection): JsonObject {
  const result: JsonObject = {};
  for (const [key, sub] of selection) {
    if (!Object.hasOwn(obj, key)) continue;
    const value = obj[key];
    const isObject = value !== null && typeof value === 'object' && !Array.isArray(value);
    setOwnField(result, key, sub === true || !isObject ? value : applySelection(value, sub));
  }
  return result;
}
