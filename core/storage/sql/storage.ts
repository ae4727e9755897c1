import type { FilterNode, JsonObject } from '../../filters/ast.ts';
import { beginTransaction, type QueryOptions, type SqlClient, type SqlDriver, type SqlResult } from '../../sql/driver.ts';
import { translateSqlError } from '../../sql/errors.ts';
import { Params, orderSql, whereSql } from '../../sql/filters.ts';
import type { Acl, Permission } from '../../permission/types.ts';
import { isJoinablePermission, rowsOf, unionSql, type JoinablePermission, type UnionPart, type UnionRow } from '../../sql/union.ts';
import { nextTimestamp } from '../timestamps.ts';
import {
  BUMP_TIMESTAMP,
  GET_MANY_CHUNK,
  INSERT_STAMPED,
  LISTED,
  LISTED_AS_TEXT,
  NOW_MS,
  OBJECT_COLUMNS,
  REVIVE_TOMBSTONE,
  dataOf,
  inRefsOrder,
  liveRefs,
  parentCondition,
  planOptions,
  readableBySql,
  timestampArm,
  purgeSql,
  toJsonText,
  VERSION_XMIN,
  versionOf,
  toObject,
  type LocatedRow,
  type Row,
} from './statements.ts';
import {
  ObjectNotFoundError,
  ReadonlyError,
  TIMESTAMP_NOT_WRITABLE,
  UnicityError,
  type DeleteAllOptions,
  type ListOptions,
  type ObjectRef,
  type ParentTimestamp,
  type ReadAhead,
  type ResourceVersion,
  type ReadAheadAnswer,
  type Storage,
  type StorageBackend,
  type StoredObject,
  type TransactionControl,
} from '../types.ts';

/** Storage operations over one SQL client (a transaction's connection, or the pool). */
class SqlStorageView implements Storage {
  protected readonly client: SqlClient;
  /** Parents whose timestamp row this transaction holds; null outside a transaction. */
  private readonly locked: Set<string> | null;

  constructor(client: SqlClient, transactional: boolean) {
    this.client = client;
    this.locked = transactional ? new Set() : null;
  }

  protected async run<R>(text: string, params: readonly unknown[], options?: QueryOptions): Promise<{ rows: R[]; rowCount: number }> {
    try {
      return await this.client.query<R>(text, params, options);
    } catch (error) {
      throw translateSqlError(error);
    }
  }

  async resourceTimestamp(
    resource: string,
    parentId: string,
    options: { create?: boolean; forUpdate?: boolean } = {},
  ): Promise<number> {
    if (options.forUpdate && options.create !== false && this.locked && !this.locked.has(`${resource}\u0000${parentId}`)) {
      // A precondition on the list (plural DELETE with If-Match) is checked under the lock its write takes.
      const { current, now } = await this.lockParent(resource, parentId);
      if (current !== 0) return current;
      await this.run('UPDATE timestamps SET last_modified = $3 WHERE parent_id = $1 AND resource_name = $2', [
        parentId,
        resource,
        now,
      ]);
      return now;
    }
    const found = await this.run<{ last_modified: number }>(
      'SELECT last_modified FROM timestamps WHERE parent_id = $1 AND resource_name = $2',
      [parentId, resource],
    );
    if (found.rows.length) return found.rows[0].last_modified;
    if (options.create === false) throw new ReadonlyError(TIMESTAMP_NOT_WRITABLE);
    const inserted = await this.run<{ last_modified: number }>(
      `INSERT INTO timestamps (parent_id, resource_name, last_modified) VALUES ($1, $2, ${NOW_MS})
       ON CONFLICT (parent_id, resource_name) DO UPDATE SET last_modified = timestamps.last_modified
       RETURNING last_modified`,
      [parentId, resource],
    );
    return inserted.rows[0].last_modified;
  }

  async resourceVersion(resource: string, parentId: string): Promise<ResourceVersion | undefined> {
    const found = await this.run<{ last_modified: number; xmin: string }>(
      `SELECT last_modified, ${VERSION_XMIN} AS xmin FROM timestamps WHERE parent_id = $1 AND resource_name = $2`,
      [parentId, resource],
    );
    const [row] = found.rows;
    return row ? { timestamp: row.last_modified, version: versionOf(row.last_modified, row.xmin) } : undefined;
  }

  async resourceTimestamps(resource: string, parentPattern: string): Promise<ParentTimestamp[]> {
    const params = new Params();
    const where = `resource_name = ${params.add(resource)} AND ${parentCondition(parentPattern, params)}`;
    const result = await this.run<{ parent_id: string; last_modified: number }>(
      `SELECT parent_id, last_modified FROM timestamps WHERE ${where}`,
      params.values,
    );
    return result.rows.map((row) => ({ parentId: row.parent_id, timestamp: Number(row.last_modified) }));
  }

  /**
   * Takes the parent's timestamp row lock (held until commit): writers of one parent are
   * serialised, so timestamps are strictly increasing across processes and nodes.
   */
  private async lockParent(resource: string, parentId: string): Promise<{ current: number; now: number }> {
    const result = await this.run<{ last_modified: number; now: number }>(
      `INSERT INTO timestamps (parent_id, resource_name, last_modified) VALUES ($1, $2, 0)
       ON CONFLICT (parent_id, resource_name) DO UPDATE SET last_modified = timestamps.last_modified
       RETURNING last_modified, ${NOW_MS} AS now`,
      [parentId, resource],
    );
    this.locked?.add(`${resource}\u0000${parentId}`);
    return { current: result.rows[0].last_modified, now: result.rows[0].now };
  }

  private async bump(resource: string, parentId: string, requested: number | undefined): Promise<number> {
    if (requested === undefined) {
      // The common case in one statement (it runs under the parent's lock): max(now, current + 1).
      const bumped = await this.run<{ last_modified: number }>(BUMP_TIMESTAMP, [parentId, resource]);
      this.locked?.add(`${resource}\u0000${parentId}`);
      return bumped.rows[0].last_modified;
    }
    const { current, now } = await this.lockParent(resource, parentId);
    const { objectTimestamp, resourceTimestamp } = nextTimestamp(current, now, requested);
    if (resourceTimestamp !== current) {
      await this.run('UPDATE timestamps SET last_modified = $3 WHERE parent_id = $1 AND resource_name = $2', [
        parentId,
        resource,
        resourceTimestamp,
      ]);
    }
    return objectTimestamp;
  }

  async create(resource: string, parentId: string, object: JsonObject & { id: string }): Promise<StoredObject> {
    const requested = typeof object.last_modified === 'number' ? object.last_modified : undefined;
    const data = JSON.stringify(dataOf(object));
    let inserted: SqlResult<Row>;
    if (requested === undefined) {
      // The common case in one statement: the parent's lock, its timestamp bump and the insert
      // (writers of a parent are serialised on that lock: the shorter its hold, the more writes).
      inserted = await this.run<Row>(`WITH stamp AS (${BUMP_TIMESTAMP}) ${INSERT_STAMPED}`, [parentId, resource, object.id, data]);
      this.locked?.add(`${resource}\u0000${parentId}`);
    } else {
      const timestamp = await this.bump(resource, parentId, requested);
      inserted = await this.run<Row>(
        `INSERT INTO objects (parent_id, resource_name, id, last_modified, deleted, data)
         VALUES ($1, $2, $3, $4, FALSE, $5::jsonb)
         ${REVIVE_TOMBSTONE}`,
        [parentId, resource, object.id, timestamp, data],
      );
    }
    if (inserted.rows.length) return toObject(inserted.rows[0]);
    throw await this.conflict(resource, parentId, object.id, requested);
  }

  /** A create that met a live object: the error carries that object. */
  private async conflict(resource: string, parentId: string, id: string, requested?: number): Promise<UnicityError> {
    const existing = await this.get(resource, parentId, id);
    return new UnicityError(existing ?? { id, last_modified: requested ?? 0 });
  }

  /**
   * The common create (no client `last_modified`) with its ACL in one statement: the parent's
   * lock is then held from this statement to COMMIT only (bench/README.md #24). The ACL CTEs
   * run only if the object was inserted: a conflict leaves the existing object's ACL as it is.
   */
  async createWithAcl(
    resource: string,
    parentId: string,
    object: JsonObject & { id: string },
    write: { permission: Permission; objectId: string; acl: Acl },
  ): Promise<StoredObject | undefined> {
    if (typeof object.last_modified === 'number' || !this.joinsPermissions(write.permission)) return undefined;
    const params = new Params();
    for (const value of [parentId, resource, object.id, JSON.stringify(dataOf(object))]) params.add(value);
    const acl = write.permission.aclReplacePart(write.objectId, write.acl, { whole: true }, params, 'EXISTS (SELECT 1 FROM inserted)');
    const result = await this.run<Row>(
      `WITH stamp AS (${BUMP_TIMESTAMP}), inserted AS (${INSERT_STAMPED}), ${acl.ctes}
       SELECT id, last_modified, deleted, data FROM inserted`,
      params.values,
    );
    this.locked?.add(`${resource}\u0000${parentId}`);
    if (!result.rows.length) throw await this.conflict(resource, parentId, object.id);
    acl.written();
    return toObject(result.rows[0]);
  }

  async get(resource: string, parentId: string, id: string, options: { forUpdate?: boolean } = {}): Promise<StoredObject | null> {
    const lockable = options.forUpdate && this.locked && !this.locked.has(`${resource}\u0000${parentId}`);
    if (lockable) await this.lockParent(resource, parentId);
    const result = await this.run<Row>(
      `SELECT id, last_modified, deleted, data FROM objects
       WHERE parent_id = $1 AND resource_name = $2 AND id = $3 AND NOT deleted`,
      [parentId, resource, id],
    );
    return result.rows.length ? toObject(result.rows[0]) : null;
  }

  async getMany(refs: readonly ObjectRef[]): Promise<(StoredObject | null)[]> {
    if (!refs.length) return [];
    if (refs.length > GET_MANY_CHUNK) {
      const chunks = [];
      for (let i = 0; i < refs.length; i += GET_MANY_CHUNK) chunks.push(await this.getMany(refs.slice(i, i + GET_MANY_CHUNK)));
      return chunks.flat();
    }
    const params = new Params();
    const result = await this.run<LocatedRow>(
      `SELECT parent_id, resource_name, id, last_modified, deleted, data FROM objects WHERE ${liveRefs(refs, params)}`,
      params.values,
    );
    return inRefsOrder(refs, result.rows);
  }

  joinsPermissions(permission: Permission): permission is Permission & JoinablePermission {
    return isJoinablePermission(permission) && permission.sqlClient === this.client;
  }

  async readAhead(ask: ReadAhead): Promise<ReadAheadAnswer | undefined> {
    const { refs, timestampOf, permission } = ask;
    if (!this.joinsPermissions(permission) || refs.length > GET_MANY_CHUNK) return undefined;
    const params = new Params();
    const preload = permission.preloadPart(ask.userId, ask.objectIds, params);
    const objects: UnionPart<(StoredObject | null)[]> = {
      arms: refs.length ? [{ kind: 'object', columns: OBJECT_COLUMNS, from: `FROM objects WHERE ${liveRefs(refs, params)}` }] : [],
      shape: `objects:${refs.length}`,
      absorb: (rows) => inRefsOrder(refs, rows as unknown as LocatedRow[]),
    };
    const timestamp: UnionPart<ResourceVersion | undefined> = {
      arms: timestampOf ? [timestampArm(timestampOf.resource, timestampOf.parentId, params)] : [],
      shape: 'timestamp',
      absorb: ([row]) => (row ? { timestamp: row.last_modified as number, version: versionOf(row.last_modified as number, row.id as string) } : undefined),
    };
    const parts = [preload, objects, timestamp].filter((part): part is UnionPart<unknown> => part !== null && part.arms.length > 0);
    const { rows } = parts.length ? await this.run<UnionRow>(unionSql(parts, 'principal'), params.values) : { rows: [] };
    preload?.absorb(rowsOf(preload, rows));
    const list = timestamp.absorb(rowsOf(timestamp, rows));
    return { objects: objects.absorb(rowsOf(objects, rows)), timestamp: list?.timestamp, version: list?.version };
  }

  async update(resource: string, parentId: string, id: string, object: JsonObject): Promise<StoredObject> {
    const previous = await this.get(resource, parentId, id, { forUpdate: true });
    const requested = typeof object.last_modified === 'number' ? object.last_modified : undefined;
    const honoured = requested !== undefined && (!previous || requested > previous.last_modified) ? requested : undefined;
    const timestamp = await this.bump(resource, parentId, honoured);
    const result = await this.run<Row>(
      `INSERT INTO objects (parent_id, resource_name, id, last_modified, deleted, data)
       VALUES ($1, $2, $3, $4, FALSE, $5::jsonb)
       ON CONFLICT (parent_id, resource_name, id) DO UPDATE
         SET last_modified = EXCLUDED.last_modified, deleted = FALSE, data = EXCLUDED.data
       RETURNING id, last_modified, deleted, data`,
      [parentId, resource, id, timestamp, JSON.stringify(dataOf(object))],
    );
    return toObject(result.rows[0]);
  }

  async delete(
    resource: string,
    parentId: string,
    id: string,
    options: { lastModified?: number; withTombstone?: boolean } = {},
  ): Promise<StoredObject> {
    const existing = await this.get(resource, parentId, id, { forUpdate: true });
    if (!existing) throw new ObjectNotFoundError(id);
    const honoured = options.lastModified !== undefined && options.lastModified > existing.last_modified ? options.lastModified : undefined;
    const timestamp = await this.bump(resource, parentId, honoured);
    await this.tombstone(resource, parentId, [id], timestamp, options.withTombstone ?? true);
    return { id, last_modified: timestamp, deleted: true };
  }

  private async tombstone(resource: string, parentId: string, ids: string[], timestamp: number, keep: boolean) {
    if (!keep) {
      // The list's version moves with the purge (its timestamp does not).
      await this.run(purgeSql('parent_id = $1 AND resource_name = $2 AND id = ANY($3::text[])'), [parentId, resource, ids]);
      return;
    }
    await this.run(
      `UPDATE objects SET deleted = TRUE, data = '{}'::jsonb, last_modified = $4
       WHERE parent_id = $1 AND resource_name = $2 AND id = ANY($3::text[])`,
      [parentId, resource, ids, timestamp],
    );
  }

  async deleteAll(resource: string | null, parentId: string, options: DeleteAllOptions = {}): Promise<StoredObject[]> {
    const keep = options.withTombstones ?? true;
    if (!keep && !options.filters?.length && options.limit === undefined && options.before === undefined) {
      return this.purgeAll(resource, parentId);
    }
    const rows = await this.select(resource, parentId, { ...options, includeDeleted: false }, options.before);
    if (!keep) return this.purgeRows(rows);
    const deleted: StoredObject[] = [];
    for (const row of rows) {
      const timestamp = await this.bump(row.resource_name, row.parent_id, undefined);
      await this.tombstone(row.resource_name, row.parent_id, [row.id], timestamp, true);
      deleted.push({ id: row.id, last_modified: timestamp, deleted: true });
    }
    return deleted;
  }

  /** Purges selected rows with one statement per (resource, parent), not one per row (history trimming). */
  private async purgeRows(rows: readonly LocatedRow[]): Promise<StoredObject[]> {
    const groups = new Map<string, { resource: string; parentId: string; ids: string[] }>();
    for (const row of rows) {
      const key = `${row.resource_name}\u0000${row.parent_id}`;
      const group = groups.get(key) ?? { resource: row.resource_name, parentId: row.parent_id, ids: [] };
      group.ids.push(row.id);
      groups.set(key, group);
    }
    for (const { resource, parentId, ids } of groups.values()) await this.tombstone(resource, parentId, ids, 0, false);
    return rows.map((row) => ({ id: row.id, last_modified: row.last_modified, deleted: true }));
  }

  /** Cascading purge of a whole subtree in one statement. */
  private async purgeAll(resource: string | null, parentId: string): Promise<StoredObject[]> {
    const params = new Params();
    const conditions = [parentCondition(parentId, params), 'NOT deleted'];
    if (resource !== null) conditions.push(`resource_name = ${params.add(resource)}`);
    const result = await this.run<{ id: string; last_modified: number }>(
      `DELETE FROM objects WHERE ${conditions.join(' AND ')} RETURNING id, last_modified`,
      params.values,
    );
    // The purged lists start afresh: their next read gets a new timestamp (as a re-created collection must).
    await this.run(`DELETE FROM timestamps WHERE ${conditions.filter((c) => c !== 'NOT deleted').join(' AND ')}`, params.values);
    return result.rows.map((r) => ({ id: r.id, last_modified: r.last_modified, deleted: true }));
  }

  async purgeDeleted(
    resource: string | null,
    parentId: string,
    options: { before?: number; maxRetained?: number } = {},
  ): Promise<number> {
    // A tombstone goes when it meets every criterion given: older than `before`, and beyond
    // the `maxRetained` newest tombstones of its parent and resource (all ages counted).
    const params = new Params();
    const conditions = [parentCondition(parentId, params), 'deleted'];
    if (resource !== null) conditions.push(`resource_name = ${params.add(resource)}`);
    let where = conditions.join(' AND ');
    if (options.maxRetained !== undefined) {
      const rank = `(SELECT parent_id, resource_name, id, row_number() OVER (PARTITION BY parent_id, resource_name ORDER BY last_modified DESC) AS rank
                     FROM objects WHERE ${where})`;
      where = `(parent_id, resource_name, id) IN (SELECT parent_id, resource_name, id FROM ${rank} ranked WHERE rank > ${params.add(options.maxRetained)})`;
    }
    if (options.before !== undefined) where = `${where} AND last_modified < ${params.add(options.before)}`;
    const result = await this.run<{ purged: number }>(purgeSql(where), params.values);
    if (resource === null && options.before === undefined && options.maxRetained === undefined) {
      // A purged parent starts afresh, as in Kinto: its list timestamps go with its objects.
      const scope = new Params();
      await this.run(`DELETE FROM timestamps WHERE ${parentCondition(parentId, scope)}`, scope.values);
    }
    return result.rows[0].purged;
  }

  async list(resource: string, parentId: string, options: ListOptions = {}): Promise<StoredObject[]> {
    return (await this.select(resource, parentId, options, undefined, LISTED)).map(toObject);
  }

  async listJson(resource: string, parentId: string, options: ListOptions = {}): Promise<string[]> {
    const rows = await this.select<string>(resource, parentId, options, undefined, LISTED_AS_TEXT);
    return rows.map(toJsonText);
  }

  async count(
    resource: string,
    parentId: string,
    filters: readonly FilterNode[] = [],
    options: { includeDeleted?: boolean } = {},
  ): Promise<number> {
    const params = new Params();
    const where = [parentCondition(parentId, params), `resource_name = ${params.add(resource)}`, whereSql(filters, params)];
    if (!options.includeDeleted) where.push('NOT deleted');
    const text = `SELECT count(*) AS count FROM objects WHERE ${where.join(' AND ')}`;
    const result = await this.run<{ count: number | string }>(text, params.values, planOptions(parentId, filters));
    return Number(result.rows[0].count);
  }

  /** `columns`: with `data` as jsonb (parsed by the driver), or as its text for `listJson`. */
  private async select<D = JsonObject>(
    resource: string | null,
    parentId: string,
    options: ListOptions,
    before?: number,
    columns = 'parent_id, resource_name, id, last_modified, deleted, data',
  ): Promise<(Omit<Row, 'data'> & { data: D; parent_id: string; resource_name: string })[]> {
    const params = new Params();
    const where = [parentCondition(parentId, params)];
    if (resource !== null) where.push(`resource_name = ${params.add(resource)}`);
    if (!options.includeDeleted) where.push('NOT deleted');
    if (before !== undefined) where.push(`last_modified < ${params.add(before)}`);
    where.push(whereSql(options.filters ?? [], params));
    if (options.readableBy) where.push(readableBySql(options.readableBy, params));
    const order = orderSql(options.sort ?? [{ field: ['last_modified'], direction: -1 }], params);
    const limit = options.limit === undefined ? '' : ` LIMIT ${params.add(options.limit)}`;
    const conditions = where.join(' AND ');
    // Objects and tombstones have their own partial indexes: a listing of both (`_since`)
    // reads each in index order and merges them, instead of scanning the whole parent.
    // The arms keep `data` as jsonb: the outer sort on a data field reads it (not its text).
    const inner = columns === LISTED_AS_TEXT ? LISTED : columns;
    const text = options.includeDeleted
      ? `SELECT ${columns} FROM ((SELECT ${inner} FROM objects WHERE ${conditions} AND NOT deleted ORDER BY ${order}${limit})
         UNION ALL (SELECT ${inner} FROM objects WHERE ${conditions} AND deleted ORDER BY ${order}${limit})) AS objects
         ORDER BY ${order}${limit}`
      : `SELECT ${columns} FROM objects WHERE ${conditions} ORDER BY ${order}${limit}`;
    type Selected = Omit<Row, 'data'> & { data: D; parent_id: string; resource_name: string };
    const result = await this.run<Selected>(text, params.values, planOptions(parentId, options.filters));
    return result.rows;
  }
}

class SqlStorageTransaction extends SqlStorageView implements TransactionControl {
  private readonly finish: (commit: boolean) => Promise<void>;
  /** Lets a permission backend on the same database join this transaction. */
  readonly sql: { driver: SqlDriver; client: SqlClient };

  constructor(driver: SqlDriver, client: SqlClient, finish: (commit: boolean) => Promise<void>) {
    super(client, true);
    this.finish = finish;
    this.sql = { driver, client };
  }

  async commit(): Promise<void> {
    try {
      await this.finish(true);
    } catch (error) {
      throw translateSqlError(error);
    }
  }

  async rollback(): Promise<void> {
    await this.finish(false);
  }
}

/**
 * A read-only unit of work needs no transaction: at READ COMMITTED each statement takes its
 * own snapshot anyway. Without BEGIN/COMMIT a read saves two round trips and holds no pool
 * connection between its queries (bench/README.md). The permission backend joins it on the pool.
 */
class SqlStorageReads extends SqlStorageView implements TransactionControl {
  readonly sql: { driver: SqlDriver; client: SqlClient };

  constructor(driver: SqlDriver) {
    super(driver, false);
    this.sql = { driver, client: driver };
  }

  async commit(): Promise<void> {}

  async rollback(): Promise<void> {}
}

/** PostgreSQL storage (server or PGlite): objects and tombstones in one table, JSONB data. */
export class SqlStorage extends SqlStorageView implements StorageBackend {
  readonly name: string;
  private readonly driver: SqlDriver;

  constructor(driver: SqlDriver) {
    super(driver, false);
    this.driver = driver;
    this.name = driver.name;
  }

  async begin(options: { readonly?: boolean } = {}): Promise<Storage & TransactionControl> {
    if (options.readonly) return new SqlStorageReads(this.driver);
    let transaction;
    try {
      transaction = await beginTransaction(this.driver, false);
    } catch (error) {
      throw translateSqlError(error);
    }
    return new SqlStorageTransaction(this.driver, transaction.client, transaction.finish);
  }

  async heartbeat(): Promise<boolean> {
    try {
      await this.driver.query('SELECT 1 FROM timestamps LIMIT 1');
      return true;
    } catch {
      return false;
    }
  }

  async flush(): Promise<void> {
    await this.driver.exec('DELETE FROM objects; DELETE FROM timestamps;');
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
