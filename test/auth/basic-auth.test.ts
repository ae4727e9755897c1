/** Basic auth's user ids, and the bounded cache that spares the HMAC on repeated headers. */
import { describe, expect, it } from 'vitest';
import { basicAuthPolicy, DigestCache, hmacDigest } from '../../core/auth/policies.ts';
import { Settings } from '../../core/settings/settings.ts';

const basic = (credentials: string) => ({ authorization: `Basic ${Buffer.from(credentials).toString('base64')}` });
const policy = () => basicAuthPolicy('basicauth', new Settings({ userid_hmac_secret: 'secret' }));

describe('basic auth policy', () => {
  it('gives the same id to the same header, first computed then remembered', async () => {
    const auth = policy();
    const expected = hmacDigest('secret', 'alice:pw');
    expect(await auth.authenticate(basic('alice:pw'))).toBe(expected);
    expect(await auth.authenticate(basic('alice:pw'))).toBe(expected);
  });

  it('gives another id for another password or another secret', async () => {
    const auth = policy();
    const first = await auth.authenticate(basic('alice:pw'));
    expect(await auth.authenticate(basic('alice:other'))).not.toBe(first);
    const other = basicAuthPolicy('basicauth', new Settings({ userid_hmac_secret: 'another' }));
    expect(await other.authenticate(basic('alice:pw'))).not.toBe(first);
  });

  it('still refuses malformed or user-less headers, however often sent', async () => {
    const auth = policy();
    for (let i = 0; i < 3; i++) {
      expect(await auth.authenticate(basic(':pw'))).toBeNull();
      expect(await auth.authenticate(basic('no-colon'))).toBeNull();
      expect(await auth.authenticate({ authorization: 'Bearer abc' })).toBeNull();
      expect(await auth.authenticate({})).toBeNull();
    }
  });
});

describe('DigestCache', () => {
  it('keeps at most its limit, forgetting the least recently used first', () => {
    const cache = new DigestCache(3);
    for (const key of ['a', 'b', 'c']) cache.set(key, key.toUpperCase());
    expect(cache.get('a')).toBe('A'); // now the most recent
    cache.set('d', 'D');
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual(['A', 'C', 'D']);
  });

  it('stays bounded under many distinct headers and skips overlong ones', () => {
    const cache = new DigestCache(1000, 16);
    for (let i = 0; i < 5000; i++) cache.set(`key-${i}`, String(i));
    expect(cache.size).toBe(1000);
    expect(cache.get('key-4999')).toBe('4999');
    expect(cache.get('key-0')).toBeUndefined();
    cache.set('x'.repeat(17), 'long');
    expect(cache.get('x'.repeat(17))).toBeUndefined();
  });
});
