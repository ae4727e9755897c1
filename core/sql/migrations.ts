import type { SqlDriver } from './driver.ts';

/** One versioned schema step of a component (storage, permission, cache, or a plugin). */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export interface ComponentMigrations {
  readonly component: string;
  readonly migrations: readonly Migration[];
}

export interface MigrationStep {
  component: string;
  from: number;
  to: number;
  applied: string[];
}

const BOOKKEEPING = `CREATE TABLE IF NOT EXISTS kinto_migrations (
  component TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  migrated_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`;

/** Version of each component's schema in the database (0 when absent). */
export async function schemaVersion(driver: SqlDriver, component: string): Promise<number> {
  const exists = await driver.query<{ found: string | null }>(`SELECT to_regclass('kinto_migrations')::text AS found`);
  if (!exists.rows[0]?.found) return 0;
  const result = await driver.query<{ version: number }>('SELECT version FROM kinto_migrations WHERE component = $1', [component]);
  return result.rows[0]?.version ?? 0;
}

export function latestVersion(component: ComponentMigrations): number {
  return Math.max(0, ...component.migrations.map((m) => m.version));
}

/**
 * Applies the pending migrations of a component, in order, each in its own transaction,
 * under an advisory lock so that several nodes starting together migrate once.
 */
export async function migrate(driver: SqlDriver, component: ComponentMigrations, dryRun = false): Promise<MigrationStep> {
  const from = await schemaVersion(driver, component.component);
  const pending = component.migrations.filter((m) => m.version > from).sort((a, b) => a.version - b.version);
  const step: MigrationStep = { component: component.component, from, to: from, applied: [] };
  if (dryRun || pending.length === 0) {
    step.applied = pending.map((m) => `${m.version}-${m.name}`);
    step.to = pending.at(-1)?.version ?? from;
    return step;
  }
  await driver.withConnection(async (client) => {
    await client.query('BEGIN');
    try {
      if (driver.supportsMultipleConnections) await client.query('SELECT pg_advisory_xact_lock(7101966)');
      await client.query(BOOKKEEPING);
      const current = await client.query<{ version: number }>(
        'SELECT version FROM kinto_migrations WHERE component = $1', [component.component],
      );
      const start = current.rows[0]?.version ?? 0;
      // Another node may have migrated since `from` was read: report what this run found.
      step.from = start;
      step.to = start;
      for (const migration of pending.filter((m) => m.version > start)) {
        for (const statement of splitStatements(migration.sql)) await client.query(statement);
        step.applied.push(`${migration.version}-${migration.name}`);
        step.to = migration.version;
      }
      await client.query(
        `INSERT INTO kinto_migrations (component, version) VALUES ($1, $2)
         ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version, migrated_at = now()`,
        [component.component, step.to],
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  });
  return step;
}

/** Splits a migration script on statement-ending semicolons (our scripts have no functions). */
function splitStatements(sql: string): string[] {
  return sql.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter(Boolean);
}
