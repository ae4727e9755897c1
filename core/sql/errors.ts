import { KintoError, MESSAGES } from '../errors.ts';
import { BackendError, ReadonlyError, TIMESTAMP_NOT_WRITABLE } from '../storage/types.ts';

/**
 * Database failures as the API reports them: unreachable or overloaded → 503 (BackendError),
 * deadlocks and serialisation failures → 409 "please retry", a write refused to a read-only
 * user → 503 with Kinto's read-only message. Anything else is a programming error.
 */
export function translateSqlError(error: unknown): unknown {
  if (error instanceof KintoError || error instanceof BackendError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) {
    // No SQLSTATE: the connection itself failed (refused, reset, timeout).
    return new BackendError(`Database unavailable: ${(error as Error)?.message ?? error}`, { cause: error });
  }
  if (code === '40P01' || code === '40001') {
    return new KintoError('CONSTRAINT_VIOLATED', { message: MESSAGES.constraint, headers: { 'Retry-After': '1' } });
  }
  if (code === '25006' || code === '42501') {
    return new ReadonlyError(TIMESTAMP_NOT_WRITABLE, { cause: error });
  }
  if (code.startsWith('08') || code.startsWith('53') || code.startsWith('57')) {
    return new BackendError(`Database unavailable (${code})`, { cause: error });
  }
  return error;
}
