/**
 * The one SQL path: storage, permission and cache backends speak PostgreSQL through this
 * narrow interface; `pg` (a server) and PGlite (embedded) only differ in their driver.
 */
export interface SqlResult<Row = Record<string, unknown>> {
  rows: Row[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * The statement's best plan depends on its values (filters on JSON data, keyset bounds): it is
   * planned with them on every execution, never reused as a prepared statement's generic plan
   * (bench/README.md #13: a generic plan of a filtered listing ran 50 times slower).
   */
  planWithValues?: boolean;
}

export interface SqlClient {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<SqlResult<Row>>;
}

export interface SqlDriver extends SqlClient {
  readonly name: string;
  /** False for engines with a single connection (PGlite): transactions are then serialised. */
  readonly supportsMultipleConnections: boolean;
  /** Runs `work` on one dedicated connection (for a transaction). */
  withConnection<T>(work: (client: SqlClient) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations), without parameters. */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}

/** A transaction on one connection, held until `finish`. */
export interface SqlTransaction {
  client: SqlClient;
  finish(commit: boolean): Promise<void>;
}

/** Opens a transaction; the connection is released when `finish` is called. */
export async function beginTransaction(driver: SqlDriver, readonly: boolean): Promise<SqlTransaction> {
  let release!: (commit: boolean) => void;
  let ready!: (client: SqlClient) => void;
  let failed!: (error: unknown) => void;
  const clientPromise = new Promise<SqlClient>((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  const decision = new Promise<boolean>((resolve) => (release = resolve));
  const done = driver
    .withConnection(async (client) => {
      await client.query(readonly ? 'BEGIN READ ONLY' : 'BEGIN');
      ready(client);
      const commit = await decision;
      await client.query(commit ? 'COMMIT' : 'ROLLBACK');
    })
    .catch((error) => {
      failed(error);
      throw error;
    });
  // The failure is reported through `clientPromise` or `finish`; never as an unhandled rejection.
  done.catch(() => {});
  const client = await clientPromise;
  return {
    client,
    async finish(commit) {
      release(commit);
      await done;
    },
  };
}
