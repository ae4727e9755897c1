import type { BackendLifecycle } from '../storage/types.ts';
import type { JsonValue } from '../filters/ast.ts';

/** A key-value cache with per-key time-to-live (seconds), as Kinto's cache backends. */
export interface Cache extends BackendLifecycle {
  get(key: string): Promise<JsonValue | null>;
  /** Stores a value for `ttlSeconds` (must be > 0: Kinto refuses eternal entries). */
  set(key: string, value: JsonValue, ttlSeconds: number): Promise<void>;
  /** Stores only when absent; true when this call stored it (a cross-worker "first one wins"). */
  add(key: string, value: JsonValue, ttlSeconds: number): Promise<boolean>;
  delete(key: string): Promise<JsonValue | null>;
  expire(key: string, ttlSeconds: number): Promise<void>;
  /** Seconds left, or -1 when the key is absent. */
  ttl(key: string): Promise<number>;
}
