/** The little of oidc-provider (which ships no types) the tests use. */
declare module 'oidc-provider' {
  import type { Server } from 'node:http';

  interface Context {
    readonly path: string;
  }
  interface Account {
    accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }
  export interface Configuration {
    clients?: Record<string, unknown>[];
    features?: Record<string, unknown>;
    pkce?: { required?: () => boolean };
    claims?: Record<string, string[]>;
    cookies?: { keys?: string[] };
    ttl?: Record<string, number>;
    findAccount?(ctx: unknown, id: string): Promise<Account | undefined>;
  }
  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    use(middleware: (ctx: Context, next: () => Promise<void>) => Promise<void>): void;
    listen(port: number, host?: string): Server;
  }
}
