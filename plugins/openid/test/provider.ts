import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'kinto-client';
export const CLIENT_SECRET = 'kinto-client-secret-with-enough-length';
/** The token endpoint of the server under test (`app.inject` answers as `http://localhost`). */
export const REDIRECT_URI = 'http://localhost/v1/openid/op/token';

/**
 * A real OpenID provider (oidc-provider) on 127.0.0.1, with its development login and
 * consent forms: any login is accepted, `sub` is the login and `email` `<login>@example.com`.
 */
export class TestProvider {
  readonly issuer: string;
  /** Requests received, by path (e.g. `/me` for userinfo). */
  readonly hits = new Map<string, number>();
  private server: Server | null = null;
  private readonly port: number;

  private constructor(port: number) {
    this.port = port;
    this.issuer = `http://127.0.0.1:${port}`;
  }

  static async create(): Promise<TestProvider> {
    const port = await freePort();
    const provider = new TestProvider(port);
    await provider.start();
    return provider;
  }

  async start(): Promise<void> {
    const oidc = new Provider(this.issuer, {
      clients: [{
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      }],
      features: { devInteractions: { enabled: true } },
      pkce: { required: () => false },
      claims: { openid: ['sub'], email: ['email'] },
      cookies: { keys: ['openid-test-cookie-key'] },
      ttl: { AccessToken: 3600, AuthorizationCode: 60, Grant: 3600, IdToken: 3600, Interaction: 600, Session: 3600 },
      async findAccount(_ctx, id) {
        return { accountId: id, claims: async () => ({ sub: id, email: `${id}@example.com` }) };
      },
    });
    oidc.use(async (ctx, next) => {
      this.hits.set(ctx.path, (this.hits.get(ctx.path) ?? 0) + 1);
      await next();
    });
    const server = oidc.listen(this.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', reject);
    });
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  count(path: string): number {
    return this.hits.get(path) ?? 0;
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Follows the provider's redirects from `authorizationUrl` through the dev login and consent
 * forms, as a browser would, and returns the final redirect to our token endpoint.
 */
export async function loginThroughProvider(authorizationUrl: string, login: string): Promise<URL> {
  const cookies = new Map<string, string>();
  const remember = (response: Response) => {
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  };
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  let url = new URL(authorizationUrl);
  for (let step = 0; step < 20; step += 1) {
    if (url.href.startsWith(REDIRECT_URI)) return url;
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: cookieHeader() } });
    remember(response);
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      url = new URL(response.headers.get('location')!, url);
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new Error(`provider answered ${response.status}: ${html.slice(0, 300)}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`no form in the provider's page: ${html.slice(0, 300)}`);
    const form = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      form.set('login', login);
      form.set('password', 'any password');
    }
    const submitted = await fetch(new URL(action, url), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    remember(submitted);
    await submitted.body?.cancel();
    if (submitted.status < 300 || submitted.status >= 400) throw new Error(`form submission answered ${submitted.status}`);
    url = new URL(submitted.headers.get('location')!, url);
  }
  throw new Error('too many redirects at the provider');
}
