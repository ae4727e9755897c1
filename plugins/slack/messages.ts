/**
 * kinto-slack's `build_notification`/`get_messages`: one message per hook matching each
 * impacted object, the template formatted with the event (unknown names render empty).
 */
import { invalidParameters } from '../../core/errors.ts';
import type { EventListener, ImpactedObject } from '../../core/events.ts';
import type { JsonObject } from '../../core/filters/ast.ts';
import type { Storage } from '../../core/storage/types.ts';
import { formatTemplate, TemplateError } from '../emailer/format.ts';
import { hookMatches } from '../emailer/hooks.ts';
import type { BuildOptions, NotificationSource } from '../emailer/notifications.ts';

export const METADATA_FIELD = 'kinto-slack';

export interface SlackMessage {
  /** `#channel` of the hook (routed to `slack.<channel>.webhook_url`), or null for the default webhook. */
  channel: string | null;
  text: string;
}

interface SlackHook {
  template: string;
  channel?: string;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const isSlackHook = (value: unknown): value is SlackHook =>
  isObject(value) && typeof value.template === 'string' && (value.channel === undefined || typeof value.channel === 'string');

/** Every hook needs its template (kinto-slack's only check), and is an object with string fields. */
export const validationListener: EventListener = {
  phase: 'transaction',
  resources: ['bucket', 'collection'],
  actions: ['create', 'update'],
  async handle(events) {
    for (const event of events) {
      for (const { new: metadata } of event.impacted) {
        const settings = metadata?.[METADATA_FIELD];
        if (settings === undefined) continue;
        const hooks = isObject(settings) ? (settings.hooks ?? []) : null;
        if (!Array.isArray(hooks)) throw invalidParameters('body', METADATA_FIELD, '"hooks" should be a list');
        for (const hook of hooks) {
          if (!isObject(hook) || !('template' in hook)) throw invalidParameters('body', METADATA_FIELD, "Hook is missing 'template'");
          if (!isSlackHook(hook)) throw invalidParameters('body', METADATA_FIELD, "Hook 'template' and 'channel' should be strings");
        }
      }
    }
  },
};

/** The collection's hooks, else its bucket's (not merged). */
async function hooksFor(storage: Storage, context: Record<string, unknown>, impacted: ImpactedObject): Promise<SlackHook[]> {
  const bucketId = String(context.bucket_id);
  let metadata: JsonObject | null;
  if (context.resource_name === 'collection') metadata = (context.action === 'delete' ? impacted.old : impacted.new) ?? null;
  else metadata = await storage.get('collection', `/buckets/${bucketId}`, String(context.collection_id));
  if (!metadata || !(METADATA_FIELD in metadata)) metadata = await storage.get('bucket', '', bucketId);
  const settings = metadata?.[METADATA_FIELD];
  const hooks: unknown[] = isObject(settings) && Array.isArray(settings.hooks) ? settings.hooks : [];
  return hooks.filter(isSlackHook);
}

export async function buildSlackMessages(source: NotificationSource, options: BuildOptions): Promise<SlackMessage[]> {
  const base: Record<string, unknown> = { ...options.request, impacted_objects: source.impacted, event: source.event, ...source.payload };
  base.settings = { ...options.settings };
  base.record_id ??= '{record_id}';
  base.collection_id ??= '{collection_id}';
  const resourceName = String(source.payload.resource_name);
  const messages: SlackMessage[] = [];
  for (const impacted of source.impacted) {
    const object = impacted.new ?? impacted.old;
    if (!object) continue;
    const context = { ...base, id: object.id, [`${resourceName}_id`]: object.id };
    for (const hook of await hooksFor(options.storage, context, impacted)) {
      try {
        if (!hookMatches(hook, context)) continue;
        messages.push({ channel: hook.channel ?? null, text: formatTemplate(hook.template, context, 'empty') });
      } catch (error) {
        // A broken template or filter loses its own message, never the write.
        if (!(error instanceof TemplateError || error instanceof SyntaxError)) throw error;
        options.warn({ err: error, uri: context.uri }, 'kinto-slack hook ignored: invalid template or filter');
      }
    }
  }
  return messages;
}
