/** The cache backend contract, run against every implementation. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Cache } from './types.ts';

export function runCacheContract(name: string, create: () => Promise<Cache>): void {
  describe(`cache contract: ${name}`, () => {
    let cache: Cache;
    beforeEach(async () => {
      cache = await create();
    });
    afterEach(async () => {
      await cache.flush();
      await cache.close();
    });

    it('stores JSON values with a TTL', async () => {
      await cache.set('k', { a: [1, 'x'] }, 10);
      expect(await cache.get('k')).toEqual({ a: [1, 'x'] });
      expect(await cache.ttl('k')).toBeGreaterThan(8);
      expect(await cache.get('missing')).toBeNull();
      expect(await cache.ttl('missing')).toBe(-1);
    });

    it('expires entries', async () => {
      await cache.set('short', 'v', 0.05);
      await new Promise((r) => setTimeout(r, 120));
      expect(await cache.get('short')).toBeNull();
    });

    it('deletes and returns the previous value', async () => {
      await cache.set('k', '', 10);
      expect(await cache.delete('k')).toBe('');
      expect(await cache.delete('k')).toBeNull();
    });

    it('adds only when absent', async () => {
      expect(await cache.add('once', 1, 10)).toBe(true);
      expect(await cache.add('once', 2, 10)).toBe(false);
      expect(await cache.get('once')).toBe(1);
    });

    it('changes the TTL with expire', async () => {
      await cache.set('k', 1, 100);
      await cache.expire('k', 5);
      expect(await cache.ttl('k')).toBeLessThanOrEqual(5);
    });

    it('flushes everything', async () => {
      await cache.set('a', 1, 10);
      await cache.flush();
      expect(await cache.get('a')).toBeNull();
    });

    it('refuses eternal entries', async () => {
      await expect(cache.set('k', 1, 0)).rejects.toThrow();
    });
  });
}
