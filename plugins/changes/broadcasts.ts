/**
 * `GET /__broadcasts__`, pulled by the Push service (it replaced Megaphone): the newest
 * published timestamp, debounced so that clients are not woken up more than once per
 * `push_broadcast_min_debounce_interval_seconds`. The published value lives in the cache
 * backend, so every worker and node shares it; replacing a published value goes through
 * an atomic `add` of a lock named after it, so only one worker replaces it, and the next
 * replacement waits for the interval again.
 */
import type { FastifyInstance } from 'fastify';
import type { Cache } from '../../core/cache/types.ts';
import type { KintoCore } from '../../core/context.ts';
import type { Settings } from '../../core/settings/load.ts';
import type { Storage } from '../../core/storage/types.ts';
import { monitoredTimestamps } from './monitored.ts';

/** What the debounce reads: the watched timestamps and the cache every worker shares. */
export interface BroadcastSource {
  settings: Settings;
  storage: Storage;
  cache: Cache;
}

export const BROADCAST_ID = 'remote-settings/monitor_changes';
export const PUBLISHED_KEY = `${BROADCAST_ID}/timestamp`;
const DAY_SECONDS = 24 * 3600;

/** The newest change, preview collections excluded (a review request must not wake clients). */
async function currentTimestamp(core: BroadcastSource): Promise<number> {
  let newest = 0;
  for (const { bucket, collection, timestamp } of await monitoredTimestamps(core.storage, core.settings)) {
    if (!`${bucket}/${collection}`.includes('-preview')) newest = Math.max(newest, timestamp);
  }
  return newest;
}

/** The reference's decision: publish when the newest change is far enough from the last one, or old. */
function shouldPublish(current: number, published: number, now: number, intervalSeconds: number): boolean {
  if (current <= published) return false;
  const gapSeconds = Math.trunc((current - published) / 1000);
  const ageSeconds = (now - current) / 1000;
  return gapSeconds > intervalSeconds || ageSeconds > intervalSeconds;
}

async function replacePublished(core: BroadcastSource, published: number, value: number): Promise<number> {
  const lock = `${PUBLISHED_KEY}/replaced/${published}`;
  if (await core.cache.add(lock, value, DAY_SECONDS)) {
    await core.cache.set(PUBLISHED_KEY, value, DAY_SECONDS);
    return value;
  }
  // Another worker replaced it first: everybody serves the value it chose.
  const winner = await core.cache.get(lock);
  return typeof winner === 'number' ? winner : value;
}

export async function debouncedTimestamp(core: BroadcastSource, now = Date.now()): Promise<number> {
  const interval = core.settings.int('push_broadcast_min_debounce_interval_seconds', 300);
  const published = await core.cache.get(PUBLISHED_KEY);
  if (typeof published !== 'number') {
    const current = await currentTimestamp(core);
    if (await core.cache.add(PUBLISHED_KEY, current, DAY_SECONDS)) return current;
    const winner = await core.cache.get(PUBLISHED_KEY);
    return typeof winner === 'number' ? winner : current;
  }
  // A recent publication: no storage read at all.
  if (Math.trunc((now - published) / 1000) <= interval) return published;
  const current = await currentTimestamp(core);
  if (!shouldPublish(current, published, now, interval)) return published;
  return replacePublished(core, published, current);
}

/** The body of `GET /v1/__broadcasts__`, also written as a file by the static export. */
export async function broadcastsBody(core: BroadcastSource): Promise<{ broadcasts: Record<string, string>; code: number }> {
  return { broadcasts: { [BROADCAST_ID]: `"${await debouncedTimestamp(core)}"` }, code: 200 };
}

export function registerBroadcasts(app: FastifyInstance, core: KintoCore): void {
  app.get('/v1/__broadcasts__', () => broadcastsBody(core));
}
