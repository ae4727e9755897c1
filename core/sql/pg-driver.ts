import pg from 'pg';
import type { SqlClient, SqlDriver, SqlResult } from './driver.ts';

export interface PgOptions {
  url: string;
  poolSize?: number;
  /** Milliseconds to wait for a connection before failing (503). */
  connectionTimeoutMs?: number;
  statementTimeoutMs?: number;
}

// Timestamps are BIGINT: return them as JS numbers (epoch ms fit in 2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

/** PostgreSQL server through a `pg` pool. */
export class PgDriver implements SqlDriver {
  readonly name = 'postgresql';
  readonly supportsMultipleConnections = true;
  private readonly pool: pg.Pool;

  constructor(options: PgOptions) {
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 30_000,
      statement_timeout: options.statementTimeoutMs,
    });
    // An idle client losing its server must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
  }

  async query<Row>(text: string, params: readonly unknown[] = []): Promise<SqlResult<Row>> {
    const result = await this.pool.query(text, params as unknown[]);
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
  }

  async withConnection<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    const connection = await this.pool.connect();
    let broken = false;
    // A connection lost while checked out emits 'error': without a listener the process dies.
    const onError = () => {
      broken = true;
    };
    connection.on('error', onError);
    const client: SqlClient = {
      async query<Row>(text: string, params: readonly unknown[] = []) {
        try {
          const result = await connection.query(text, params as unknown[]);
          return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
        } catch (error) {
          broken ||= isConnectionError(error);
          throw error;
        }
      },
    };
    try {
      return await work(client);
    } finally {
      connection.off('error', onError);
      connection.release(broken ? true : undefined);
    }
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return !/^[0-9A-Z]{5}$/.test(code) || code.startsWith('08') || code.startsWith('57');
}
