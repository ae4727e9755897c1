import type { FilterNode, JsonObject } from '../filters/ast.ts';
import type { ObjectRef, StoredObject } from '../storage/types.ts';
import type { UnitOfWork } from '../unit-of-work.ts';
import type { Settings } from '../settings/load.ts';

/** Path parameters of a resource route, e.g. `{bucket_id: 'b', collection_id: 'c', id: 'r'}`. */
export type PathParams = Record<string, string>;

export interface IdGenerator {
  readonly pattern: RegExp;
  generate(): string;
}

/** What a resource hook knows about the request: no HTTP, only the model's world. */
export interface HookContext {
  readonly uow: UnitOfWork;
  readonly settings: Settings;
  readonly params: PathParams;
  readonly parentId: string;
  readonly userId: string | null;
  readonly principals: readonly string[];
  /** Parents loaded by `loadParents` (e.g. `collection` for records). */
  readonly parents: Record<string, StoredObject>;
}

/**
 * One resource type of the tree (bucket, collection, group, record, or a plugin's).
 * Routes, authorization and the handler recipes are generic over this description.
 */
export interface ResourceDefinition {
  readonly name: string;
  /** fastify paths (without the /v1 prefix). */
  readonly pluralPath: string;
  /** Absent for resources served only as a list (history entries): no object endpoint. */
  readonly objectPath?: string;
  /** Methods the plural endpoint answers, others get 405 (all of them when absent). */
  readonly pluralMethods?: readonly string[];
  /** Storage parent id for the given path params (`''` for buckets). */
  parentId(params: PathParams): string;
  /** URI of one object, used as its permission object id. */
  objectUri(params: PathParams, id: string): string;
  readonly idGenerator: IdGenerator;
  /** Permissions that can be set on one object of this type. */
  readonly permissions: readonly string[];
  /** Root field names allowed in filters/sort (strict resources only). */
  readonly knownFields?: ReadonlySet<string>;
  /** Rewrites the querystring filters before they reach storage (history: numeric ids compared as text). */
  normalizeFilters?(filters: readonly FilterNode[]): FilterNode[];
  /** The parent object `loadParents` reads (records: their collection), read along with the object on a GET. */
  parentObject?(params: PathParams): ObjectRef;
  /** Checks that parents exist (404 otherwise) and returns them for the other hooks. */
  loadParents?(ctx: Omit<HookContext, 'parents'>): Promise<Record<string, StoredObject>>;
  /** Validates and completes an object before it is stored (schema, members...). */
  processObject?(ctx: HookContext, object: JsonObject, old: StoredObject | null): Promise<JsonObject>;
  /** Runs in the transaction after a create or update (e.g. group members → principals). */
  afterSave?(ctx: HookContext, object: StoredObject, old: StoredObject | null): Promise<void>;
  /** Runs in the transaction after objects were deleted (cascades). */
  afterDelete?(ctx: HookContext, deleted: StoredObject[]): Promise<void>;
  /** Extra cache lifetime for anonymous reads (records: collection `cache_expires`). */
  cacheExpires?(ctx: HookContext): number | null;
  /**
   * Completes the path params from the caller before anything else (accounts put the
   * storage parent, which depends on who asks, in a `__parent` param).
   */
  resolveParams?(params: PathParams, request: RequestInfo): Promise<PathParams> | PathParams;
  /**
   * The principal made owner (`write`) of objects this request creates or updates, instead
   * of the caller (accounts: `account:<username>` when anonymous or an admin). Null: the caller.
   */
  ownerPrincipal?(params: PathParams): string | null;
  /** Replaces the generic authorization (Kinto's tree) for this resource. */
  authorize?(params: PathParams, request: RequestInfo): Promise<{ allowed: boolean; sharedIds: string[] | null }>;
}

/** What resource hooks may know of the request before the handler runs. */
export interface RequestInfo {
  readonly method: string;
  readonly body: unknown;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly userId: string | null;
  readonly principals: readonly string[];
  readonly uow: UnitOfWork;
  readonly settings: Settings;
}
