import type { JsonValue } from '../filters/ast.ts';
import type { SqlDriver } from '../sql/driver.ts';
import { translateSqlError } from '../sql/errors.ts';
import type { ComponentMigrations } from '../sql/migrations.ts';
import type { Cache } from './types.ts';

export const CACHE_MIGRATIONS: ComponentMigrations = {
  component: 'cache',
  migrations: [
    {
      version: 1,
      name: 'initial',
      sql: `
CREATE TABLE IF NOT EXISTS cache (
  key TEXT COLLATE "C" PRIMARY KEY,
  value JSONB NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS cache_expires_at ON cache (expires_at);
`,
    },
  ],
};

const NOW_MS = `(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/** Cache entries in a table shared by every worker and node on the same database. */
export class SqlCache implements Cache {
  readonly name: string;
  private readonly driver: SqlDriver;
  private readonly prefix: string;

  constructor(driver: SqlDriver, options: { prefix?: string } = {}) {
    this.driver = driver;
    this.name = driver.name;
    this.prefix = options.prefix ?? '';
  }

  private async run<R>(text: string, params: readonly unknown[]): Promise<{ rows: R[]; rowCount: number }> {
    try {
      return await this.driver.query<R>(text, params);
    } catch (error) {
      throw translateSqlError(error);
    }
  }

  async get(key: string): Promise<JsonValue | null> {
    const result = await this.run<{ value: JsonValue }>(
      `SELECT value FROM cache WHERE key = $1 AND expires_at > ${NOW_MS}`, [this.prefix + key],
    );
    return result.rows.length ? result.rows[0].value : null;
  }

  async set(key: string, value: JsonValue, ttlSeconds: number): Promise<void> {
    if (!(ttlSeconds > 0)) throw new Error('Cache entries need a positive TTL');
    // Expired entries are invisible to reads; sweep them now and then so the table stays small.
    if (Math.random() < 0.01) await this.run(`DELETE FROM cache WHERE expires_at <= ${NOW_MS}`, []);
    await this.run(
      `INSERT INTO cache (key, value, expires_at) VALUES ($1, $2::jsonb, ${NOW_MS} + $3::bigint)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
      [this.prefix + key, JSON.stringify(value), Math.round(ttlSeconds * 1000)],
    );
  }

  async add(key: string, value: JsonValue, ttlSeconds: number): Promise<boolean> {
    const result = await this.run(
      `INSERT INTO cache (key, value, expires_at) VALUES ($1, $2::jsonb, ${NOW_MS} + $3::bigint)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at
       WHERE cache.expires_at <= ${NOW_MS}`,
      [this.prefix + key, JSON.stringify(value), Math.round(ttlSeconds * 1000)],
    );
    return result.rowCount > 0;
  }

  async delete(key: string): Promise<JsonValue | null> {
    const result = await this.run<{ value: JsonValue; live: boolean }>(
      `DELETE FROM cache WHERE key = $1 RETURNING value, expires_at > ${NOW_MS} AS live`, [this.prefix + key],
    );
    return result.rows.length && result.rows[0].live ? result.rows[0].value : null;
  }

  async expire(key: string, ttlSeconds: number): Promise<void> {
    await this.run(`UPDATE cache SET expires_at = ${NOW_MS} + $2::bigint WHERE key = $1`, [
      this.prefix + key, Math.round(ttlSeconds * 1000),
    ]);
  }

  async ttl(key: string): Promise<number> {
    const result = await this.run<{ left: number }>(
      `SELECT (expires_at - ${NOW_MS}) AS left FROM cache WHERE key = $1 AND expires_at > ${NOW_MS}`, [this.prefix + key],
    );
    return result.rows.length ? Math.floor(Number(result.rows[0].left) / 1000) : -1;
  }

  /** A read only: the heartbeat must pass for a read-only database user too. */
  async heartbeat(): Promise<boolean> {
    try {
      await this.driver.query('SELECT 1 FROM cache LIMIT 1');
      return true;
    } catch {
      return false;
    }
  }

  async flush(): Promise<void> {
    await this.driver.exec('DELETE FROM cache;');
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
