import { beginTransaction, type SqlClient, type SqlDriver } from '../sql/driver.ts';
import { translateSqlError } from '../sql/errors.ts';
import { Params } from '../sql/filters.ts';
import { unionSql, type UnionArm, type UnionPart, type UnionRow } from '../sql/union.ts';
import type { ComponentMigrations } from '../sql/migrations.ts';
import type { TransactionControl } from '../storage/types.ts';
import { patternToRegExp, type Acl, type BoundPermission, type Permission, type PermissionBackend } from './types.ts';
import { compareCodePoints } from '../filters/compare.ts';

export const PERMISSION_MIGRATIONS: ComponentMigrations = {
  component: 'permission',
  migrations: [
    {
      version: 1,
      name: 'initial',
      sql: `
CREATE TABLE IF NOT EXISTS access_control_entries (
  object_id TEXT COLLATE "C" NOT NULL,
  permission TEXT COLLATE "C" NOT NULL,
  principal TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (object_id, permission, principal)
);
CREATE INDEX IF NOT EXISTS access_control_entries_by_principal ON access_control_entries (principal, permission);
CREATE TABLE IF NOT EXISTS user_principals (
  user_id TEXT COLLATE "C" NOT NULL,
  principal TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (user_id, principal)
);
CREATE INDEX IF NOT EXISTS user_principals_by_principal ON user_principals (principal);
`,
    },
  ],
};

/** A pattern as a POSIX regexp for `~` (segment) or a LIKE prefix (subtree), always a parameter. */
function regexSource(pattern: string, mode: 'segment' | 'subtree'): string {
  return patternToRegExp(pattern, mode).source;
}

/**
 * ACEs of `principals` matching the bound patterns. `…/records/*` needs no regexp (one per ACE
 * made shared listings slow): a prefix and no further `/`. Other patterns keep the regexp,
 * after the cheap test on their literal prefix.
 */
function accessibleCondition(principals: readonly string[], bound?: readonly BoundPermission[]): [string, unknown[]] {
  if (!bound) return ['principal = ANY($1::text[])', [principals]];
  const prefixes = bound.map(([pattern]) => literalPrefix(pattern));
  const regexps = bound.map(([pattern]) => (isLastSegmentWildcard(pattern) ? null : regexSource(pattern, 'segment')));
  const condition = `principal = ANY($1::text[])
    AND EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[], $4::text[]) AS b(re, perm, prefix)
                WHERE ace.permission = b.perm AND starts_with(ace.object_id, b.prefix)
                  AND CASE WHEN b.re IS NULL
                        THEN length(ace.object_id) > length(b.prefix)
                          AND strpos(substr(ace.object_id, length(b.prefix) + 1), '/') = 0
                        ELSE ace.object_id ~ b.re END)`;
  return [condition, [principals, regexps, bound.map(([, perm]) => perm), prefixes]];
}

/**
 * Replaces the object's ACEs for the permissions of `acl` (all of them when `whole`), keeping
 * those already there, as data-modifying CTEs done where `guard` holds.
 */
function aclReplaceCtes(objectId: string, acl: Acl, options: { whole?: boolean }, params: Params, guard: string): string {
  const perms = Object.keys(acl);
  const rows = perms.flatMap((perm) => [...new Set(acl[perm])].map((principal) => [perm, principal]));
  const object = params.add(objectId);
  const wantedPerms = params.add(rows.map((r) => r[0]));
  const wantedPrincipals = params.add(rows.map((r) => r[1]));
  const replaced = params.add(options.whole ? null : perms);
  return `acl_wanted AS (SELECT p, pr FROM unnest(${wantedPerms}::text[], ${wantedPrincipals}::text[]) AS t(p, pr)),
     acl_gone AS (
       DELETE FROM access_control_entries a
        WHERE ${guard} AND a.object_id = ${object} AND (${replaced}::text[] IS NULL OR a.permission = ANY(${replaced}::text[]))
          AND NOT EXISTS (SELECT 1 FROM acl_wanted w WHERE w.p = a.permission AND w.pr = a.principal)),
     acl_added AS (
       INSERT INTO access_control_entries (object_id, permission, principal)
       SELECT ${object}, p, pr FROM acl_wanted WHERE ${guard} ON CONFLICT DO NOTHING)`;
}

function literalPrefix(pattern: string): string {
  const star = pattern.indexOf('*');
  return star < 0 ? pattern : pattern.slice(0, star);
}

/** `/buckets/b/collections/c/records/*`: one wildcard, the whole last segment. */
function isLastSegmentWildcard(pattern: string): boolean {
  return pattern.endsWith('/*') && pattern.indexOf('*') === pattern.length - 1;
}

class SqlPermissionView implements Permission {
  protected readonly client: SqlClient;

  constructor(client: SqlClient) {
    this.client = client;
  }

  protected async run<R>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    try {
      return (await this.client.query<R>(text, params)).rows;
    } catch (error) {
      throw translateSqlError(error);
    }
  }

  async addUserPrincipal(userId: string, principal: string): Promise<void> {
    await this.run('INSERT INTO user_principals VALUES ($1, $2) ON CONFLICT DO NOTHING', [userId, principal]);
  }

  async removeUserPrincipal(userId: string, principal: string): Promise<void> {
    await this.run('DELETE FROM user_principals WHERE user_id = $1 AND principal = $2', [userId, principal]);
  }

  async removePrincipal(principal: string): Promise<void> {
    await this.run('DELETE FROM user_principals WHERE principal = $1', [principal]);
    await this.run('DELETE FROM access_control_entries WHERE principal = $1', [principal]);
  }

  async getUserPrincipals(userId: string): Promise<string[]> {
    const rows = await this.run<{ principal: string }>(
      `SELECT DISTINCT principal FROM user_principals WHERE user_id = $1 OR user_id = 'system.Authenticated'`,
      [userId],
    );
    return rows.map((r) => r.principal);
  }

  async addPrincipalToAce(objectId: string, permission: string, principal: string): Promise<void> {
    await this.run('INSERT INTO access_control_entries VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [objectId, permission, principal]);
  }

  async removePrincipalFromAce(objectId: string, permission: string, principal: string): Promise<void> {
    await this.run('DELETE FROM access_control_entries WHERE object_id = $1 AND permission = $2 AND principal = $3', [
      objectId, permission, principal,
    ]);
  }

  async getObjectPermissionPrincipals(objectId: string, permission: string): Promise<string[]> {
    const rows = await this.run<{ principal: string }>(
      'SELECT principal FROM access_control_entries WHERE object_id = $1 AND permission = $2', [objectId, permission],
    );
    return rows.map((r) => r.principal);
  }

  async getObjectsPermissions(objectIds: readonly string[], permissions?: readonly string[]): Promise<Acl[]> {
    if (!objectIds.length) return [];
    const rows = await this.run<{ object_id: string; permission: string; principal: string }>(
      `SELECT object_id, permission, principal FROM access_control_entries
       WHERE object_id = ANY($1::text[]) AND ($2::text[] IS NULL OR permission = ANY($2::text[]))
       ORDER BY principal`,
      [objectIds, permissions ?? null],
    );
    const byObject = new Map<string, Acl>();
    for (const row of rows) {
      const acl = byObject.get(row.object_id) ?? {};
      (acl[row.permission] ??= []).push(row.principal);
      byObject.set(row.object_id, acl);
    }
    return objectIds.map((id) => byObject.get(id) ?? {});
  }

  /** One statement: the ACEs that go are deleted, those that come inserted (kept ones untouched). */
  async replaceObjectPermissions(objectId: string, acl: Acl, options: { whole?: boolean } = {}): Promise<void> {
    if (!Object.keys(acl).length && !options.whole) return;
    const params = new Params();
    await this.run(`WITH ${aclReplaceCtes(objectId, acl, options, params, 'TRUE')} SELECT NULL`, params.values);
  }

  async deleteObjectPermissions(...patterns: string[]): Promise<void> {
    const exact = patterns.filter((p) => !p.includes('*'));
    const wild = patterns.filter((p) => p.includes('*')).map((p) => regexSource(p, 'subtree'));
    if (exact.length) await this.run('DELETE FROM access_control_entries WHERE object_id = ANY($1::text[])', [exact]);
    if (wild.length) await this.run('DELETE FROM access_control_entries WHERE object_id ~ ANY($1::text[])', [wild]);
  }

  async getAccessibleObjects(principals: readonly string[], bound?: readonly BoundPermission[]): Promise<Map<string, Set<string>>> {
    if (bound && !bound.length) return new Map();
    const [condition, params] = accessibleCondition(principals, bound);
    // No DISTINCT: the map below drops the pairs several principals grant, and PostgreSQL's sort
    // for it was a third of the statement's time on 5,000 ACEs (bench/README.md #15).
    const rows = await this.run<{ object_id: string; permission: string }>(
      `SELECT object_id, permission FROM access_control_entries ace WHERE ${condition}`,
      params,
    );
    const result = new Map<string, Set<string>>();
    for (const row of rows) {
      if (!result.has(row.object_id)) result.set(row.object_id, new Set());
      result.get(row.object_id)!.add(row.permission);
    }
    return result;
  }

  async hasAccessibleObjects(principals: readonly string[], bound: readonly BoundPermission[]): Promise<boolean> {
    if (!bound.length) return false;
    const [condition, params] = accessibleCondition(principals, bound);
    const rows = await this.run<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM access_control_entries ace WHERE ${condition}) AS found`,
      params,
    );
    return rows[0].found;
  }

  async getAuthorizedPrincipals(bound: readonly BoundPermission[]): Promise<Set<string>> {
    if (!bound.length) return new Set();
    const rows = await this.run<{ principal: string }>(
      `SELECT DISTINCT principal FROM access_control_entries ace
       JOIN unnest($1::text[], $2::text[]) AS b(object_id, permission)
         ON ace.object_id = b.object_id AND ace.permission = b.permission`,
      [bound.map(([id]) => id), bound.map(([, perm]) => perm)],
    );
    return new Set(rows.map((r) => r.principal));
  }
}

/** The number of parameters `fixedArityList` passes (undefined: one array). */
const fixedArity = (values: readonly unknown[]) => [4, 8, 16].find((n) => n >= values.length);

/**
 * `IN ($n, …)` padded with NULLs to 4, 8 or 16 parameters, beyond that `= ANY($n)`. PostgreSQL
 * never reuses a generic plan for `= ANY($n)` (it estimates 10 elements and keeps re-planning
 * with the values), while a fixed number of parameters goes generic after five executions
 * (bench/README.md #18). NULL never matches, so the padding selects nothing.
 */
function fixedArityList(values: readonly string[], params: Params): string {
  const size = fixedArity(values);
  if (size === undefined) return `= ANY(${params.add(values)}::text[])`;
  const padded: (string | null)[] = [...values, ...Array<null>(size - values.length).fill(null)];
  return `IN (${padded.map((value) => `${params.add(value)}::text`).join(', ')})`;
}

/**
 * One request's (or one batch's) view. Each request asks for the caller's principals, for
 * who holds the permissions bound to its object, and (for the response) for that object's
 * ACL; the subrequests of a batch ask again. The principals and the ACLs of the objects met
 * are remembered for the unit of work, and forgotten when this unit writes them.
 */
class SqlPermissionTransaction extends SqlPermissionView implements TransactionControl {
  private readonly finish: (commit: boolean) => Promise<void>;
  private readonly principals = new Map<string, string[]>();
  /** Full ACL (every permission) of objects read by an authorization check. */
  private readonly acls = new Map<string, Acl>();

  constructor(client: SqlClient, finish: (commit: boolean) => Promise<void>) {
    super(client);
    this.finish = finish;
  }

  override async getUserPrincipals(userId: string): Promise<string[]> {
    let found = this.principals.get(userId);
    if (!found) {
      found = await super.getUserPrincipals(userId);
      this.principals.set(userId, found);
    }
    return [...found];
  }

  /** One query reads the whole ACL of the bound objects: the response's `permissions` need it next. */
  override async getAuthorizedPrincipals(bound: readonly BoundPermission[]): Promise<Set<string>> {
    // Usually every ACL is known (read ahead): nothing to collect then.
    // Indexed loops: destructuring a tuple runs the iterator protocol (an allocation each).
    let missing: string[] | undefined;
    for (let i = 0; i < bound.length; i++) {
      const object = bound[i][0];
      if (!this.acls.has(object) && !missing?.includes(object)) (missing ??= []).push(object);
    }
    if (missing) {
      const acls = await super.getObjectsPermissions(missing);
      missing.forEach((object, i) => this.acls.set(object, acls[i]));
    }
    const authorized = new Set<string>();
    for (let i = 0; i < bound.length; i++) {
      const holders = this.acls.get(bound[i][0])?.[bound[i][1]];
      if (holders) for (let j = 0; j < holders.length; j++) authorized.add(holders[j]);
    }
    return authorized;
  }

  /** The caller's principals and the objects' ACLs in one statement (a GET of one object asks both). */
  async preload(userId: string | null, objectIds: readonly string[]): Promise<void> {
    const params = new Params();
    const part = this.preloadPart(userId, objectIds, params);
    if (!part) return;
    part.absorb(await this.run<UnionRow>(unionSql([part], 'principal'), params.values));
  }

  get sqlClient(): SqlClient {
    return this.client;
  }

  /**
   * `preload` as arms of a union (core/sql/union.ts), alone or in another backend's
   * statement; null when everything asked is already known.
   */
  preloadPart(userId: string | null, objectIds: readonly string[], params: Params): UnionPart<void> | null {
    const user = userId !== null && !this.principals.has(userId) ? userId : null;
    const objects: string[] = [];
    for (let i = 0; i < objectIds.length; i++) {
      const object = objectIds[i];
      if (!this.acls.has(object) && !objects.includes(object)) objects.push(object);
    }
    if (user === null && !objects.length) return null;
    const userParam = params.add(user);
    const arms: UnionArm[] = [
      {
        kind: 'principal',
        columns: { principal: 'principal' },
        from: `FROM user_principals
        WHERE ${userParam}::text IS NOT NULL AND (user_id = ${userParam} OR user_id = 'system.Authenticated')`,
      },
      {
        kind: 'ace',
        columns: { object_id: 'object_id', permission: 'permission', principal: 'principal' },
        from: `FROM access_control_entries WHERE object_id ${fixedArityList(objects, params)}`,
      },
    ];
    return { arms, shape: `preload:${fixedArity(objects) ?? 'any'}`, absorb: (rows) => this.absorbPreload(user, objects, rows) };
  }

  /** Rows sorted by principal (ACL principals keep that order). */
  private absorbPreload(user: string | null, objects: readonly string[], rows: readonly UnionRow[]): void {
    const principals = new Set<string>();
    for (const object of objects) this.acls.set(object, {});
    for (const row of rows) {
      if (row.kind === 'principal') principals.add(row.principal as string);
      else if (row.kind === 'ace') (this.acls.get(row.object_id as string)![row.permission as string] ??= []).push(row.principal as string);
    }
    if (user !== null) this.principals.set(user, [...principals]);
  }

  override async getObjectsPermissions(objectIds: readonly string[], permissions?: readonly string[]): Promise<Acl[]> {
    if (!objectIds.every((object) => this.acls.has(object))) return super.getObjectsPermissions(objectIds, permissions);
    return objectIds.map((object) => {
      const acl = this.acls.get(object)!;
      const kept = Object.entries(acl).filter(([perm]) => !permissions || permissions.includes(perm));
      return Object.fromEntries(kept.map(([perm, principals]) => [perm, [...principals]]));
    });
  }

  private changedAces(objectId: string | null): void {
    if (objectId === null) this.acls.clear();
    else this.acls.delete(objectId);
  }

  override async addUserPrincipal(userId: string, principal: string): Promise<void> {
    this.principals.clear();
    await super.addUserPrincipal(userId, principal);
  }

  override async removeUserPrincipal(userId: string, principal: string): Promise<void> {
    this.principals.clear();
    await super.removeUserPrincipal(userId, principal);
  }

  override async removePrincipal(principal: string): Promise<void> {
    this.principals.clear();
    this.changedAces(null);
    await super.removePrincipal(principal);
  }

  override async addPrincipalToAce(objectId: string, permission: string, principal: string): Promise<void> {
    this.changedAces(objectId);
    await super.addPrincipalToAce(objectId, permission, principal);
  }

  override async removePrincipalFromAce(objectId: string, permission: string, principal: string): Promise<void> {
    this.changedAces(objectId);
    await super.removePrincipalFromAce(objectId, permission, principal);
  }

  override async replaceObjectPermissions(objectId: string, acl: Acl, options: { whole?: boolean } = {}): Promise<void> {
    const written = this.replacing(objectId, acl, options);
    await super.replaceObjectPermissions(objectId, acl, options);
    written();
  }

  aclReplacePart(objectId: string, acl: Acl, options: { whole?: boolean }, params: Params, guard: string) {
    return { ctes: aclReplaceCtes(objectId, acl, options, params, guard), written: this.replacing(objectId, acl, options) };
  }

  /** A known ACL (read by the authorization, or whole) is updated in memory: the response reads it next. */
  private replacing(objectId: string, acl: Acl, options: { whole?: boolean }): () => void {
    const known = options.whole ? {} : this.acls.get(objectId);
    this.changedAces(objectId);
    return () => {
      if (known === undefined) return;
      const next: Acl = { ...known };
      for (const [perm, principals] of Object.entries(acl)) {
        if (principals.length) next[perm] = [...new Set(principals)].sort(compareCodePoints);
        else delete next[perm];
      }
      this.acls.set(objectId, next);
    };
  }

  override async getObjectPermissionPrincipals(objectId: string, permission: string): Promise<string[]> {
    const known = this.acls.get(objectId);
    return known ? [...(known[permission] ?? [])] : super.getObjectPermissionPrincipals(objectId, permission);
  }

  override async deleteObjectPermissions(...patterns: string[]): Promise<void> {
    this.changedAces(null);
    await super.deleteObjectPermissions(...patterns);
  }

  async commit(): Promise<void> {
    await this.finish(true).catch((error) => Promise.reject(translateSqlError(error)));
  }

  async rollback(): Promise<void> {
    await this.finish(false);
  }
}

export class SqlPermission extends SqlPermissionView implements PermissionBackend {
  readonly name: string;
  private readonly driver: SqlDriver;

  constructor(driver: SqlDriver) {
    super(driver);
    this.driver = driver;
    this.name = driver.name;
  }

  async begin(options: { readonly?: boolean } = {}): Promise<Permission & TransactionControl> {
    // Reads go straight to the pool, as the storage's (see SqlStorageReads).
    if (options.readonly) return new SqlPermissionTransaction(this.driver, async () => {});
    const transaction = await beginTransaction(this.driver, false).catch((error) => Promise.reject(translateSqlError(error)));
    return new SqlPermissionTransaction(transaction.client, transaction.finish);
  }

  beginAlongside(storageTransaction: unknown): (Permission & TransactionControl) | undefined {
    const sql = (storageTransaction as { sql?: { driver: SqlDriver; client: SqlClient } }).sql;
    if (sql?.driver !== this.driver) return undefined;
    // The storage transaction commits or rolls back for both.
    return new SqlPermissionTransaction(sql.client, async () => {});
  }

  async heartbeat(): Promise<boolean> {
    try {
      await this.driver.query('SELECT 1 FROM access_control_entries LIMIT 1');
      return true;
    } catch {
      return false;
    }
  }

  async flush(): Promise<void> {
    await this.driver.exec('DELETE FROM access_control_entries; DELETE FROM user_principals;');
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
