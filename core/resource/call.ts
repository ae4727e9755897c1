import type { JsonObject } from '../filters/ast.ts';
import type { Settings } from '../settings/load.ts';
import type { Cache } from '../cache/types.ts';
import type { ReadableBy, StoredObject } from '../storage/types.ts';
import type { UnitOfWork } from '../unit-of-work.ts';
import type { HookContext, PathParams, ResourceDefinition } from './definition.ts';
import type { ListingCache } from './listing-cache.ts';
import { ResourceModel } from './model.ts';

export type BodyKind = 'json' | 'merge-patch' | 'json-patch';

/** One request to a resource endpoint, as the handler recipes see it (no framework types). */
export interface ResourceCall {
  readonly method: string;
  readonly definition: ResourceDefinition;
  readonly params: PathParams;
  readonly query: Record<string, string | string[] | undefined>;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: unknown;
  readonly bodyKind: BodyKind;
  readonly userId: string | null;
  readonly principals: readonly string[];
  readonly uow: UnitOfWork;
  readonly settings: Settings;
  readonly cache: Cache;
  readonly listings: ListingCache;
  /** Request path without the version prefix (event `uri`). */
  readonly requestUri: string;
  /** Builds an absolute URL for a path and querystring (Next-Page). */
  readonly absoluteUrl: (pathWithQuery: string) => string;
  /** Ids the caller may see when it cannot read the whole list (null = no restriction). */
  readonly sharedIds: readonly string[] | null;
  /** The same restriction, resolved in the listing's SQL (then `sharedIds` is null). */
  readonly readableBy?: ReadableBy;
  /** Parents loaded during authorization, when the route already needed them. */
  readonly parents: Record<string, StoredObject>;
}

export interface ResourceResult {
  status: number;
  /** A value to serialise, or a body already serialised (`JsonText`). */
  body?: unknown;
  headers: Record<string, string>;
}

/** A response body that is JSON text already (or its UTF-8 bytes), sent as it is. */
export class JsonText {
  readonly text: string | Buffer;
  constructor(text: string | Buffer) {
    this.text = text;
  }
}

export function modelFor(call: ResourceCall): ResourceModel {
  return new ResourceModel({
    uow: call.uow,
    definition: call.definition,
    params: call.params,
    userId: call.userId,
    principals: call.principals,
    explicitPermissions: call.settings.bool('explicit_permissions', true),
    readonlyMode: call.settings.bool('readonly', false),
    requestUri: call.requestUri,
    listings: call.listings,
  });
}

export function hookContext(call: ResourceCall, model: ResourceModel): HookContext {
  return {
    uow: call.uow,
    settings: call.settings,
    params: call.params,
    parentId: model.parentId,
    userId: call.userId,
    principals: call.principals,
    parents: call.parents,
  };
}

/** HTTP dates of recent seconds: formatting one is ~1% of a GET (objects share their seconds). */
const httpDates = new Map<number, string>();

function httpDate(seconds: number): string {
  let date = httpDates.get(seconds);
  if (date === undefined) {
    date = new Date(seconds * 1000).toUTCString();
    if (httpDates.size >= 1024) httpDates.clear();
    httpDates.set(seconds, date);
  }
  return date;
}

/** `ETag` (quoted timestamp) and `Last-Modified` (HTTP date, second resolution). */
export function timestampHeaders(timestamp: number): Record<string, string> {
  return { ETag: `"${timestamp}"`, 'Last-Modified': httpDate(Math.floor(timestamp / 1000)) };
}

/** Kinto's `_add_cache_header`: cacheable only for anonymous callers with a configured lifetime. */
export function cacheHeaders(seconds: number | null, anonymous: boolean): Record<string, string> {
  if (seconds === null || !anonymous) return { 'Cache-Control': 'no-cache, no-store' };
  if (seconds <= 0) {
    return {
      'Cache-Control': 'max-age=0, must-revalidate, no-cache, no-store',
      Expires: new Date().toUTCString(),
      Pragma: 'no-cache',
    };
  }
  return {
    'Cache-Control': `max-age=${seconds}`,
    Expires: new Date(Date.now() + seconds * 1000).toUTCString(),
  };
}

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
