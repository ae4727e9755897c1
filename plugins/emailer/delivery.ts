/**
 * Messages wait for their transaction to commit (kinto-emailer keeps them on the request
 * and sends them from an AfterResourceChanged subscriber): a rolled back request sends
 * nothing. Sending happens in the background; failures are logged, never reported to
 * the client whose write already succeeded.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ImpactedObject } from '../../core/events.ts';
import type { Settings } from '../../core/settings/load.ts';
import { absoluteUrl } from '../../core/http/urls.ts';
import type { RequestInfo } from './notifications.ts';

interface Pending<M> {
  messages: M[];
  released: boolean;
}

/** Where an outbox's messages go (SMTP, a Slack webhook), and how logs name them. */
export interface Sender<M> {
  send(message: M): Promise<void>;
  describe(message: M): object;
}

interface Log {
  error(details: object, message: string): void;
  debug(details: object, message: string): void;
}

/**
 * The messages of each transaction. The commit-phase listener receives the events of the
 * committed transaction, whose impacted objects are those the transaction phase saw: they
 * lead back to the transaction's messages.
 */
export class Outbox<M> {
  private readonly byTransaction = new WeakMap<object, Pending<M>>();
  private readonly byImpacted = new WeakMap<ImpactedObject, Pending<M>>();
  private queue: Promise<void> = Promise.resolve();
  private readonly sender: Sender<M>;
  private readonly log: Log;

  constructor(sender: Sender<M>, log: Log) {
    this.sender = sender;
    this.log = log;
  }

  private pendingOf(transaction: object): Pending<M> {
    let pending = this.byTransaction.get(transaction);
    if (!pending) {
      pending = { messages: [], released: false };
      this.byTransaction.set(transaction, pending);
    }
    return pending;
  }

  /** Ties the impacted objects of a transaction's events to its messages. */
  track(transaction: object, impacted: readonly ImpactedObject[]): void {
    const pending = this.pendingOf(transaction);
    for (const object of impacted) this.byImpacted.set(object, pending);
  }

  add(transaction: object, messages: readonly M[]): void {
    this.pendingOf(transaction).messages.push(...messages);
  }

  /** After commit: sends the messages of the transaction these objects belong to, once. */
  release(impacted: readonly ImpactedObject[]): void {
    for (const object of impacted) {
      const pending = this.byImpacted.get(object);
      if (!pending || pending.released) continue;
      pending.released = true;
      for (const message of pending.messages) this.sendInBackground(message);
    }
  }

  /** One message at a time, in order, as kinto-emailer sends them; the request does not wait. */
  private sendInBackground(message: M): void {
    this.queue = this.queue.then(() =>
      this.sender.send(message).then(
        () => this.log.debug(this.sender.describe(message), 'notification sent'),
        (error: unknown) => this.log.error({ err: error, ...this.sender.describe(message) }, 'Could not send notifications'),
      ),
    );
  }

  /** Resolves once every message handed over so far was sent (or failed). */
  async idle(): Promise<void> {
    let tail;
    do {
      tail = this.queue;
      await tail;
    } while (tail !== this.queue);
  }
}

/** The request being served, for the templates' `root_url`, `client_address`, `user_agent`. */
export class RequestScope {
  private readonly current = new AsyncLocalStorage<FastifyRequest>();
  private readonly settings: Settings;

  constructor(app: FastifyInstance, settings: Settings) {
    this.settings = settings;
    // After body parsing, so that the handler (and the writes' listeners) run in the scope.
    app.addHook('preHandler', (request, _reply, done) => this.current.run(request, done));
  }

  /** Outside any request (a command, a start-up task): the configured origin. */
  info(): RequestInfo {
    const request = this.current.getStore();
    if (!request) {
      const origin = `${this.settings.str('http_scheme', '') || 'http'}://${this.settings.str('http_host', '') || 'localhost'}`;
      return { root_url: `${origin}/v1/`, client_address: null, user_agent: null };
    }
    return { root_url: absoluteUrl(this.settings, request, '/'), client_address: clientAddress(request), user_agent: request.headers['user-agent'] ?? null };
  }
}

/** WebOb's `client_addr`: the first `X-Forwarded-For` address, else the peer's. */
function clientAddress(request: FastifyRequest): string | null {
  const forwarded = request.headers['x-forwarded-for'];
  const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0].trim();
  return first || request.socket?.remoteAddress || request.ip || null;
}
