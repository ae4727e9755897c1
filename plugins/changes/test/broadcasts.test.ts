import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { client, makeApp } from '../../../test/helpers/app.ts';
import { PUBLISHED_KEY, debouncedTimestamp } from '../broadcasts.ts';
import { iniLines } from './helpers.ts';

const NOW = Date.UTC(2023, 9, 1, 12, 0, 0);
const MINUTE = 60 * 1000;
const DAY = 24 * 3600;

describe('/__broadcasts__', () => {
  let app: FastifyInstance;
  let timestamps: MockInstance;
  /** Fakes the watched collections' timestamps (what storage would report). */
  const watched = (...entries: [string, string, number][]) =>
    timestamps.mockResolvedValue(entries.map(([b, c, timestamp]) => ({ parentId: `/buckets/${b}/collections/${c}`, timestamp })));
  const broadcast = (now = NOW) => debouncedTimestamp(app.kinto, now);

  beforeEach(async () => {
    app = await makeApp(iniLines({ 'kinto.includes': 'changes', 'kinto.changes.resources': '/buckets/main /buckets/main-preview' }));
    timestamps = vi.spyOn(app.kinto.storage, 'resourceTimestamps');
  });
  afterEach(() => app.close());

  it('publishes the current timestamp first, through the endpoint, publicly', async () => {
    watched(['main', 'cid', NOW], ['main', 'cid2', NOW - 1000]);
    const response = await client(app).get('/__broadcasts__');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ broadcasts: { 'remote-settings/monitor_changes': `"${NOW}"` }, code: 200 });
  });

  it('ignores preview buckets and collections', async () => {
    watched(['main-preview', 'cid', NOW + 2000], ['main', 'cid-preview', NOW + 1000], ['main', 'cid', NOW]);
    expect(await broadcast()).toBe(NOW);
  });

  it('serves the published value without reading storage while it is recent', async () => {
    watched(['main', 'cid', NOW]);
    expect(await broadcast()).toBe(NOW);
    expect(await broadcast()).toBe(NOW);
    expect(timestamps).toHaveBeenCalledTimes(1);
    await app.kinto.cache.set(PUBLISHED_KEY, NOW - 3 * MINUTE, DAY);
    expect(await broadcast()).toBe(NOW - 3 * MINUTE);
    expect(timestamps).toHaveBeenCalledTimes(1);
  });

  it('ignores intermediary versions (debounce)', async () => {
    const obtained: number[] = [];
    for (let age = 12; age > 5; age -= 1) {
      watched(['main', 'cid', NOW - (age + 1) * MINUTE]);
      obtained.push(await broadcast(NOW - age * MINUTE));
    }
    expect(obtained).toEqual([...Array(6).fill(NOW - 13 * MINUTE), NOW - 7 * MINUTE]);
  });

  it('keeps the published value when nothing changed since', async () => {
    await app.kinto.cache.set(PUBLISHED_KEY, NOW - 6 * MINUTE, DAY);
    watched(['main', 'cid', NOW - 6 * MINUTE]);
    expect(await broadcast()).toBe(NOW - 6 * MINUTE);
  });

  it('waits when the new change is too close to the published one', async () => {
    await app.kinto.cache.set(PUBLISHED_KEY, NOW - 6 * MINUTE, DAY);
    watched(['main', 'cid', NOW - 2 * MINUTE]);
    expect(await broadcast()).toBe(NOW - 6 * MINUTE);
  });

  it('publishes a change far enough from the published one', async () => {
    await app.kinto.cache.set(PUBLISHED_KEY, NOW - 8 * MINUTE, DAY);
    watched(['main', 'cid', NOW - 2 * MINUTE]);
    expect(await broadcast()).toBe(NOW - 2 * MINUTE);
  });

  it('publishes a change close to the published one once it is old enough', async () => {
    await app.kinto.cache.set(PUBLISHED_KEY, NOW - 8 * MINUTE, DAY);
    watched(['main', 'cid', NOW - 6 * MINUTE]);
    expect(await broadcast()).toBe(NOW - 6 * MINUTE);
  });

  it('lets only one worker replace a published value', async () => {
    await app.kinto.cache.set(PUBLISHED_KEY, NOW - 8 * MINUTE, DAY);
    // Two workers read the same published value; the second sees a newer change.
    const entry = (timestamp: number) => [{ parentId: '/buckets/main/collections/cid', timestamp }];
    timestamps.mockResolvedValueOnce(entry(NOW - 2 * MINUTE)).mockResolvedValueOnce(entry(NOW - 1 * MINUTE));
    const results = await Promise.all([broadcast(), broadcast()]);
    expect(results).toEqual([NOW - 2 * MINUTE, NOW - 2 * MINUTE]);
    expect(await app.kinto.cache.get(PUBLISHED_KEY)).toBe(results[0]);
  });
});
