/**
 * Several backends' reads in one statement: each backend contributes arms of one `UNION ALL`
 * (its SELECTs, over one shape of columns) and reads its own rows back by `kind`. A GET of one
 * object then costs one round trip instead of two, when its storage and permission backends
 * share a database (bench/README.md #12, #20).
 */
import type { SqlClient } from './driver.ts';
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
  absorb(rows: readonly UnionRow[]): T;
}

/** A backend view that can add its `preload` to another backend's statement on the same client. */
export interface PreloadInUnion {
  readonly sqlClient: SqlClient;
  preloadPart(userId: string | null, objectIds: readonly string[], params: Params): UnionPart<void> | null;
}

export function canPreloadInUnion(permission: unknown): permission is PreloadInUnion {
  return typeof (permission as Partial<PreloadInUnion>).preloadPart === 'function';
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

/** The statement of several parts' arms, ordered by `orderBy` (a union column). */
export function unionSql(parts: readonly UnionPart<unknown>[], orderBy?: UnionColumn): string {
  const arms = parts.flatMap((part) => part.arms.map(armSql));
  return arms.join('\n UNION ALL\n ') + (orderBy ? `\n ORDER BY ${orderBy}` : '');
}

/** The rows of a part's own arms, in the statement's order. */
export function rowsOf(part: UnionPart<unknown>, rows: readonly UnionRow[]): UnionRow[] {
  const kinds = new Set(part.arms.map((arm) => arm.kind));
  return rows.filter((row) => kinds.has(row.kind));
}
