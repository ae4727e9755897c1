import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Mutex } from '../util/journal.ts';
import { transactionOwner } from '../util/scope.ts';
import type { SqlClient, SqlDriver, SqlResult } from './driver.ts';

/**
 * Embedded PostgreSQL (PGlite, WASM): the durable default with nothing to install.
 * It has one connection, so transactions are serialised; statements outside a
 * transaction wait for the running one.
 */
export class PGliteDriver implements SqlDriver {
  readonly name = 'pglite';
  readonly supportsMultipleConnections = false;
  private readonly db: Promise<PGlite>;
  private readonly mutex = new Mutex();
  /** The unit of work holding the connection, which may keep using it without waiting. */
  private owner: object | undefined;

  /** `dataDir` null keeps the database in memory. */
  constructor(dataDir: string | null) {
    if (dataDir) mkdirSync(dirname(resolve(dataDir)), { recursive: true });
    this.db = PGlite.create(dataDir ? resolve(dataDir) : undefined);
  }

  async query<Row>(text: string, params: readonly unknown[] = []): Promise<SqlResult<Row>> {
    if (this.isOwner()) return this.run<Row>(await this.db, text, params);
    const release = await this.mutex.acquire();
    try {
      return await this.run<Row>(await this.db, text, params);
    } finally {
      release();
    }
  }

  async withConnection<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    const release = await this.mutex.acquire();
    this.owner = transactionOwner.getStore();
    const db = await this.db;
    try {
      return await work({ query: (text, params = []) => this.run(db, text, params) });
    } finally {
      this.owner = undefined;
      release();
    }
  }

  private isOwner(): boolean {
    return this.owner !== undefined && this.owner === transactionOwner.getStore();
  }

  async exec(script: string): Promise<void> {
    const release = await this.mutex.acquire();
    try {
      await (await this.db).exec(script);
    } finally {
      release();
    }
  }

  async close(): Promise<void> {
    await (await this.db).close();
  }

  private async run<Row>(db: PGlite, text: string, params: readonly unknown[]): Promise<SqlResult<Row>> {
    const result = await db.query<Row>(text, params as unknown[]);
    return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
  }
}
