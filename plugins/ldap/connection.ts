/**
 * Connections to the LDAP server. Each check opens its own client (one TCP connection,
 * closed with `unbind()` whatever happened, or its socket would keep the process alive);
 * at most `ldap.pool_size` run at once, the others wait for a slot. A connection that
 * cannot be made is retried `ldap.pool_retry_max` times in all, `ldap.pool_retry_delay`
 * seconds apart (ldappool's rules); `ldap.pool_timeout` bounds the connection, each
 * operation and the wait for a slot.
 */
import { Client, ResultCodeError } from 'ldapts';

export interface ConnectorOptions {
  readonly url: string;
  readonly size: number;
  readonly retryMax: number;
  readonly retryDelaySeconds: number;
  readonly timeoutSeconds: number;
}

/** The LDAP server could not be reached or did not answer in time. */
export class LdapUnavailableError extends Error {
  override readonly name = 'LdapUnavailableError';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class LdapConnector {
  private readonly options: ConnectorOptions;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(options: ConnectorOptions) {
    this.options = options;
  }

  /**
   * Runs `work` with a fresh client. LDAP result codes (invalid credentials...) are
   * thrown as ldapts' `ResultCodeError`s; anything else (refused connection, timeout,
   * broken socket) is retried, then thrown as `LdapUnavailableError`.
   */
  async run<T>(work: (client: Client) => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      let lastError: unknown;
      for (let attempt = 1; attempt <= this.options.retryMax; attempt++) {
        if (attempt > 1) await sleep(this.options.retryDelaySeconds * 1000);
        const timeout = Math.round(this.options.timeoutSeconds * 1000);
        const client = new Client({ url: this.options.url, timeout, connectTimeout: timeout });
        try {
          return await work(client);
        } catch (error) {
          if (error instanceof ResultCodeError) throw error;
          lastError = error;
        } finally {
          await client.unbind().catch(() => undefined);
        }
      }
      const reason = lastError instanceof Error ? lastError.message : String(lastError);
      throw new LdapUnavailableError(`LDAP server ${this.options.url} unavailable: ${reason}`, { cause: lastError });
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.options.size) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const granted = () => {
        clearTimeout(timer);
        this.active++;
        resolve();
      };
      const timer = setTimeout(() => {
        const index = this.waiting.indexOf(granted);
        if (index >= 0) this.waiting.splice(index, 1);
        reject(new LdapUnavailableError(`no LDAP connection free within ${this.options.timeoutSeconds}s`));
      }, this.options.timeoutSeconds * 1000);
      this.waiting.push(granted);
    });
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}
