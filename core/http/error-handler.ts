import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KintoError, MESSAGES, invalidParameters, serviceUnavailable } from '../errors.ts';
import { BackendError, ReadonlyError } from '../storage/types.ts';
import type { Settings } from '../settings/load.ts';
import { applyResponseHeaders } from './hooks.ts';

/** Maps fastify's own failures (bad body, oversize, bad URL) to Kinto's catalogue. */
function fromFastify(error: FastifyError): KintoError | null {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new KintoError('UNSUPPORTED_MEDIA_TYPE', { message: 'Unsupported Content-Type' });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new KintoError('REQUEST_TOO_LARGE', { message: 'Request body too large' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalidParameters('body', null, 'Invalid JSON: empty body');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return invalidParameters('header', 'Content-Length', 'Invalid Content-Length');
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new KintoError('BAD_REQUEST', { message: 'Invalid URL path.' });
    default:
      break;
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return invalidParameters('body', null, error.message);
  }
  return null;
}

export function toKintoError(error: unknown, settings: Settings): KintoError {
  if (error instanceof KintoError) return error;
  if (error instanceof BackendError) {
    const message = error instanceof ReadonlyError ? error.message : undefined;
    return serviceUnavailable(settings.int('retry_after_seconds', 3), message);
  }
  const mapped = fromFastify(error as FastifyError);
  if (mapped) return mapped;
  return new KintoError('UNDEFINED', { message: MESSAGES.undefined, info: settings.str('error_info_link', '') });
}

/**
 * fastify's `frameworkErrors` option: failures before routing (an undecodable URL) get
 * Kinto's error body too, and the global hooks (CORS, security headers) still apply.
 */
export function frameworkErrorHandler(settings: Settings) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const kintoError = toKintoError(error, settings);
    applyResponseHeaders(settings, request, reply);
    reply.code(kintoError.status).headers(kintoError.headers).send(kintoError.toBody());
  };
}

export function registerErrorHandler(app: FastifyInstance, settings: Settings): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const kintoError = toKintoError(error, settings);
    if (kintoError.status >= 500) request.log.error({ err: error }, 'request failed');
    reply.code(kintoError.status).headers(kintoError.headers);
    return reply.send(kintoError.toBody());
  });
}
