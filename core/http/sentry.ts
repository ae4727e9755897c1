// The SDK costs ~30 MB of memory on import: loaded only when a DSN is configured.
import type * as SentrySdk from '@sentry/node';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KintoCore } from '../context.ts';
import { toKintoError } from './error-handler.ts';
import { endpointOf } from './request-context.ts';

const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];
/**
 * The SDK's own fastify error capture would report by its rules (and first, muting ours
 * through deduplication); local variables may hold credentials; other frameworks are absent.
 */
const UNWANTED_INTEGRATIONS = new Set(['Fastify', 'LocalVariablesAsync', 'Express', 'Hapi', 'Hono', 'Koa', 'Nitro', 'AwsLambdaWeb']);

/** Credentials never leave the server, whatever the SDK collected. */
function scrub(event: SentrySdk.ErrorEvent): SentrySdk.ErrorEvent {
  const headers = event.request?.headers;
  if (headers) {
    for (const name of Object.keys(headers)) {
      if (SECRET_HEADERS.includes(name.toLowerCase())) delete headers[name];
    }
  }
  return event;
}

function report(Sentry: typeof SentrySdk, core: KintoCore, request: FastifyRequest, error: unknown): void {
  Sentry.withScope((scope) => {
    scope.setTag('rid', request.id);
    scope.setTag('endpoint', endpointOf(core, request));
    // What the SDK's request data integration turns into `event.request`, within `dataCollection`.
    scope.setSDKProcessingMetadata({ normalizedRequest: { method: request.method, url: request.url.split('?')[0] } });
    Sentry.captureException(error);
  });
}

/**
 * With `sentry_dsn` (env `SENTRY_DSN`), errors that become 5xx responses are reported to
 * Sentry; client errors (4xx) are not. `sentry_env` names the environment. Like Kinto, a
 * message announces each start.
 */
export async function setupSentry(app: FastifyInstance, core: KintoCore): Promise<void> {
  const dsn = core.settings.str('sentry_dsn', '');
  if (!dsn) return;
  const Sentry = await import('@sentry/node');
  const environment = core.settings.str('sentry_env', '') || undefined;
  Sentry.init({
    dsn,
    environment,
    release: core.version,
    // Request bodies (account passwords), headers (credentials) and local variables stay here.
    dataCollection: {
      userInfo: false,
      cookies: false,
      httpHeaders: false,
      httpBodies: [],
      databaseQueryData: false,
      stackFrameVariables: false,
    },
    defaultIntegrations: Sentry.getDefaultIntegrationsWithoutPerformance().filter((i) => !UNWANTED_INTEGRATIONS.has(i.name)),
    beforeSend: scrub,
  });
  app.addHook('onError', async (request, _reply, error) => {
    if (toKintoError(error, core.settings).status >= 500) report(Sentry, core, request, error);
  });
  app.addHook('onReady', async () => {
    const name = core.settings.str('project_name', 'kinto');
    const version = core.settings.str('project_version', '') || core.version;
    Sentry.captureMessage(`Running ${name} ${version}.`, 'info');
  });
  app.addHook('onClose', async () => {
    await Sentry.flush(2000);
  });
}
