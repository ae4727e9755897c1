import type { FastifyInstance } from 'fastify';
import type { KintoCore } from '../context.ts';
import { registerRequestSummary } from './logging.ts';
import { registerRequestMetrics } from './metrics.ts';
import { setupSentry } from './sentry.ts';

/** Request summaries, request metrics and error reporting: registered first, so they see every route. */
export async function registerMonitoring(app: FastifyInstance, core: KintoCore): Promise<void> {
  core.metrics.reportErrorsTo((error, key) => app.log.warn({ err: error }, `Metric '${key}' could not be recorded`));
  registerRequestSummary(app, core);
  registerRequestMetrics(app, core);
  await setupSentry(app, core);
}
