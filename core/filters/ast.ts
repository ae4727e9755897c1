/**
 * The filter tree: querystrings are parsed once into these frozen nodes, then either
 * evaluated in memory (`evaluate.ts`) or compiled to SQL. Both readers share the
 * value ordering of `compare.ts` (PostgreSQL's jsonb order), so they cannot drift.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const COMPARISONS = ['eq', 'not', 'lt', 'gt', 'min', 'max'] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** A field path: `title`, or `author.name` split on dots. `id` and `last_modified` are top-level. */
export type FieldPath = readonly string[];

export type FilterNode =
  | { readonly kind: 'compare'; readonly op: Comparison; readonly field: FieldPath; readonly value: JsonValue }
  | { readonly kind: 'in'; readonly negate: boolean; readonly field: FieldPath; readonly values: readonly JsonValue[] }
  | { readonly kind: 'like'; readonly field: FieldPath; readonly pattern: string }
  | { readonly kind: 'has'; readonly field: FieldPath; readonly present: boolean }
  | { readonly kind: 'contains'; readonly any: boolean; readonly field: FieldPath; readonly values: readonly JsonValue[] }
  /** Keyset pagination: objects strictly after `values` in the `sort` order (missing = undefined). */
  | { readonly kind: 'after'; readonly sort: readonly SortField[]; readonly values: readonly (JsonValue | undefined)[] };

export interface SortField {
  readonly field: FieldPath;
  readonly direction: 1 | -1;
}

export const Filter = {
  compare(op: Comparison, field: FieldPath, value: JsonValue): FilterNode {
    return Object.freeze({ kind: 'compare', op, field: Object.freeze([...field]), value });
  },
  in(field: FieldPath, values: JsonValue[], negate = false): FilterNode {
    return Object.freeze({ kind: 'in', negate, field: Object.freeze([...field]), values: Object.freeze([...values]) });
  },
  like(field: FieldPath, pattern: string): FilterNode {
    return Object.freeze({ kind: 'like', field: Object.freeze([...field]), pattern });
  },
  has(field: FieldPath, present: boolean): FilterNode {
    return Object.freeze({ kind: 'has', field: Object.freeze([...field]), present });
  },
  contains(field: FieldPath, values: JsonValue[], any = false): FilterNode {
    return Object.freeze({ kind: 'contains', any, field: Object.freeze([...field]), values: Object.freeze([...values]) });
  },
  after(sort: readonly SortField[], values: (JsonValue | undefined)[]): FilterNode {
    return Object.freeze({ kind: 'after', sort: Object.freeze([...sort]), values: Object.freeze([...values]) });
  },
} as const;

export function fieldPath(name: string): FieldPath {
  return Object.freeze(name.split('.'));
}

export function fieldName(path: FieldPath): string {
  return path.join('.');
}

/** Reads a dotted path out of an object; `undefined` when any step is missing. */
export function resolveField(obj: JsonObject, path: FieldPath): JsonValue | undefined {
  let current: JsonValue | undefined = obj;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    if (!Object.hasOwn(current, key)) return undefined;
    current = (current as JsonObject)[key];
  }
  return current;
}

/**
 * Splits a `like_` pattern on its `*` wildcards. Kinto reads a pattern without any `*`
 * as `*pattern*`; every other character is literal. Readers join the (escaped) parts
 * with their own "any characters" token and match the whole value.
 */
export function likeParts(pattern: string): string[] {
  const explicit = pattern.includes('*') ? pattern : `*${pattern}*`;
  return explicit.split('*');
}

/** Sets an own enumerable property, even for keys such as `__proto__` that plain assignment mishandles. */
export function setOwnField(obj: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Kinto's `has_null_character`: a NUL in any string of the value, object keys included. */
export function containsNulCharacter(value: JsonValue): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(containsNulCharacter);
  return Object.keys(value).some((key) => key.includes('\0') || containsNulCharacter(value[key]));
}
