/**
 * Kinto's error catalogue, declared once: each key binds an errno, an HTTP status
 * and the `error` label of the JSON body. Every failure the server reports goes
 * through `KintoError`, so the body shape cannot drift between call sites.
 */

export const ERRORS = {
  MISSING_AUTH_TOKEN: { errno: 104, status: 401, error: 'Unauthorized' },
  INVALID_AUTH_TOKEN: { errno: 105, status: 401, error: 'Unauthorized' },
  BADJSON: { errno: 106, status: 400, error: 'Bad Request' },
  INVALID_PARAMETERS: { errno: 107, status: 400, error: 'Invalid parameters' },
  /** Errno 107 raised outside cornice's validation (bad URL or querystring encoding). */
  BAD_REQUEST: { errno: 107, status: 400, error: 'Bad Request' },
  // Raised by cornice's fallback view through its JSON error handler, hence the label.
  NOT_ACCEPTABLE: { errno: 107, status: 406, error: 'Invalid parameters' },
  UNSUPPORTED_MEDIA_TYPE: { errno: 107, status: 415, error: 'Invalid parameters' },
  MISSING_PARAMETERS: { errno: 108, status: 400, error: 'Invalid parameters' },
  INVALID_POSTED_DATA: { errno: 109, status: 400, error: 'Bad Request' },
  INVALID_RESOURCE_ID: { errno: 110, status: 404, error: 'Not Found' },
  MISSING_RESOURCE: { errno: 111, status: 404, error: 'Not Found' },
  MISSING_CONTENT_LENGTH: { errno: 112, status: 411, error: 'Length Required' },
  REQUEST_TOO_LARGE: { errno: 113, status: 413, error: 'Request Entity Too Large' },
  MODIFIED_MEANWHILE: { errno: 114, status: 412, error: 'Precondition Failed' },
  METHOD_NOT_ALLOWED: { errno: 115, status: 405, error: 'Method Not Allowed' },
  VERSION_NOT_AVAILABLE: { errno: 116, status: 404, error: 'Not Found' },
  CLIENT_REACHED_CAPACITY: { errno: 117, status: 429, error: 'Too Many Requests' },
  FORBIDDEN: { errno: 121, status: 403, error: 'Forbidden' },
  INSUFFICIENT_STORAGE: { errno: 121, status: 507, error: 'Insufficient Storage' },
  CONSTRAINT_VIOLATED: { errno: 122, status: 409, error: 'Conflict' },
  BACKEND: { errno: 201, status: 503, error: 'Service Unavailable' },
  SERVICE_DEPRECATED: { errno: 202, status: 410, error: 'Gone' },
  UNDEFINED: { errno: 999, status: 500, error: 'Internal Server Error' },
} as const;

export type ErrorKey = keyof typeof ERRORS;

export const MESSAGES = {
  unauthenticated: 'Please authenticate yourself to use this endpoint.',
  forbidden: 'This user cannot access this resource.',
  notFound: 'The resource you are looking for could not be found.',
  versionNotAvailable: 'The requested API version is not available on this server.',
  methodNotAllowed: 'Method not allowed on this endpoint.',
  modifiedMeanwhile: 'Resource was modified meanwhile',
  constraint: 'Integrity constraint violated, please retry.',
  backend: 'Service temporary unavailable due to overloading or maintenance, please retry later.',
  undefined: 'A programmatic error occurred, developers have been informed.',
  deprecated: 'The service you are trying to connect no longer exists at this location.',
} as const;

export interface ValidationDetail {
  location: string;
  name: string | null;
  description: string;
}

export interface ErrorBody {
  code: number;
  errno: number;
  error: string;
  message?: string;
  info?: string;
  details?: unknown;
}

export interface KintoErrorOptions {
  message?: string;
  details?: unknown;
  info?: string;
  headers?: Record<string, string | string[]>;
}

export class KintoError extends Error {
  readonly key: ErrorKey;
  readonly status: number;
  readonly errno: number;
  readonly label: string;
  readonly details: unknown;
  readonly info: string | undefined;
  readonly headers: Record<string, string | string[]>;

  constructor(key: ErrorKey, options: KintoErrorOptions = {}) {
    super(options.message ?? key);
    const entry = ERRORS[key];
    this.key = key;
    this.status = entry.status;
    this.errno = entry.errno;
    this.label = entry.error;
    this.details = options.details;
    this.info = options.info;
    this.headers = options.headers ?? {};
    this.hasMessage = options.message !== undefined;
  }

  private readonly hasMessage: boolean;

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.status, errno: this.errno, error: this.label };
    if (this.hasMessage && this.message) body.message = this.message;
    if (this.info) body.info = this.info;
    if (!isEmpty(this.details)) body.details = this.details;
    return body;
  }
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value as object).length === 0;
  return false;
}

/** 400 "Invalid parameters" with Kinto's `details` list and its message rule. */
export function invalidParameters(
  location: string,
  name: string | null,
  description: string,
  more: ValidationDetail[] = [],
): KintoError {
  const details = [{ location, name, description }, ...more];
  return validationError(details);
}

export function validationError(details: ValidationDetail[]): KintoError {
  // Kinto sorts by str(name) (so None sorts as "None"), by code point.
  const key = (d: ValidationDetail) => (d.name === null ? 'None' : d.name);
  const sorted = [...details].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const first = sorted[0];
  let message: string;
  if (first.name === null) message = `${first.location}: ${first.description}`;
  else if (first.description.includes(first.name)) message = first.description;
  else message = `${first.name} in ${first.location}: ${first.description}`;
  return new KintoError('INVALID_PARAMETERS', { message, details: sorted });
}

export function notFound(details?: { id: string; resource_name: string }, key: ErrorKey = 'INVALID_RESOURCE_ID'): KintoError {
  return new KintoError(key, { message: MESSAGES.notFound, details });
}

export function modifiedMeanwhile(existing?: Record<string, unknown> | null, etag?: number): KintoError {
  const headers: Record<string, string> = {};
  if (etag !== undefined) {
    headers.ETag = `"${etag}"`;
    headers['Last-Modified'] = new Date(Math.floor(etag / 1000) * 1000).toUTCString();
  }
  return new KintoError('MODIFIED_MEANWHILE', {
    message: MESSAGES.modifiedMeanwhile,
    details: existing ? { existing } : undefined,
    headers,
  });
}

export function methodNotAllowed(): KintoError {
  return new KintoError('METHOD_NOT_ALLOWED', { message: MESSAGES.methodNotAllowed });
}

export function forbidden(message: string = MESSAGES.forbidden): KintoError {
  return new KintoError('FORBIDDEN', { message });
}

export function badRequest(message: string, details?: unknown): KintoError {
  return new KintoError('INVALID_POSTED_DATA', { message, details });
}

export function serviceUnavailable(retryAfterSeconds: number, message: string = MESSAGES.backend): KintoError {
  return new KintoError('BACKEND', { message, headers: { 'Retry-After': String(retryAfterSeconds) } });
}
