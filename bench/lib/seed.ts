import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrateBackends } from '../../core/backends.ts';
import { loadConfig } from '../../core/settings/load.ts';

export const ADMIN_URL = process.env.KINTO_BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const BUCKET = 'bench';
export const OWNER = 'bench-owner:secret';
export const READER = 'bench-reader:secret';
/** Groups the reader belongs to, and as many it does not belong to. */
export const READER_GROUPS = 50;

export function basicAuth(credentials: string): string {
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

export const collectionPath = (cid: string) => `/buckets/${BUCKET}/collections/${cid}`;

/** A fresh database for this run; `drop()` removes it. */
export async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `kinto_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  const drop = async () => {
    const client = new pg.Client({ connectionString: ADMIN_URL });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await client.end();
  };
  return { url, drop };
}

/** Connections per server process, as the ceiling's pool (Kinto's default is 25). */
export const POOL_SIZE = 10;

/** The server configuration: PostgreSQL for the three backends, basic auth, warnings only. */
export function benchIni(url: string, withChanges: boolean): string {
  const includes = withChanges ? `kinto.includes = changes\nkinto.changes.resources = /buckets/${BUCKET}\n` : '';
  return `[app:main]
use = egg:kinto
kinto.userid_hmac_secret = bench-secret
multiauth.policies = basicauth
multiauth.policy.basicauth.use = kinto.core.authentication.BasicAuthAuthenticationPolicy
kinto.bucket_create_principals = system.Authenticated
kinto.storage_backend = kinto.core.storage.postgresql
kinto.storage_url = ${url}
kinto.permission_backend = kinto.core.permission.postgresql
kinto.permission_url = ${url}
kinto.cache_backend = kinto.core.cache.postgresql
kinto.cache_url = ${url}
kinto.storage_pool_size = ${POOL_SIZE}
kinto.storage_max_overflow = 0
${includes}`;
}

export async function migrateDatabase(iniText: string): Promise<void> {
  await migrateBackends(loadConfig({ iniText, env: {} }).settings);
}

/** A realistic record body (~350 bytes): strings, numbers, booleans, an array, a nested object. */
export function recordData(i: number): Record<string, unknown> {
  return {
    title: `Record ${i}`,
    category: ['news', 'sport', 'tech', 'arts'][i % 4],
    score: (i * 7919) % 10007,
    enabled: i % 3 !== 0,
    tags: [`t${i % 10}`, `t${i % 7}`],
    author: { name: `user${i % 100}`, age: 20 + (i % 50) },
    body: 'lorem ipsum '.repeat(15),
  };
}

/** The same body built by PostgreSQL, for bulk inserts (`i` is the series column). */
const RECORD_SQL = `jsonb_build_object(
  'title', 'Record ' || i,
  'category', (ARRAY['news','sport','tech','arts'])[1 + i % 4],
  'score', (i * 7919) % 10007,
  'enabled', i % 3 <> 0,
  'tags', jsonb_build_array('t' || (i % 10), 't' || (i % 7)),
  'author', jsonb_build_object('name', 'user' || (i % 100), 'age', 20 + i % 50),
  'body', repeat('lorem ipsum ', 15))`;

export interface Seeded {
  /** Ids of some records of each seeded collection (for GETs). */
  ids: Record<string, string[]>;
}

/**
 * Inserts `count` records into a collection in one statement (server-side generation),
 * timestamps 1 ms apart ending in the past, and moves the collection timestamp to the last one.
 */
export async function bulkRecords(client: pg.Client, cid: string, count: number, acl?: { owner: string }): Promise<string[]> {
  const parent = collectionPath(cid);
  const base = Date.now() - count - 60_000;
  await client.query(
    `INSERT INTO objects (parent_id, resource_name, id, last_modified, deleted, data)
     SELECT $1, 'record', md5($1 || i::text)::uuid::text, $2::bigint + i, FALSE, ${RECORD_SQL}
     FROM generate_series(1, $3::int) AS i`,
    [parent, base, count],
  );
  await client.query(
    `INSERT INTO timestamps (parent_id, resource_name, last_modified) VALUES ($1, 'record', $2)
     ON CONFLICT (parent_id, resource_name) DO UPDATE SET last_modified = GREATEST(timestamps.last_modified, EXCLUDED.last_modified)`,
    [parent, base + count],
  );
  if (acl) await recordAcl(client, parent, count, acl.owner);
  const sample = await client.query<{ id: string }>(
    `SELECT id FROM objects WHERE parent_id = $1 AND resource_name = 'record' ORDER BY id LIMIT 1000`,
    [parent],
  );
  return sample.rows.map((r) => r.id);
}

/** Per-record permissions: record i is readable by group g(i mod 2N); the owner writes them all. */
async function recordAcl(client: pg.Client, parent: string, count: number, owner: string): Promise<void> {
  await client.query(
    `INSERT INTO access_control_entries (object_id, permission, principal)
     SELECT $1 || '/records/' || md5($1 || i::text)::uuid::text, p.permission,
            CASE WHEN p.permission = 'read' THEN '/buckets/${BUCKET}/groups/g' || (i % $3::int) ELSE $4 END
     FROM generate_series(1, $2::int) AS i, (VALUES ('read'), ('write')) AS p(permission)`,
    [parent, count, READER_GROUPS * 2, owner],
  );
}

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Lists the PostgreSQL backends connected to the benchmark database (for their CPU time). */
export interface BackendWatcher {
  pids: () => Promise<number[]>;
  /** Waits until no backend of the database is running a statement or a transaction. */
  drain: (timeoutMs?: number) => Promise<void>;
  close: () => Promise<void>;
}

export async function backendWatcher(url: string): Promise<BackendWatcher> {
  const name = new URL(url).pathname.slice(1);
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  client.on('error', () => {});
  return {
    pids: async () => {
      const result = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
      return result.rows.map((r) => r.pid);
    },
    drain: async (timeoutMs = 120_000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const busy = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND state <> 'idle' AND pid <> pg_backend_pid()`,
          [name],
        );
        if (busy.rows[0].n === 0) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    close: () => client.end(),
  };
}
