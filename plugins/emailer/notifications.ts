/**
 * kinto-emailer's `build_notification`/`get_messages`: the messages an event asks for,
 * computed in the transaction (hooks and groups are read there), sent after commit.
 */
import type { ImpactedObject } from '../../core/events.ts';
import type { JsonObject } from '../../core/filters/ast.ts';
import type { Storage } from '../../core/storage/types.ts';
import { formatTemplate, TemplateError } from './format.ts';
import { EMAIL_PATTERN, GROUP_PATTERN, hookMatches, hooksOf, isHook, type Hook } from './hooks.ts';

export interface MailMessage {
  subject: string;
  /** null: the mailer's default sender. */
  sender: string | null;
  recipients: string[];
  body: string;
}

/** What templates know about the request (`root_url`, `client_address`, `user_agent`). */
export interface RequestInfo {
  root_url: string;
  client_address: string | null;
  user_agent: string | null;
}

/** An event as kinto-emailer sees it: its Python class name, payload and impacted objects. */
export interface NotificationSource {
  event: string;
  payload: Readonly<Record<string, unknown>>;
  impacted: readonly ImpactedObject[];
}

export interface BuildOptions {
  storage: Storage;
  request: RequestInfo;
  /** `{settings[project_name]}`: the settings kinto-emailer exposes (project name, version, url). */
  settings: Readonly<Record<string, string>>;
  warn: (details: object, message: string) => void;
}

type Context = Record<string, unknown>;

/** kinto-emailer's `context_from_event`. */
function eventContext(source: NotificationSource, options: BuildOptions): Context {
  const context: Context = { event: source.event, ...options.request, impacted_objects: source.impacted, ...source.payload };
  context.settings = { ...options.settings };
  // Not always in the payload (Kinto/kinto#945): the placeholders stay as written.
  if (!('record_id' in context)) context.record_id = '{record_id}';
  if (!('collection_id' in context)) context.collection_id = '{collection_id}';
  return context;
}

/** Every message of every hook matching the event, one round per impacted object. */
export async function buildMessages(source: NotificationSource, options: BuildOptions): Promise<MailMessage[]> {
  const base = eventContext(source, options);
  const resourceName = String(source.payload.resource_name);
  const lookups = new HookLookups(options.storage);
  const messages: MailMessage[] = [];
  for (const impacted of source.impacted) {
    const object = impacted.new ?? impacted.old;
    if (!object) continue;
    const context: Context = { ...base, id: object.id, [`${resourceName}_id`]: object.id };
    const hooks = await lookups.hooksFor(context, impacted);
    for (const hook of hooks) {
      const message = await messageOf(hook, context, options, lookups);
      if (message) messages.push(message);
    }
  }
  return messages;
}

async function messageOf(hook: Hook, context: Context, options: BuildOptions, lookups: HookLookups): Promise<MailMessage | null> {
  try {
    if (!hookMatches(hook, context)) return null;
    const body = formatTemplate(hook.template, context);
    const subject = formatTemplate(hook.subject ?? 'New message', context);
    const recipients = await lookups.expandRecipients(hook.recipients, context);
    if (recipients.length === 0) return null;
    return { subject, sender: hook.sender ?? null, recipients, body };
  } catch (error) {
    // kinto-emailer fails the request here; a broken hook only loses its own mail.
    if (!(error instanceof TemplateError || error instanceof SyntaxError)) throw error;
    options.warn({ err: error, uri: context.uri }, 'kinto-emailer hook ignored: invalid template or filter');
    return null;
  }
}

/** Storage reads of one event, memoised (a batch may touch many records of one collection). */
class HookLookups {
  private readonly storage: Storage;
  private readonly objects = new Map<string, Promise<JsonObject | null>>();

  constructor(storage: Storage) {
    this.storage = storage;
  }

  private get(resource: string, parentId: string, id: string): Promise<JsonObject | null> {
    const key = `${resource}\u0000${parentId}\u0000${id}`;
    let pending = this.objects.get(key);
    if (!pending) {
      pending = this.storage.get(resource, parentId, id);
      this.objects.set(key, pending);
    }
    return pending;
  }

  /** kinto-emailer's `_get_emailer_hooks`: the collection's hooks, else its bucket's. */
  async hooksFor(context: Context, impacted: ImpactedObject): Promise<Hook[]> {
    const bucketId = String(context.bucket_id);
    let metadata: JsonObject | null;
    if (context.resource_name === 'collection') {
      // The event carries the collection (kinto-emailer takes the first one of the event's).
      metadata = (context.action === 'delete' ? impacted.old : impacted.new) ?? null;
    } else {
      metadata = await this.get('collection', `/buckets/${bucketId}`, String(context.collection_id));
    }
    let hooks = hooksOf(metadata);
    hooks ??= hooksOf(await this.get('bucket', '', bucketId)) ?? [];
    return hooks.filter(isHook);
  }

  /** kinto-emailer's `_expand_recipients`: addresses, plus the members of groups that look like addresses. */
  async expandRecipients(recipients: readonly string[], context: Context): Promise<string[]> {
    const emails = recipients.filter((r) => !GROUP_PATTERN.test(r));
    const groups = recipients.map((r) => formatTemplate(r, context)).filter((r) => GROUP_PATTERN.test(r));
    for (const uri of groups) {
      const [bucketUri, groupId] = uri.split('/groups/');
      const group = await this.get('group', bucketUri, groupId);
      const members = Array.isArray(group?.members) ? group.members : [];
      for (const member of members) {
        if (typeof member !== 'string') continue;
        // Without the policy prefix: `ldap:alice@example.com` → `alice@example.com`.
        const unprefixed = member.includes(':') ? member.slice(member.indexOf(':') + 1) : member;
        if (EMAIL_PATTERN.test(unprefixed)) emails.push(unprefixed);
      }
    }
    return emails;
  }
}
