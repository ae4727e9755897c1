/**
 * The few calls of the FxA OAuth server API this plugin makes (what PyFxA's `fxa.oauth.Client`
 * did for kinto-fxa): token verification, code trading and the heartbeat.
 */

/** PyFxA's default server, used when `fxa-oauth.oauth_uri` is not set. */
export const DEFAULT_OAUTH_URI = 'https://oauth.accounts.firefox.com/v1';

/** Time limit of verification and code trading calls. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The server misbehaves: unreachable, a 5xx, a body that is not the API's JSON. PyFxA's
 * `OutOfProtocolError`; answered with a 503, since the client's credentials may be fine.
 */
export class FxaUnavailableError extends Error {
  override readonly name = 'FxaUnavailableError';
}

/** The server refused the request (a 4xx): invalid token or code. PyFxA's `ClientError`. */
export class FxaRefusalError extends Error {
  override readonly name = 'FxaRefusalError';
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** What `/verify` tells about a valid token. */
export interface VerifiedToken {
  readonly user: string;
  readonly client_id: string;
  readonly scope: string[];
}

/** PyFxA's server URL: trailing slashes removed, `/v1` appended when missing. */
export function apiBaseUrl(oauthUri: string | null): string {
  const base = (oauthUri ?? DEFAULT_OAUTH_URI).replace(/\/+$/, '');
  return base.endsWith('/v1') ? base : `${base}/v1`;
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The body of an API answer, or the error it stands for (PyFxA's `APIClient.request` rules). */
async function readAnswer(response: Response, path: string): Promise<JsonObject> {
  if (response.status >= 500) {
    await response.body?.cancel();
    throw new FxaUnavailableError(`${path} answered ${response.status}`);
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (!contentType.startsWith('application/json')) {
    await response.body?.cancel();
    throw new FxaUnavailableError(`${path} answered with non-json content-type '${contentType}'`);
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new FxaUnavailableError(`${path} answered with invalid JSON`);
  }
  if (response.status >= 400) {
    const message = isObject(body) && typeof body.message === 'string' ? body.message : `status ${response.status}`;
    throw new FxaRefusalError(response.status, message);
  }
  if (response.status < 200 || response.status >= 300 || !isObject(body)) {
    throw new FxaUnavailableError(`${path} answered an unexpected ${response.status}`);
  }
  return body;
}

/** FxA lists scopes as an array; a space-separated string is accepted too. */
function scopeList(value: unknown): string[] | null {
  if (typeof value === 'string') return value.split(/\s+/).filter((item) => item !== '');
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  return null;
}

export class FxaOAuthClient {
  /** `{oauth_uri}`, normalized as PyFxA does (ends with `/v1`). */
  readonly baseUrl: string;

  constructor(oauthUri: string | null) {
    this.baseUrl = apiBaseUrl(oauthUri);
  }

  private async post(path: string, body: JsonObject): Promise<JsonObject> {
    const send = () =>
      fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    let response: Response;
    try {
      // A kept-alive connection the server has closed fails once: one retry on a new one.
      response = await send().catch((error: unknown) => {
        if (error instanceof Error && error.name === 'TimeoutError') throw error;
        return send();
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new FxaUnavailableError(`${path} unreachable (${reason})`);
    }
    return readAnswer(response, path);
  }

  /** POST `/verify`: the token's user, client and scopes; throws `FxaRefusalError` for an invalid token. */
  async verify(token: string): Promise<VerifiedToken> {
    const answer = await this.post('/verify', { token });
    const scope = scopeList(answer.scope);
    const missing = ['user', 'scope', 'client_id'].filter((field) => answer[field] === undefined || answer[field] === null);
    if (missing.length) throw new FxaUnavailableError(`${missing.join(', ')} missing in OAuth response`);
    if (typeof answer.user !== 'string' || answer.user === '' || scope === null) {
      throw new FxaUnavailableError('malformed /verify response');
    }
    return { user: answer.user, client_id: String(answer.client_id), scope };
  }

  /** POST `/token`: trades an authorization code for an access token. */
  async tradeCode(code: string, clientId: string | null, clientSecret: string | null): Promise<string> {
    const body: JsonObject = { code, client_id: clientId };
    if (clientSecret !== null) body.client_secret = clientSecret;
    const answer = await this.post('/token', body);
    if (typeof answer.access_token !== 'string') throw new FxaUnavailableError('access_token missing in OAuth response');
    return answer.access_token;
  }

  /** GET `/__heartbeat__` at the server's root (kinto-fxa's `fxa_ping`). */
  async ping(timeoutSeconds: number): Promise<boolean> {
    try {
      const response = await fetch(new URL('/__heartbeat__', this.baseUrl), { signal: AbortSignal.timeout(timeoutSeconds * 1000) });
      await response.body?.cancel();
      return response.ok;
    } catch {
      return false;
    }
  }
}
