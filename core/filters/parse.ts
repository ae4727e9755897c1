/**
 * Kinto's plural-endpoint querystring, read once into the filter tree. Mirrors the
 * reference server in two phases: the colander schema of the typed parameters
 * (`_limit`, `_since`, `id`, ... all errors reported together), then
 * `Resource._extract_filters/_extract_sorting/_extract_partial_fields` and the
 * pagination token (first error wins), with Kinto's error texts.
 */
import { KintoError, type ValidationDetail } from '../errors.ts';
import {
  containsNulCharacter,
  Filter,
  fieldName,
  fieldPath,
  type Comparison,
  type FieldPath,
  type FilterNode,
  type JsonValue,
  type SortField,
} from './ast.ts';
import { compareCodePoints } from './compare.ts';
import { isFloatLiteral, nativeValue, pyInt, pyStr, pyStrip, pyTruthy } from './pycompat.ts';
import { decodeToken, type PaginationToken } from './token.ts';

export { buildAfterFilter, encodeToken, lastObjectFor, type PaginationToken } from './token.ts';

export interface ParseOptions {
  /** Epoch ms; `_since`/`_before` and `last_modified` filters must be before now + 24h. */
  now: number;
  /** Strict resources only: root fields allowed in filters, `_sort` and `_fields` (`id`, `last_modified`, `deleted` are implied). */
  knownFields?: ReadonlySet<string>;
  method?: 'GET' | 'HEAD' | 'DELETE';
}

export interface ListQuery {
  /** User filters; `_since` is `gt last_modified`, `_before`/`_to` are `lt last_modified`. */
  filters: FilterNode[];
  /** `_sort`, always ending with `-last_modified` unless `last_modified` is already sorted on. */
  sort: SortField[];
  /** `_limit`, null when absent. 0 is kept: Kinto then serves `storage_max_fetch_size`. */
  limit: number | null;
  token: PaginationToken | null;
  /** `_fields` (without the implied `id`/`last_modified`), null when absent or on DELETE. */
  fields: FieldPath[] | null;
  /** A filter on `last_modified` is present (`_since=null` included): tombstones are listed. */
  includeDeleted: boolean;
  /** `_to` was used; the caller sends the soft-eol Alert header. */
  deprecatedTo: boolean;
}

export type RawQuery = Readonly<Record<string, string | readonly string[] | undefined>>;
type RawValue = string | readonly string[];

/** One querystring parameter: what was sent and Kinto's reading of it. */
interface Param {
  readonly raw: RawValue;
  value: JsonValue;
}
type Params = Map<string, Param>;

interface Context {
  readonly now: number;
  readonly known: ReadonlySet<string> | null;
}

const LOCATION = 'querystring';
const ID_FIELD = 'id';
const MODIFIED_FIELD = 'last_modified';
const META_FIELDS = [ID_FIELD, MODIFIED_FIELD, 'deleted'];
const DAY_MS = 24 * 3600 * 1000;
const MAX_INTEGER = 2n ** 63n;
const TIME_PARAMS = new Map<string, Comparison>([['_since', 'gt'], ['_before', 'lt'], ['_to', 'lt']]);
/** Python's `\w` is Unicode-aware: letters, digits and `_`. */
const FILTER_PARAM = /^(lt|min|max|not|eq|gt|in|exclude|like|has|contains_any|contains)_([\p{L}\p{N}_.]+)$/u;
const SORT_PARAM = /^([-+]?)([\p{L}\p{N}_.]+)$/u;

type SchemaType = 'integer' | 'string' | 'list';
const PLURAL_SCHEMA: ReadonlyMap<string, SchemaType> = new Map<string, SchemaType>([
  ['_limit', 'integer'],
  ['_since', 'integer'],
  ['_to', 'integer'],
  ['_before', 'integer'],
  [MODIFIED_FIELD, 'integer'],
  ['_token', 'string'],
  [ID_FIELD, 'string'],
  ['_sort', 'list'],
]);
const PLURAL_GET_SCHEMA: ReadonlyMap<string, SchemaType> = new Map([...PLURAL_SCHEMA, ['_fields', 'list']]);
const OBJECT_GET_SCHEMA: ReadonlyMap<string, SchemaType> = new Map<string, SchemaType>([['_fields', 'list']]);

export function parseListQuery(query: RawQuery, options: ParseOptions): ListQuery {
  const method = options.method ?? 'GET';
  const context: Context = { now: options.now, known: knownRoots(options.knownFields) };
  const params = readParams(query, method === 'DELETE' ? PLURAL_SCHEMA : PLURAL_GET_SCHEMA);
  const { filters, includeDeleted, deprecatedTo } = extractFilters(params, context);
  const limit = extractLimit(params);
  const sort = extractSorting(params, context.known);
  const fields = method === 'DELETE' ? null : extractFields(params, context.known);
  const token = extractToken(params);
  return { filters, sort, limit, token, fields, includeDeleted, deprecatedTo };
}

/** `_fields` of an object endpoint (`GET /.../{id}`), the only parameter read there. */
export function parseFieldsQuery(query: RawQuery, knownFields?: ReadonlySet<string>): FieldPath[] | null {
  return extractFields(readParams(query, OBJECT_GET_SCHEMA), knownRoots(knownFields));
}

function knownRoots(knownFields: ReadonlySet<string> | undefined): ReadonlySet<string> | null {
  return knownFields ? new Set([...knownFields, ...META_FIELDS]) : null;
}

/** Kinto's 400 "Invalid parameters" with cornice's ordering and message rules. */
export function queryError(details: ValidationDetail[]): KintoError {
  const sorted = [...details].sort((a, b) => compareCodePoints(a.name ?? 'None', b.name ?? 'None'));
  const { location, name, description } = sorted[0];
  let message = `${location}: ${description}`;
  if (name !== null) message = description.includes(name) ? description : `${name} in ${location}: ${description}`;
  return new KintoError('INVALID_PARAMETERS', { message, details: sorted });
}

function paramError(name: string | null, description: string): KintoError {
  return queryError([{ location: LOCATION, name, description }]);
}

function invalidValue(name: string): KintoError {
  return paramError(name, `Invalid value for ${name}`);
}

// --- Phase 1: the querystring schema -------------------------------------------------

function readParams(query: RawQuery, schema: ReadonlyMap<string, SchemaType>): Params {
  const params: Params = new Map();
  for (const key of Object.keys(query)) {
    const raw = query[key];
    if (raw === undefined || (typeof raw !== 'string' && raw.length === 0)) continue;
    params.set(key, { raw, value: looseValue(key, raw) });
  }
  const errors: ValidationDetail[] = [];
  for (const [key, param] of params) {
    const type = schema.get(key);
    if (type === undefined) continue;
    const outcome = deserializeTyped(key, type, param.raw);
    if ('error' in outcome) errors.push({ location: LOCATION, name: key, description: outcome.error });
    else if (outcome.value !== undefined) param.value = outcome.value;
  }
  if (errors.length > 0) throw queryError(errors);
  return params;
}

/** Kinto's reading of a parameter outside the schema (repeated parameters arrive as lists). */
function looseValue(key: string, raw: RawValue): JsonValue {
  if (key.startsWith('contains_')) {
    const value = nativeOf(raw);
    return Array.isArray(value) ? value : [value];
  }
  if (key.startsWith('in_') || key.startsWith('exclude_')) return listItems(raw).map(nativeValue);
  return nativeOf(raw);
}

function nativeOf(raw: RawValue): JsonValue {
  return typeof raw === 'string' ? nativeValue(raw) : [...raw];
}

/** colander's FieldList: comma-separated (unless repeated), empty items dropped. */
function listItems(raw: RawValue): string[] {
  return (typeof raw === 'string' ? raw.split(',') : [...raw]).filter((item) => item !== '');
}

/** `value` undefined: colander dropped the value and Kinto keeps its loose reading. */
type Outcome = { value?: JsonValue } | { error: string };

function deserializeTyped(key: string, type: SchemaType, raw: RawValue): Outcome {
  if (type === 'list') return { value: listItems(raw) };
  const native = nativeOf(raw);
  const asFloat = typeof raw === 'string' && isFloatLiteral(raw);
  if (type === 'integer') return deserializeInteger(native, asFloat);
  if (!pyTruthy(native)) return {};
  if (typeof native === 'string') return { value: native };
  return { error: `${pyStr(native, asFloat)} is not a string: {'${key}': ''}` };
}

function deserializeInteger(native: JsonValue, asFloat: boolean): Outcome {
  if (native !== 0 && native !== false && !pyTruthy(native)) return {};
  const integer = pyInt(native);
  if (integer === null) return { error: `"${pyStr(native, asFloat)}" is not a number` };
  if (integer < 0n) return { error: `${integer} is less than minimum value 0` };
  if (integer > MAX_INTEGER) return { error: `${integer} is greater than maximum value ${MAX_INTEGER}` };
  return { value: Number(integer) };
}

// --- Phase 2: filters ----------------------------------------------------------------

interface ExtractedFilters {
  filters: FilterNode[];
  includeDeleted: boolean;
  deprecatedTo: boolean;
}

function extractFilters(params: Params, context: Context): ExtractedFilters {
  const extracted: ExtractedFilters = { filters: [], includeDeleted: false, deprecatedTo: false };
  for (const [key, param] of params) {
    const name = pyStrip(key);
    const timeOperator = TIME_PARAMS.get(name);
    if (timeOperator !== undefined) {
      addTimeFilter(extracted, name, timeOperator, param.value, context.now);
    } else if (!name.startsWith('_')) {
      const { field, node } = filterFor(name, param, context);
      if (field === MODIFIED_FIELD) extracted.includeDeleted = true;
      extracted.filters.push(node);
    }
  }
  return extracted;
}

/** `_since`, `_before` and the deprecated `_to`; `null` lists tombstones without bounding. */
function addTimeFilter(extracted: ExtractedFilters, name: string, op: Comparison, value: JsonValue, now: number) {
  if (name === '_to') extracted.deprecatedTo = true;
  extracted.includeDeleted = true;
  if (value === null) return;
  const timestamp = timestampOf(value, now);
  if (timestamp === null) throw invalidValue(name);
  extracted.filters.push(Filter.compare(op, [MODIFIED_FIELD], timestamp));
}

/** Kinto's `is_valid_timestamp`: an int, or digits (optionally quoted), in [0, now + 24h). */
function timestampOf(value: JsonValue, now: number): number | null {
  let candidate = value;
  if (typeof value === 'string') {
    if (!/^(?:\d+\n?|"\d+")$/.test(value)) return null;
    candidate = value.replace(/^"+|"+$/g, '');
  }
  const integer = pyInt(candidate);
  if (integer === null || integer < 0n || Number(integer) >= now + DAY_MS) return null;
  return Number(integer);
}

function filterFor(name: string, param: Param, context: Context): { field: string; node: FilterNode } {
  const match = FILTER_PARAM.exec(name);
  const keyword = match ? match[1] : 'eq';
  const field = match ? match[2] : name;
  const { value } = param;
  if (context.known && !context.known.has(field.split('.')[0])) {
    throw paramError(name, `Unknown filter field '${name}'`);
  }
  if (keyword === 'like' && typeof value !== 'string') throw invalidValue(name);
  if ((keyword === 'in' || keyword === 'exclude') && !isValidList(field, value)) throw invalidValue(name);
  if (field.includes('\0') || containsNulCharacter(value)) throw paramError(name, 'Invalid character 0x00');
  if (field === MODIFIED_FIELD && timestampOf(value, context.now) === null) throw invalidValue(name);
  if ((field === ID_FIELD || field === MODIFIED_FIELD) && keyword.startsWith('contains')) {
    throw paramError(name, `Field '${field}' is not an array`);
  }
  return { field, node: buildNode(keyword, field, param, context.now) };
}

/** `in_`/`exclude_` lists: strings only on `id`, ints only on `last_modified`. */
function isValidList(field: string, value: JsonValue): boolean {
  if (!Array.isArray(value)) return false;
  if (field === ID_FIELD) return value.every((item) => typeof item === 'string');
  if (field === MODIFIED_FIELD) return value.every((item) => typeof item === 'boolean' || Number.isInteger(item));
  return true;
}

function buildNode(keyword: string, field: string, param: Param, now: number): FilterNode {
  const path = fieldPath(field);
  const { value } = param;
  switch (keyword) {
    case 'in':
    case 'exclude':
      return Filter.in(path, value as JsonValue[], keyword === 'exclude');
    case 'like':
      return Filter.like(path, value as string);
    case 'has':
      return Filter.has(path, pyTruthy(value));
    case 'contains':
    case 'contains_any':
      return Filter.contains(path, Array.isArray(value) ? value : [value], keyword === 'contains_any');
    default:
      return Filter.compare(keyword as Comparison, path, comparedValue(field, param, now));
  }
}

/** Timestamps become ints; ints on `id` become strings as Kinto's backends do (`str(True)` included). */
function comparedValue(field: string, { raw, value }: Param, now: number): JsonValue {
  if (field === MODIFIED_FIELD) return timestampOf(value, now);
  if (field !== ID_FIELD) return value;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  const isInt = Number.isInteger(value) && !(typeof raw === 'string' && isFloatLiteral(raw));
  return isInt ? BigInt(value as number).toString() : value;
}

// --- Phase 2: limit, sorting, projection, token --------------------------------------

function extractLimit(params: Params): number | null {
  const value = params.get('_limit')?.value;
  return typeof value === 'number' ? value : null;
}

function stringList(params: Params, key: string): string[] {
  const value = params.get(key)?.value;
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function extractSorting(params: Params, known: ReadonlySet<string> | null): SortField[] {
  const sort: SortField[] = [];
  for (const entry of stringList(params, '_sort')) {
    const match = SORT_PARAM.exec(pyStrip(entry));
    if (!match) continue;
    const field = match[2];
    if (known && !known.has(field.split('.')[0])) throw paramError(null, `Unknown sort field '${field}'`);
    sort.push({ field: fieldPath(field), direction: match[1] === '-' ? -1 : 1 });
  }
  if (!sort.some((item) => fieldName(item.field) === MODIFIED_FIELD)) {
    sort.push({ field: fieldPath(MODIFIED_FIELD), direction: -1 });
  }
  return sort;
}

function extractFields(params: Params, known: ReadonlySet<string> | null): FieldPath[] | null {
  const fields = stringList(params, '_fields');
  if (fields.length === 0) return null;
  if (known) {
    const unknown = [...new Set(fields.map((field) => field.split('.')[0]))].filter((root) => !known.has(root));
    if (unknown.length > 0) {
      // Kinto raises this one without a location, hence cornice's default "body".
      const description = `Fields ${unknown.join(',')} do not exist`;
      throw queryError([{ location: 'body', name: 'Invalid _fields parameter', description }]);
    }
  }
  return fields.map(fieldPath);
}

function extractToken(params: Params): PaginationToken | null {
  const value = params.get('_token')?.value;
  if (typeof value !== 'string' || value === '') return null;
  const token = decodeToken(value);
  if (token === null) throw paramError(null, '_token has invalid content');
  return token;
}
