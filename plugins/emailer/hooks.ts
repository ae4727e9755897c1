/**
 * The `kinto-emailer` metadata of buckets and collections: `{"hooks": [{template,
 * recipients, subject?, sender?, <filters>?}]}`, checked when written (kinto-emailer's
 * `_validate_emailer_settings`) and matched against events.
 */
import type { EventListener, ResourceEvent } from '../../core/events.ts';
import { invalidParameters } from '../../core/errors.ts';
import type { JsonObject } from '../../core/filters/ast.ts';

export const METADATA_FIELD = 'kinto-emailer';

/**
 * kinto-emailer's `EMAIL_REGEXP`, used with `re.match` (anchored at the start only): a
 * display-name form (`Name <a@b>`, anything after it accepted) or a bare address.
 */
export const EMAIL_PATTERN = /^(.*<[^@<>\s]+@[^@<>\s]+>)|^([^@<>\s]+@[^@<>\s]+)$/s;
export const GROUP_PATTERN = /^\/buckets\/[^/]+\/groups\/[^/]+$/;

/** The event fields a hook may filter on; a value starting with `^` is a regular expression. */
export const FILTERS = ['event', 'action', 'resource_name', 'id', 'record_id', 'collection_id'] as const;

export interface Hook {
  template: string;
  recipients: string[];
  subject?: string;
  sender?: string;
  [filter: string]: unknown;
}

const invalid = (description: string) => invalidParameters('body', null, description);

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Throws kinto-emailer's 400 for invalid hooks; `bucketUri` is the bucket groups must belong to. */
export function validateEmailerMetadata(value: unknown, bucketUri: string): void {
  if (!isObject(value) || !('hooks' in value)) throw invalid('Missing "hooks".');
  const { hooks } = value;
  // Stricter than kinto-emailer (which fails later, with a 500, on these shapes).
  if (!Array.isArray(hooks)) throw invalid('Invalid "hooks": a list is expected.');
  for (const hook of hooks) validateHook(hook, bucketUri);
}

function validateHook(hook: unknown, bucketUri: string): void {
  if (!isObject(hook) || !('template' in hook)) throw invalid('Missing "template".');
  for (const field of ['template', 'subject', 'sender']) {
    if (field in hook && typeof hook[field] !== 'string') throw invalid(`Invalid "${field}": a string is expected.`);
  }
  const recipients = hook.recipients ?? [];
  if (!Array.isArray(recipients)) throw invalid(`Invalid recipients ${JSON.stringify(recipients)}`);
  if (recipients.length === 0) throw invalid('Empty list of recipients.');
  const invalids = recipients.filter((r) => typeof r !== 'string' || !(EMAIL_PATTERN.test(r) || GROUP_PATTERN.test(r)));
  if (invalids.length) throw invalid(`Invalid recipients ${invalids.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join(', ')}`);
  // kinto-emailer checks the prefix only (`/buckets/b` would accept `/buckets/bb/groups/g`).
  const foreign = (recipients as string[]).filter((r) => GROUP_PATTERN.test(r) && !r.startsWith(`${bucketUri}/`));
  if (foreign.length) throw invalid(`Invalid bucket for groups ${foreign.join(', ')}`);
}

/** Validates the metadata of every bucket and collection created or updated. */
export const validationListener: EventListener = {
  phase: 'transaction',
  resources: ['bucket', 'collection'],
  actions: ['create', 'update'],
  async handle(events: ResourceEvent[]) {
    for (const event of events) {
      for (const { new: metadata } of event.impacted) {
        if (!metadata || !(METADATA_FIELD in metadata)) continue;
        const bid = event.payload.resource_name === 'bucket' ? metadata.id : event.payload.bucket_id;
        validateEmailerMetadata(metadata[METADATA_FIELD], `/buckets/${String(bid)}`);
      }
    }
  },
};

/** The hooks of some metadata, as kinto-emailer reads them; null when the field is absent. */
export function hooksOf(metadata: JsonObject | null): unknown[] | null {
  if (!metadata || !(METADATA_FIELD in metadata)) return null;
  const settings = metadata[METADATA_FIELD];
  const hooks = isObject(settings) ? settings.hooks : undefined;
  return Array.isArray(hooks) ? hooks : [];
}

/** A usable hook (metadata written before the plugin was included may not be). */
export function isHook(value: unknown): value is Hook {
  if (!isObject(value) || typeof value.template !== 'string' || !Array.isArray(value.recipients)) return false;
  if (!value.recipients.every((r) => typeof r === 'string')) return false;
  return ['subject', 'sender'].every((field) => value[field] === undefined || typeof value[field] === 'string');
}

/**
 * kinto-emailer's `_match` for every filter: a filter absent from the hook or from the
 * context is met; `^...` is a regular expression matched at the start (`re.match`).
 * Throws `SyntaxError` for a pattern JavaScript cannot compile.
 */
export function hookMatches(hook: object, context: Readonly<Record<string, unknown>>): boolean {
  return FILTERS.every((field) => {
    if (!(field in hook) || !(field in context)) return true;
    const expected = (hook as Record<string, unknown>)[field];
    const actual = context[field];
    if (typeof expected !== 'string' || typeof actual !== 'string') return expected === actual;
    if (!expected.startsWith('^')) return expected === actual;
    return pythonRegExp(expected).test(actual);
  });
}

const compiled = new Map<string, RegExp>();

/** A Python pattern in JavaScript: named groups `(?P<x>` become `(?<x>`, the rest is shared syntax. */
function pythonRegExp(pattern: string): RegExp {
  let regexp = compiled.get(pattern);
  if (!regexp) {
    regexp = new RegExp(pattern.replaceAll('(?P<', '(?<').replaceAll(/\(\?P=(\w+)\)/g, '\\k<$1>'));
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, regexp);
  }
  return regexp;
}
