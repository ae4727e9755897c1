import type { FastifyInstance, FastifyReply, FastifyRequest, LightMyRequestResponse } from 'fastify';
import { EVERYONE } from '../../core/auth/authorization.ts';
import type { KintoCore } from '../../core/context.ts';
import { methodNotAllowed } from '../../core/errors.ts';
import { authenticate, denied, identify } from '../../core/http/identity.ts';
import { definePlugin } from '../../core/plugin.ts';
import { inUnitOfWork } from '../../core/unit-of-work.ts';
import { forwardToBucket, hasTrailingSlash, replyWith, subpathOf } from './forward.ts';
import { defaultBucketId, ensureParents } from './implicit.ts';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** A forwarded response that must undo the implicit creations (as an exception would in Kinto). */
class Aborted extends Error {
  readonly response: LightMyRequestResponse;
  constructor(response: LightMyRequestResponse) {
    super('default bucket request aborted');
    this.response = response;
  }
}

async function serve(app: FastifyInstance, core: KintoCore, request: FastifyRequest): Promise<LightMyRequestResponse> {
  const { userId } = await authenticate(core, request);
  if (userId === null) throw denied(core, { userId: null, principals: [EVERYONE] });
  if (core.settings.bool('readonly', false)) throw methodNotAllowed();
  const bucketId = defaultBucketId(core.settings, userId);
  try {
    return await inUnitOfWork(core, { readonly: false }, async (uow) => {
      const identity = await identify(core, request, uow.permission);
      await ensureParents(core, uow, identity, { method: request.method, bucketId, subpath: subpathOf(request) });
      const response = await forwardToBucket(app, request, bucketId);
      // Server errors and conflicts roll the implicit creations back with the request.
      if (response.statusCode >= 500 || response.statusCode === 409) throw new Aborted(response);
      return response;
    });
  } catch (error) {
    if (error instanceof Aborted) return error.response;
    throw error;
  }
}

function registerRoutes(app: FastifyInstance, core: KintoCore): void {
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    // `/buckets/default/…/` is redirected without its trailing slash, like any other URL.
    if (hasTrailingSlash(request)) return reply.callNotFound();
    const response = await serve(app, core, request);
    return replyWith(reply, response, request.method === 'HEAD');
  };
  for (const url of ['/v1/buckets/default', '/v1/buckets/default/*']) {
    app.route({ method: [...METHODS], url, exposeHeadRoute: false, handler });
  }
}

/**
 * Kinto's default bucket: `/v1/buckets/default/…` is the caller's personal bucket, created
 * (with the collection in the path) on first use, then served by the real bucket path.
 */
export default definePlugin({
  name: 'default_bucket',
  aliases: ['kinto.plugins.default_bucket'],
  register(app, core) {
    core.capabilities.add('default_bucket', {
      description: 'The default bucket is an alias for a personal bucket where collections are created implicitly.',
      url: 'https://kinto.readthedocs.io/en/latest/api/1.x/buckets.html#personal-bucket-default',
    });
    core.userInfo.add('default_bucket', async (identity) =>
      identity.userId === null ? {} : { bucket: defaultBucketId(core.settings, identity.userId) },
    );
    registerRoutes(app, core);
  },
});
