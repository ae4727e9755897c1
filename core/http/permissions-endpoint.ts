import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Identity } from '../auth/authorization.ts';
import { uriLevels, type InheritanceTree } from '../auth/inheritance.ts';
import type { KintoCore } from '../context.ts';
import { fieldName, type JsonObject, type SortField } from '../filters/ast.ts';
import { matchesAll, projectFields, sortObjects } from '../filters/evaluate.ts';
import { buildAfterFilter, encodeToken, lastObjectFor, parseListQuery } from '../filters/parse.ts';
import { identify } from './identity.ts';
import { absoluteUrl } from './urls.ts';

const KNOWN_FIELDS = new Set(['id', 'uri', 'resource_name', 'permissions', 'bucket_id', 'collection_id', 'group_id', 'record_id', 'last_modified']);
const CREATE_PARENT: Record<string, string> = { collection: 'bucket', group: 'bucket', record: 'collection', bucket: 'root', account: 'root' };

/** For a permission held on a resource, the permissions it implies on that same resource. */
function impliedOnSameResource(tree: InheritanceTree, resource: string, held: string): string[] {
  return Object.entries(tree[resource] ?? {})
    .filter(([, from]) => (from[resource] ?? []).includes(held))
    .map(([obtained]) => obtained);
}

/** `<resource>_<perm>_principals` settings that grant the caller something (Kinto's allowed_from_settings). */
function allowedFromSettings(core: KintoCore, principals: readonly string[]): Map<string, Set<string>> {
  const mine = new Set(principals);
  const result = new Map<string, Set<string>>();
  for (const key of core.settings.keys()) {
    const match = /^([a-z]+)_(create|write|read)_principals$/.exec(key);
    if (!match || !(match[1] in core.tree || match[1] === 'account')) continue;
    if (!core.settings.list(key).some((p) => mine.has(p))) continue;
    let [, resource, perm] = match;
    if (perm === 'create') [resource, perm] = [CREATE_PARENT[resource] ?? '', `${resource}:create`];
    if (!result.has(resource)) result.set(resource, new Set());
    result.get(resource)!.add(perm);
  }
  return result;
}

async function entriesFor(core: KintoCore, identity: Identity): Promise<JsonObject[]> {
  const byUri = await core.permission.getAccessibleObjects(identity.principals);
  const fromSettings = allowedFromSettings(core, identity.principals);
  for (const perm of fromSettings.get('root') ?? []) {
    if (!byUri.has('/')) byUri.set('/', new Set());
    byUri.get('/')!.add(perm);
  }
  for (const resource of ['bucket', 'collection', 'group'].filter((r) => fromSettings.has(r))) {
    const buckets = await core.storage.list('bucket', '');
    for (const bucket of buckets) {
      const uris = resource === 'bucket'
        ? [`/buckets/${bucket.id}`]
        : (await core.storage.list(resource, `/buckets/${bucket.id}`)).map((o) => `/buckets/${bucket.id}/${resource}s/${o.id}`);
      for (const uri of uris) {
        if (!byUri.has(uri)) byUri.set(uri, new Set());
        for (const perm of fromSettings.get(resource)!) byUri.get(uri)!.add(perm);
      }
    }
  }
  const entries: JsonObject[] = [];
  // As in Kinto, only objects with an endpoint of their own are listed (not history entries).
  const listed = (resource: string) => {
    const definition = core.resources.get(resource);
    return resource in core.tree && (!definition || definition.objectPath !== undefined);
  };
  for (const [uri, perms] of byUri) {
    const entry = describe(core.tree, listed, uri, perms);
    if (entry) entries.push(entry);
  }
  return entries;
}

function describe(tree: InheritanceTree, listed: (resource: string) => boolean, uri: string, perms: Set<string>): JsonObject | null {
  // The root maps to the hello view, which has no id.
  if (uri === '/') return { uri, resource_name: 'root', permissions: [...perms] };
  const { levels, plural } = uriLevels(uri);
  const target = levels.at(-1);
  if (plural || !target || !listed(target.resource)) return null;
  const entry: JsonObject = { uri, resource_name: target.resource };
  for (const level of levels) entry[`${level.resource}_id`] = level.uri.slice(level.uri.lastIndexOf('/') + 1);
  entry.id = entry[`${target.resource}_id`];
  const expanded = new Set(perms);
  for (const perm of perms) for (const implied of impliedOnSameResource(tree, target.resource, perm)) expanded.add(implied);
  entry.permissions = [...expanded].sort();
  return entry;
}

/** Kinto's permissions resource sorting: no `last_modified`, and `uri` (unique) as tie-breaker. */
function permissionsSort(sort: readonly SortField[]): SortField[] {
  const kept = sort.filter((s) => fieldName(s.field) !== 'last_modified');
  if (!kept.some((s) => fieldName(s.field) === 'uri')) kept.push({ field: ['uri'], direction: -1 });
  return kept;
}

function pageLimit(core: KintoCore, requested: number | null): number {
  const paginateBy = core.settings.optionalInt('paginate_by');
  const maxFetch = core.settings.int('storage_max_fetch_size', 10000);
  let limit = requested || paginateBy;
  if (limit && paginateBy) limit = Math.min(limit, paginateBy);
  return limit ? Math.min(limit, maxFetch) : maxFetch;
}

/** The same querystring with a new `_limit` and `_token` (Kinto's `_next_page_url`). */
function nextPageUrl(core: KintoCore, request: FastifyRequest, limit: number, token: string): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(request.query as Record<string, string | string[]>)) {
    if (key === '_limit' || key === '_token') continue;
    for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
  }
  params.set('_limit', String(limit));
  params.set('_token', token);
  return absoluteUrl(core.settings, request, `/permissions?${params.toString()}`);
}

export function registerPermissionsEndpoint(app: FastifyInstance, core: KintoCore): void {
  const enabled = core.settings.bool('experimental_permissions_endpoint', false);
  if (!enabled) return;
  core.capabilities.add('permissions_endpoint', {
    description: 'The permissions endpoint can be used to list all user objects permissions.',
    url: 'https://kinto.readthedocs.io/en/latest/configuration/settings.html#activating-the-permissions-endpoint',
  });
  app.route({
    method: ['GET', 'HEAD'],
    url: '/v1/permissions',
    config: { corsEndpoint: 'plural' },
    handler: async (request, reply) => {
      const identity = await identify(core, request, core.permission);
      const query = parseListQuery(request.query as Record<string, string>, { now: Date.now(), knownFields: KNOWN_FIELDS });
      const order = permissionsSort(query.sort);
      const filters = query.filters.filter((f) => !('field' in f) || fieldName(f.field) !== 'last_modified');
      if (query.token) filters.push(buildAfterFilter(order, query.token.lastObject));
      const matching = sortObjects((await entriesFor(core, identity)).filter((e) => matchesAll(e, filters)), order);
      reply.headers({ ETag: '"0"', 'Last-Modified': new Date(0).toUTCString(), 'Cache-Control': 'no-cache, no-store' });
      if (request.method === 'HEAD') {
        return reply.headers({ 'Total-Objects': String(matching.length), 'Total-Records': String(matching.length) }).send();
      }
      const limit = pageLimit(core, query.limit);
      const page = matching.slice(0, limit);
      if (matching.length > limit && page.length) {
        const offset = (query.token?.offset ?? 0) + limit + 1;
        const token = encodeToken(lastObjectFor(page.at(-1)!, order), offset, `pagination-token-${randomUUID()}`);
        reply.header('Next-Page', nextPageUrl(core, request, limit, token));
      }
      return { data: query.fields ? page.map((e) => projectFields(e, query.fields!)) : page };
    },
  });
}
