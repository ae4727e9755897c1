import type { HookContext } from './definition.ts';
import type { ResourceCall } from './call.ts';

/**
 * Seconds an anonymous read may be cached, or null for `no-cache, no-store`: the
 * resource setting (`record_cache_expires_seconds`...), then the resource's own rule
 * (records: per-bucket/collection settings and the collection's `cache_expires`).
 */
export function cacheLifetime(call: ResourceCall, ctx: HookContext): number | null {
  if (call.userId !== null) return null;
  const setting = call.settings.get(`${call.definition.name}_cache_expires_seconds`);
  const base = typeof setting === 'number' && setting ? setting : null;
  const specific = call.definition.cacheExpires?.(ctx);
  return specific ?? base;
}
