import type { JsonValue } from '../filters/ast.ts';
import type { Cache } from './types.ts';

interface Entry {
  value: JsonValue;
  expiresAt: number;
}

/** Process-local cache bounded by `maxEntries`, evicting the entries that expire first. */
export class MemoryCache implements Cache {
  readonly name = 'memory';
  private readonly entries = new Map<string, Entry>();
  private readonly prefix: string;
  private readonly maxEntries: number;

  constructor(options: { prefix?: string; maxEntries?: number } = {}) {
    this.prefix = options.prefix ?? '';
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  async get(key: string): Promise<JsonValue | null> {
    const entry = this.live(key);
    return entry ? structuredClone(entry.value) : null;
  }

  async set(key: string, value: JsonValue, ttlSeconds: number): Promise<void> {
    if (!(ttlSeconds > 0)) throw new Error('Cache entries need a positive TTL');
    this.evictIfFull();
    this.entries.set(this.prefix + key, { value: structuredClone(value), expiresAt: Date.now() + ttlSeconds * 1000 });
  }

  async add(key: string, value: JsonValue, ttlSeconds: number): Promise<boolean> {
    if (this.live(key)) return false;
    await this.set(key, value, ttlSeconds);
    return true;
  }

  async delete(key: string): Promise<JsonValue | null> {
    const entry = this.live(key);
    this.entries.delete(this.prefix + key);
    return entry ? entry.value : null;
  }

  async expire(key: string, ttlSeconds: number): Promise<void> {
    const entry = this.live(key);
    if (entry) entry.expiresAt = Date.now() + ttlSeconds * 1000;
  }

  async ttl(key: string): Promise<number> {
    const entry = this.live(key);
    return entry ? Math.max(0, Math.floor((entry.expiresAt - Date.now()) / 1000)) : -1;
  }

  async heartbeat(): Promise<boolean> {
    return true;
  }

  async flush(): Promise<void> {
    this.entries.clear();
  }

  async close(): Promise<void> {}

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(this.prefix + key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(this.prefix + key);
      return undefined;
    }
    return entry;
  }

  private evictIfFull(): void {
    if (this.entries.size < this.maxEntries) return;
    const now = Date.now();
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    if (this.entries.size < this.maxEntries) return;
    const oldest = [...this.entries].sort((a, b) => a[1].expiresAt - b[1].expiresAt).slice(0, Math.ceil(this.maxEntries / 10));
    for (const [key] of oldest) this.entries.delete(key);
  }
}
