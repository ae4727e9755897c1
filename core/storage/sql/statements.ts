/**
 * The SQL storage's statement pieces and row conversions: what `storage.ts` sends and how it
 * reads the rows back, kept apart from the operations themselves.
 */
import type { FilterNode, JsonObject } from '../../filters/ast.ts';
import type { QueryOptions } from '../../sql/driver.ts';
import { isColumnField, type Params } from '../../sql/filters.ts';
import type { UnionArm } from '../../sql/union.ts';
import type { ObjectRef, ReadableBy, StoredObject } from '../types.ts';

export interface Row {
  id: string;
  last_modified: number;
  deleted: boolean;
  data: JsonObject;
}

/** A row that also says where the object lives (`getMany`, the read-ahead). */
export type LocatedRow = Row & { parent_id: string; resource_name: string };

export const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

export function toObject(row: Row): StoredObject {
  if (row.deleted) return { id: row.id, last_modified: row.last_modified, deleted: true };
  return { ...row.data, id: row.id, last_modified: row.last_modified };
}

/**
 * An object's JSON from its columns and its data's JSON text, without parsing the data:
 * `{"id":…,"last_modified":…,` then the data's members (stored without id and last_modified).
 */
export function toJsonText(row: { id: string; last_modified: number; deleted: boolean; data: string }): string {
  const head = `{"id":${JSON.stringify(row.id)},"last_modified":${row.last_modified}`;
  if (row.deleted) return `${head},"deleted":true}`;
  const members = row.data.slice(1).trimStart();
  return members === '}' ? `${head}}` : `${head},${members}`;
}

export function dataOf(object: JsonObject): JsonObject {
  const { id: _id, last_modified: _lm, deleted: _deleted, ...data } = object;
  return data;
}

/** True when only the values tell the filter's selectivity: JSON data, or a list of any length. */
function valueSensitive(filter: FilterNode): boolean {
  if (filter.kind === 'after') return filter.sort.some((s) => !isColumnField(s.field));
  return filter.kind === 'in' || !isColumnField(filter.field);
}

/**
 * Filters on data, id lists and parent prefixes (`LIKE $1`) are only planned well with their
 * values; comparisons of columns have indexes whatever the values, so their generic plan is kept.
 */
export function planOptions(parentId: string, filters: readonly FilterNode[] | undefined): QueryOptions {
  return { planWithValues: parentId.endsWith('*') || Boolean(filters?.some(valueSensitive)) };
}

/** `/buckets/b*` → LIKE prefix; exact ids otherwise. Returns the SQL and its parameter. */
export function parentCondition(parentId: string, params: Params): string {
  if (!parentId.endsWith('*')) return `parent_id = ${params.add(parentId)}`;
  const prefix = parentId.slice(0, -1).replace(/[\\%_]/g, '\\$&');
  return `parent_id LIKE ${params.add(`${prefix}%`)}`;
}

/** max(now, current + 1) under the parent's row lock; `$1` parent, `$2` resource. */
export const BUMP_TIMESTAMP = `INSERT INTO timestamps (parent_id, resource_name, last_modified) VALUES ($1, $2, ${NOW_MS})
  ON CONFLICT (parent_id, resource_name) DO UPDATE SET last_modified = GREATEST(${NOW_MS}, timestamps.last_modified + 1)
  RETURNING last_modified`;

/** A create over a tombstone revives it; over a live object it inserts nothing (UnicityError). */
export const REVIVE_TOMBSTONE = `ON CONFLICT (parent_id, resource_name, id) DO UPDATE
  SET last_modified = EXCLUDED.last_modified, deleted = FALSE, data = EXCLUDED.data
  WHERE objects.deleted
  RETURNING id, last_modified, deleted, data`;

/**
 * The common create's insert, after a `stamp` CTE of BUMP_TIMESTAMP: `$1` parent, `$2`
 * resource, `$3` id, `$4` data.
 */
export const INSERT_STAMPED = `INSERT INTO objects (parent_id, resource_name, id, last_modified, deleted, data)
  SELECT $1, $2, $3, stamp.last_modified, FALSE, $4::jsonb FROM stamp
  ${REVIVE_TOMBSTONE}`;

/** What a listing reads: its parent and resource are known (fewer bytes for the driver to parse per row). */
export const LISTED = 'id, last_modified, deleted, data';
export const LISTED_AS_TEXT = 'id, last_modified, deleted, data::text AS data';

/** References per `getMany` statement (PostgreSQL takes at most 65,535 parameters). */
export const GET_MANY_CHUNK = 1000;

export const OBJECT_COLUMNS = {
  parent_id: 'parent_id',
  resource_name: 'resource_name',
  id: 'id',
  last_modified: 'last_modified',
  deleted: 'deleted',
  data: 'data',
};

export function timestampArm(resource: string, parentId: string, params: Params): UnionArm {
  const where = `parent_id = ${params.add(parentId)} AND resource_name = ${params.add(resource)}`;
  return { kind: 'timestamp', columns: { last_modified: 'last_modified', id: VERSION_XMIN }, from: `FROM timestamps WHERE ${where}` };
}

/**
 * The transaction id that last wrote a timestamp row: every write to a parent's objects
 * writes its row (the lock is an upsert), a re-created row gets a new one. With the
 * timestamp it is the list's version (`Storage.resourceVersion`); `xmin` survives freezing.
 */
export const VERSION_XMIN = 'xmin::text';

export const versionOf = (timestamp: number, xmin: string) => `${timestamp}:${xmin}`;

/**
 * Purges the objects `where` selects and rewrites their parents' timestamp rows in the same
 * statement (atomic without a transaction too): a purge leaves the timestamps as they are,
 * the versions of the lists must change. Returns the count of purged objects as `purged`.
 */
export function purgeSql(where: string): string {
  return `WITH gone AS (DELETE FROM objects WHERE ${where} RETURNING parent_id, resource_name),
    touched AS (UPDATE timestamps SET last_modified = timestamps.last_modified
      FROM (SELECT DISTINCT parent_id, resource_name FROM gone) AS parents
      WHERE timestamps.parent_id = parents.parent_id AND timestamps.resource_name = parents.resource_name)
    SELECT count(*)::int AS purged FROM gone`;
}

/**
 * Objects one of the principals may read: a probe of the ACE primary key per candidate row
 * (a page of 100 probes ~200 rows), instead of the caller's 5,000 ACEs read, sent to the
 * server and back as 5,000 ids (bench/README.md #22; `id IN (SELECT …)` was 5x slower).
 */
export function readableBySql(readable: ReadableBy, params: Params): string {
  return `EXISTS (SELECT 1 FROM access_control_entries ace
     WHERE ace.object_id = ${params.add(`${readable.pluralUri}/`)} || objects.id
       AND ace.permission = ANY(${params.add(readable.permissions)}::text[])
       AND ace.principal = ANY(${params.add(readable.principals)}::text[]))`;
}

/** Row values, not unnest(): the primary key lookups plan in a tenth of the time (bench/README.md #8). */
export function liveRefs(refs: readonly ObjectRef[], params: Params): string {
  const rows = refs.map((r) => `(${params.add(r.parentId)}, ${params.add(r.resource)}, ${params.add(r.id)})`);
  return `(parent_id, resource_name, id) IN (${rows.join(', ')}) AND NOT deleted`;
}

export function inRefsOrder(refs: readonly ObjectRef[], rows: readonly LocatedRow[]) {
  // A GET reads one object (and its parent): a scan beats building keys and a map.
  if (refs.length <= 4) return refs.map((ref) => {
    const row = rows.find((r) => r.id === ref.id && r.parent_id === ref.parentId && r.resource_name === ref.resource);
    return row ? toObject(row) : null;
  });
  const found = new Map(rows.map((row) => [`${row.resource_name}\u0000${row.parent_id}\u0000${row.id}`, row]));
  return refs.map((ref) => {
    const row = found.get(`${ref.resource}\u0000${ref.parentId}\u0000${ref.id}`);
    return row ? toObject(row) : null;
  });
}
