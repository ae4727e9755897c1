/**
 * Several backends' work in one statement, when storage and permissions share a database.
 * Reads: each backend contributes arms of one `UNION ALL` (its SELECTs, over one shape of
 * columns) and reads its own rows back by `kind`: a GET of one object is one round trip, not
 * two (bench/README.md #12, #20). Writes: a create's ACL is CTEs of its insert (#24).
 */
import type { SqlClient } from './driver.ts';
import type { Acl } from '../permission/types.ts';
import type { Params } from './filters.ts';

/** The union's columns and their types (an arm's missing columns are typed NULLs). */
const UNION_COLUMNS = {
  kind: 'text',
  object_id: 'text',
  permission: 'text',
  principal: 'text',
  parent_id: 'text',
  resource_name: 'text',
  id: 'text',
  last_modified: 'bigint',
  deleted: 'boolean',
  data: 'jsonb',
} as const;

export type UnionColumn = keyof typeof UNION_COLUMNS;

/** A row of the union: the columns an arm does not fill are null. */
export type UnionRow = { kind: string } & { [K in Exclude<UnionColumn, 'kind'>]: unknown };

/** One SELECT: its `kind` tag, the expressions of the columns it fills, and `FROM … WHERE …`. */
export interface UnionArm {
  readonly kind: string;
  readonly columns: Partial<Record<Exclude<UnionColumn, 'kind'>, string>>;
  readonly from: string;
}

/** A backend's part of a union: its arms, and what it makes of the rows of its kinds. */
export interface UnionPart<T> {
  readonly arms: readonly UnionArm[];
  /**
   * A short name of everything the arms' text depends on but the numbering of the parameters
   * before them (how many objects, which arity): a statement of parts that all have one is
   * composed once per sequence of shapes (`unionSql`).
   */
  readonly shape?: string;
  absorb(rows: readonly UnionRow[]): T;
}

/**
 * A permission view that can join another backend's statements on the same client: its
 * `preload` as arms of a read, its `replaceObjectPermissions` as data-modifying CTEs of a write.
 */
export interface JoinablePermission {
  readonly sqlClient: SqlClient;
  preloadPart(userId: string | null, objectIds: readonly string[], params: Params): UnionPart<void> | null;
  /**
   * CTEs (named `acl_*`) that replace the object's ACL where `guard` (an SQL condition) holds;
   * `written` updates what the view knows, once the statement has run.
   */
  aclReplacePart(objectId: string, acl: Acl, options: { whole?: boolean }, params: Params, guard: string): { ctes: string; written(): void };
}

export function isJoinablePermission(permission: unknown): permission is JoinablePermission {
  const candidate = permission as Partial<JoinablePermission>;
  return typeof candidate.preloadPart === 'function' && typeof candidate.aclReplacePart === 'function';
}

function armSql(arm: UnionArm): string {
  const kind = arm.kind.replace(/'/g, "''");
  const columns = Object.entries(UNION_COLUMNS).map(([column, type]) => {
    if (column === 'kind') return `'${kind}'::text AS kind`;
    const expression = arm.columns[column as Exclude<UnionColumn, 'kind'>];
    return `${expression ?? `NULL::${type}`} AS ${column}`;
  });
  return `SELECT ${columns.join(', ')} ${arm.from}`;
}

/** The statement of several parts' arms, ordered by `orderBy` (a union column), composed anew. */
export function composeUnionSql(parts: readonly UnionPart<unknown>[], orderBy?: UnionColumn): string {
  const arms = parts.flatMap((part) => part.arms.map(armSql));
  return arms.join('\n UNION ALL\n ') + (orderBy ? `\n ORDER BY ${orderBy}` : '');
}

/**
 * Texts composed for sequences of shapes. A bounded memo of a pure function, shared by every
 * backend: composing the text and hashing a new one to find its prepared statement was ~4% of
 * a GET's busy time (bench/README.md #27); the same string each time keeps its hash.
 */
const composed = new Map<string, string>();
const COMPOSED_LIMIT = 128;

/** Forgets the composed texts (tests: a text composed anew against the memo's). */
export function forgetComposedUnions(): void {
  composed.clear();
}

/** `composeUnionSql`, composed once per sequence of part shapes when every part has one. */
export function unionSql(parts: readonly UnionPart<unknown>[], orderBy?: UnionColumn): string {
  let key: string | null = orderBy ?? '';
  for (const part of parts) {
    if (part.shape === undefined) {
      key = null;
      break;
    }
    key += `|${part.shape}`;
  }
  if (key === null) return composeUnionSql(parts, orderBy);
  let text = composed.get(key);
  if (text === undefined) {
    text = composeUnionSql(parts, orderBy);
    if (composed.size < COMPOSED_LIMIT) composed.set(key, text);
  }
  return text;
}

/** The rows of a part's own arms, in the statement's order. */
export function rowsOf(part: UnionPart<unknown>, rows: readonly UnionRow[]): UnionRow[] {
  const kinds = new Set(part.arms.map((arm) => arm.kind));
  return rows.filter((row) => kinds.has(row.kind));
}
