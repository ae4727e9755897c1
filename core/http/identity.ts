import type { FastifyRequest } from 'fastify';
import { AUTHENTICATED, EVERYONE, type Identity } from '../auth/authorization.ts';
import type { KintoCore } from '../context.ts';
import { KintoError, MESSAGES } from '../errors.ts';
import type { Permission } from '../permission/types.ts';

const ANONYMOUS: Identity = Object.freeze({ userId: null, principals: Object.freeze([EVERYONE]) });
interface Authenticated {
  userId: string | null;
  policy: string | null;
  /** Principals the winning policy adds besides the user id. */
  extra: readonly string[];
}

const resolved = new WeakMap<FastifyRequest, Promise<Authenticated>>();

/** Runs the authentication policies in order; the first that recognises the request wins. */
export function authenticate(core: KintoCore, request: FastifyRequest): Promise<Authenticated> {
  let pending = resolved.get(request);
  if (!pending) {
    pending = (async () => {
      for (const policy of core.policies) {
        const id = await policy.authenticate(request.headers);
        if (id !== null) return { userId: `${policy.name}:${id}`, policy: policy.name, extra: policy.principals?.(id) ?? [] };
      }
      return { userId: null, policy: null, extra: [] };
    })();
    resolved.set(request, pending);
  }
  return pending;
}

/** The caller's principals: user id, system principals and the groups it belongs to. */
export async function identify(core: KintoCore, request: FastifyRequest, permission: Permission): Promise<Identity> {
  const { userId, extra } = await authenticate(core, request);
  if (userId === null) return ANONYMOUS;
  const groups = await permission.getUserPrincipals(userId);
  const all = [userId, EVERYONE, AUTHENTICATED, ...extra, ...groups];
  // Most users belong to a few groups: a scan dedupes them without a Set.
  if (all.length > 16) return { userId, principals: [...new Set(all)] };
  return { userId, principals: all.filter((principal, i) => all.indexOf(principal) === i) };
}

/** 401 for anonymous callers (with the policies' challenges), 403 otherwise. */
export function denied(core: KintoCore, identity: Identity): KintoError {
  if (identity.userId !== null) return new KintoError('FORBIDDEN', { message: MESSAGES.forbidden });
  const challenges = core.policies.map((p) => p.challenge).filter((c): c is string => Boolean(c));
  return new KintoError('MISSING_AUTH_TOKEN', {
    message: MESSAGES.unauthenticated,
    headers: challenges.length ? { 'WWW-Authenticate': challenges } : {},
  });
}
