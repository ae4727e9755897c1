import type { QueryOptions, SqlClient, SqlDriver, SqlResult } from './driver.ts';

/** One driver used by several backends: closing it waits for the last user. */
class SharedDriver implements SqlDriver {
  private readonly inner: SqlDriver;
  private users: number;

  constructor(inner: SqlDriver, users: number) {
    this.inner = inner;
    this.users = users;
  }

  get name(): string {
    return this.inner.name;
  }

  get supportsMultipleConnections(): boolean {
    return this.inner.supportsMultipleConnections;
  }

  query<Row>(text: string, params?: readonly unknown[], options?: QueryOptions): Promise<SqlResult<Row>> {
    return this.inner.query<Row>(text, params, options);
  }

  withConnection<T>(work: (client: SqlClient) => Promise<T>): Promise<T> {
    return this.inner.withConnection(work);
  }

  exec(script: string): Promise<void> {
    return this.inner.exec(script);
  }

  async close(): Promise<void> {
    this.users -= 1;
    if (this.users === 0) await this.inner.close();
  }
}

/** Gives backends that point at the same database (same key) the same driver instance. */
export function shareDrivers<K extends string>(
  wanted: { kind: K; key: string }[],
  create: (kind: K) => SqlDriver,
): Map<K, SqlDriver> {
  const byKey = new Map<string, K[]>();
  for (const { kind, key } of wanted) byKey.set(key, [...(byKey.get(key) ?? []), kind]);
  const result = new Map<K, SqlDriver>();
  for (const kinds of byKey.values()) {
    const shared = new SharedDriver(create(kinds[0]), kinds.length);
    for (const kind of kinds) result.set(kind, shared);
  }
  return result;
}
