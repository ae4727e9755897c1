import pg from 'pg';
import type { QueryOptions, SqlClient, SqlDriver, SqlResult } from './driver.ts';
import { pgStatement } from './pg-statement.ts';

export interface PgOptions {
  url: string;
  /** Connections for steady load (SQLAlchemy's `pool_size`). */
  poolSize?: number;
  /** Extra connections opened under load, closed when idle (SQLAlchemy's `max_overflow`). */
  maxOverflow?: number;
  /** Seconds after which a connection is replaced (`pool_recycle`; <= 0: never). */
  recycleSeconds?: number;
  /** Requests allowed to wait for a connection; beyond, 503 at once (`max_backlog`; < 0: unlimited). */
  maxBacklog?: number;
  /** Name repeated statements (see StatementNames); false behind a pooler that cannot keep them. */
  preparedStatements?: boolean;
  /** Milliseconds to wait for a connection before failing (503). */
  connectionTimeoutMs?: number;
  statementTimeoutMs?: number;
}

/** No SQLSTATE: translated to a 503 like any unavailable database (core/sql/errors.ts). */
export class BacklogFullError extends Error {}

// Timestamps are BIGINT: return them as JS numbers (epoch ms fit in 2^53).
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

/**
 * Names for the statements a server sends again and again, so that each connection parses
 * and plans them once (PostgreSQL then reuses a generic plan when it is as good). Filters
 * make statement texts vary with the query's shape (never its values), so only texts seen
 * a few times are named, and at most `limit` of them: the rest stay unnamed.
 */
export class StatementNames {
  private readonly seen = new Map<string, number>();
  private readonly names = new Map<string, string>();
  private readonly limit: number;

  constructor(limit = 256) {
    this.limit = limit;
  }

  nameFor(text: string): string | undefined {
    const named = this.names.get(text);
    if (named !== undefined || this.names.size >= this.limit) return named;
    const count = (this.seen.get(text) ?? 0) + 1;
    if (count < 3) {
      if (this.seen.size >= this.limit * 16) this.seen.clear();
      this.seen.set(text, count);
      return undefined;
    }
    this.seen.delete(text);
    const name = `kinto_${this.names.size}`;
    this.names.set(text, name);
    return name;
  }
}

/** The statement's name when it is to be prepared (see StatementNames), else undefined. */
function statementName(names: StatementNames, text: string, params: readonly unknown[], options?: QueryOptions) {
  // Parameterless texts include multi-statement scripts and BEGIN/COMMIT: never prepared.
  // An unnamed statement is planned with its values each time (PostgreSQL's custom plan).
  return params.length && !options?.planWithValues ? names.nameFor(text) : undefined;
}

function poolQuery(pool: pg.Pool, names: StatementNames, text: string, params: readonly unknown[], options?: QueryOptions) {
  // The pool sets the query's callback (it releases the connection there).
  const query = pgStatement(text, params, statementName(names, text, params, options));
  return pool.query(query as unknown as string) as Promise<pg.QueryResult>;
}

function clientQuery(client: pg.PoolClient, names: StatementNames, text: string, params: readonly unknown[], options?: QueryOptions) {
  const name = statementName(names, text, params, options);
  return new Promise<pg.QueryResult>((resolve, reject) => {
    client.query(pgStatement(text, params, name, (error, result) => (error ? reject(error) : resolve(result))));
  });
}

/** PostgreSQL server through a `pg` pool. */
export class PgDriver implements SqlDriver {
  readonly name = 'postgresql';
  readonly supportsMultipleConnections = true;
  /** Most connections open at once: `pool_size + max_overflow`. */
  readonly maxConnections: number;
  private readonly pool: pg.Pool;
  private readonly maxBacklog: number;
  private readonly statements: StatementNames;

  constructor(options: PgOptions) {
    const poolSize = options.poolSize ?? 25;
    this.maxConnections = poolSize + (options.maxOverflow ?? 5);
    this.maxBacklog = options.maxBacklog ?? -1;
    this.statements = new StatementNames(options.preparedStatements === false ? 0 : 256);
    this.pool = new pg.Pool({
      connectionString: options.url,
      // Idle connections close after pg's 10 s: a quiet node holds none (many nodes share one server).
      max: this.maxConnections,
      maxLifetimeSeconds: options.recycleSeconds && options.recycleSeconds > 0 ? options.recycleSeconds : 0,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 30_000,
      statement_timeout: options.statementTimeoutMs,
    });
    // An idle client losing its server must not crash the process; the next query reconnects.
    this.pool.on('error', () => {});
  }

  /** Refuses a request that would wait behind `max_backlog` others for a connection. */
  private admit(): void {
    const pool = this.pool;
    if (this.maxBacklog < 0 || pool.idleCount > 0 || pool.totalCount < this.maxConnections) return;
    if (pool.waitingCount >= this.maxBacklog) {
      throw new BacklogFullError(`${pool.waitingCount} requests already wait for a database connection (max_backlog)`);
    }
  }

  async query<Row>(text: string, params: readonly unknown[] = [], options?: QueryOptions): Promise<SqlResult<Row>> {
    this.admit();
    const result = await poolQuery(this.pool, this.statements, text, params, options);
    return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
  }

  async withConnection<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    this.admit();
    const connection = await this.pool.connect();
    const names = this.statements;
    let broken = false;
    // A connection lost while checked out emits 'error': without a listener the process dies.
    const onError = () => {
      broken = true;
    };
    connection.on('error', onError);
    const client: SqlClient = {
      async query<Row>(text: string, params: readonly unknown[] = [], options?: QueryOptions) {
        try {
          const result = await clientQuery(connection, names, text, params, options);
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
