import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KintoCore } from '../context.ts';
import { currentBatchParent, endpointOf, requestUser } from './request-context.ts';

/**
 * Per-request measurements of Kinto's production guide, sent to whichever metrics plugin
 * is included: `view.<endpoint>.<METHOD>` durations (batch subrequests too), and for
 * top-level requests the `users` set and the `authn_type.<policy>` counter.
 */
export function registerRequestMetrics(app: FastifyInstance, core: KintoCore): void {
  // A callback hook: without a metrics plugin, every response skips it at no cost.
  app.addHook('onResponse', (request, reply, done) => {
    if (!core.metrics.active) return done();
    measure(request, reply).then(() => done(), done);
  });
  async function measure(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const metrics = core.metrics;
    const labels = [
      ['endpoint', endpointOf(core, request)],
      ['method', request.method],
    ] as const;
    metrics.timer('view', reply.elapsedTime / 1000, labels);
    if (currentBatchParent()) return;
    const user = await requestUser(core, request);
    if (!user) return;
    // Colons would end the StatsD value early (Kinto #1282): they become dots.
    metrics.count('users', { unique: [['auth', user.policy], ['userid', user.id.replaceAll(':', '.')]] });
    metrics.count('authn_type', { labels: [['type', user.policy]] });
  }
}
