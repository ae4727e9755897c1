/**
 * A FAKE Firefox Accounts OAuth server for the tests: no real FxA server can run here. It
 * speaks the parts of the FxA OAuth API kinto-fxa uses (`/v1/verify`, `/v1/token`,
 * `/v1/authorization`, `/__heartbeat__`) with FxA's error bodies, counts the calls, and can
 * be switched to answer 5xx or be stopped.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';

export interface TokenInfo {
  user: string;
  client_id: string;
  scope: string[];
}

/** FxA's error body (`{code, errno, error, message}`). */
const fxaError = (code: number, errno: number, message: string) => ({
  code,
  errno,
  error: code === 400 ? 'Bad Request' : code === 401 ? 'Unauthorized' : 'Internal Server Error',
  message,
});

export class FakeFxa {
  /** Valid access tokens and what `/v1/verify` tells about them. */
  readonly tokens = new Map<string, TokenInfo>();
  /** Authorization codes not traded yet: code → access token. */
  readonly codes = new Map<string, string>();
  /** Calls received, by path. */
  readonly calls: Record<string, number> = {};
  /** The last `/v1/token` body. */
  lastTokenRequest: Record<string, unknown> | null = null;
  /** Answer every API call with this 5xx status (null: behave). */
  failWith: number | null = null;
  /** Client id and secret this server knows (the relier's registration). */
  clientId = 'relier-client';
  clientSecret = 'relier-secret';
  /** Where the sign-in page sends the user back (the relier's registered redirect URI); null: a page. */
  redirectUri: string | null = null;

  private readonly app: FastifyInstance;
  private address = '';

  private constructor() {
    this.app = Fastify();
    this.app.addHook('onRequest', async (request, reply) => {
      const path = request.url.split('?')[0];
      this.calls[path] = (this.calls[path] ?? 0) + 1;
      if (this.failWith !== null) return reply.code(this.failWith).send(fxaError(this.failWith, 999, 'Unexpected error'));
    });
    this.routes();
  }

  static async start(): Promise<FakeFxa> {
    const fake = new FakeFxa();
    fake.address = await fake.app.listen({ host: '127.0.0.1', port: 0 });
    return fake;
  }

  /** The `fxa-oauth.oauth_uri` of this server (FxA's ends with `/v1`). */
  get oauthUri(): string {
    return `${this.address}/v1`;
  }

  count(path: string): number {
    return this.calls[path] ?? 0;
  }

  /** A new valid access token for `user` with `scope`. */
  issueToken(user: string, scope: string[], clientId = this.clientId): string {
    const token = randomBytes(16).toString('hex');
    this.tokens.set(token, { user, client_id: clientId, scope });
    return token;
  }

  stop(): Promise<void> {
    return this.app.close();
  }

  private routes(): void {
    this.app.post<{ Body: { token?: unknown } }>('/v1/verify', async (request, reply) => {
      const info = typeof request.body?.token === 'string' ? this.tokens.get(request.body.token) : undefined;
      if (!info) return reply.code(400).send(fxaError(400, 108, 'Invalid token'));
      return info;
    });

    this.app.post<{ Body: Record<string, unknown> }>('/v1/token', async (request, reply) => {
      this.lastTokenRequest = request.body;
      const { code, client_id: clientId, client_secret: clientSecret } = request.body ?? {};
      if (clientId !== this.clientId || clientSecret !== this.clientSecret) {
        return reply.code(401).send(fxaError(401, 101, 'Unknown client'));
      }
      const token = typeof code === 'string' ? this.codes.get(code) : undefined;
      if (token === undefined) return reply.code(400).send(fxaError(400, 105, 'Unknown code'));
      this.codes.delete(code as string);
      return { access_token: token, token_type: 'bearer', scope: 'profile', auth_at: 0 };
    });

    // The sign-in page: the user signs in at once, and is sent back to the relier with a code.
    this.app.get<{ Querystring: Record<string, string> }>('/v1/authorization', async (request, reply) => {
      const { client_id: clientId, state, scope } = request.query;
      if (clientId !== this.clientId) return reply.code(400).send(fxaError(400, 101, 'Unknown client'));
      if (this.redirectUri === null) return reply.type('text/html').send('<h1>Sign in to Firefox Accounts</h1>');
      const code = randomBytes(8).toString('hex');
      this.codes.set(code, this.issueToken('signed-in-user', (scope ?? '').split(' ')));
      return reply.redirect(`${this.redirectUri}?code=${code}&state=${encodeURIComponent(state ?? '')}`, 302);
    });

    this.app.get('/__heartbeat__', async () => ({}));
  }
}
