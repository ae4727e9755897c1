import bcrypt from 'bcryptjs';
import { basicCredentials, hmacDigest, type AuthenticationPolicy } from '../../core/auth/policies.ts';
import type { KintoCore } from '../../core/context.ts';
import { currentUnitOfWork } from '../../core/unit-of-work.ts';

/** User ids of this policy are `account:<username>`, whatever name the policy is given. */
export const ACCOUNT_POLICY_NAME = 'account';
/** Work factor of `bcrypt.gensalt()`, the one Kinto hashes with. */
export const BCRYPT_ROUNDS = 12;

const PYRAMID_RESERVED = new Set(['system.Everyone', 'system.Authenticated']);

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, BCRYPT_ROUNDS);
}

/** Key under which a verified login is remembered: `hmac(userid_hmac_secret, "accounts:<user>:verified")`. */
export function accountCacheKey(core: KintoCore, username: string): string {
  return hmacDigest(core.settings.str('userid_hmac_secret', ''), `accounts:${username}:verified`);
}

/** Drops the remembered login of an account (after its password changed or it was deleted). */
export async function forgetAccount(core: KintoCore, username: string): Promise<void> {
  await core.cache.delete(accountCacheKey(core, username));
}

async function storedHash(core: KintoCore, username: string): Promise<string | null> {
  const storage = currentUnitOfWork()?.storage ?? core.storage;
  const account = await storage.get('account', username, username);
  return account && typeof account.password === 'string' ? account.password : null;
}

async function matches(password: string, hash: string): Promise<boolean> {
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false;
  }
}

/**
 * Kinto's `account_check`: a recent successful login is found in the cache (as an HMAC of
 * the password, never the password) and its lifetime refreshed; otherwise the stored bcrypt
 * hash is compared, and a success remembered for `account_cache_ttl_seconds`.
 */
export async function checkAccount(core: KintoCore, username: string, password: string): Promise<boolean> {
  const key = accountCacheKey(core, username);
  const ttl = core.settings.int('account_cache_ttl_seconds', 30);
  const proof = hmacDigest(key, password);
  if ((await core.cache.get(key)) === proof) {
    await core.cache.expire(key, ttl);
    return true;
  }
  const hash = await storedHash(core, username);
  if (hash === null || !(await matches(password, hash))) return false;
  await core.cache.set(key, proof, ttl);
  return true;
}

/** `kinto.plugins.accounts.AccountsPolicy`: Basic auth checked against the stored accounts. */
export function accountsPolicy(core: KintoCore): AuthenticationPolicy {
  return {
    name: ACCOUNT_POLICY_NAME,
    challenge: 'Basic realm="Realm"',
    async authenticate(headers) {
      const credentials = basicCredentials(headers);
      if (!credentials || PYRAMID_RESERVED.has(credentials.username)) return null;
      const valid = await checkAccount(core, credentials.username, credentials.password);
      return valid ? credentials.username : null;
    },
  };
}
