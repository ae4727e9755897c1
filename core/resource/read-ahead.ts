/**
 * Read-ahead for the commonest requests, a GET of one object or of a list (bench/README.md):
 * instead of four or five statements in a row (the caller's principals, the ACL its
 * authorization reads, the parent, the object or the list timestamp), one statement (a GET
 * of one object, storage and permissions on one database) or two or three concurrent ones.
 * The answers are remembered in the unit of work, where the usual code paths find them.
 */
import type { KintoCore } from '../context.ts';
import { authenticate } from '../http/identity.ts';
import { type ObjectRef, type ReadAhead, type ReadAheadAnswer, type StoredObject } from '../storage/types.ts';
import type { UnitOfWork } from '../unit-of-work.ts';
import type { PathParams, ResourceDefinition } from './definition.ts';

const parentKey = (ref: ObjectRef) => `parent:${ref.resource}:${ref.parentId}:${ref.id}`;
const timestampKey = (resource: string, parentId: string) => `timestamp:${resource}\u0000${parentId}`;
const versionKey = (resource: string, parentId: string) => `version:${resource}\u0000${parentId}`;
const objectKey = (ref: ObjectRef) => `read-ahead:${ref.resource}\u0000${ref.parentId}\u0000${ref.id}`;

/** A parent fetched earlier in this unit of work (a batch shares it), or undefined. */
export function rememberedParent(uow: UnitOfWork, ref: ObjectRef): StoredObject | undefined {
  return uow.bound.get(parentKey(ref)) as StoredObject | undefined;
}

export function rememberParent(uow: UnitOfWork, ref: ObjectRef, parent: StoredObject): void {
  uow.bound.set(parentKey(ref), parent);
}

export function forgetRememberedParent(uow: UnitOfWork, ref: ObjectRef): void {
  uow.bound.delete(parentKey(ref));
}

/**
 * The object read ahead for this request (null: known absent), or undefined. Taken once:
 * a second read (another subrequest of a batch) goes to storage and gets its own copy.
 */
export function takeReadAhead(uow: UnitOfWork, ref: ObjectRef): StoredObject | null | undefined {
  const key = objectKey(ref);
  if (!uow.bound.has(key)) return undefined;
  const found = uow.bound.get(key) as StoredObject | null;
  uow.bound.delete(key);
  return found;
}

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Reads ahead what a GET or HEAD of one object will ask, on a read-only unit of work (writes: see below). */
export async function readAheadObjectGet(
  core: KintoCore,
  definition: ResourceDefinition,
  request: { method: string; params: unknown; headers: Record<string, unknown> },
  uow: UnitOfWork,
): Promise<void> {
  const params = request.params as PathParams;
  const generic = !definition.authorize && !definition.resolveParams && definition.objectPath !== undefined;
  if (!generic) return;
  if (!uow.readonly) return readAheadWrite(core, definition, request, uow);
  if (request.method !== 'GET' && request.method !== 'HEAD') return;
  if (params.id === undefined) return readAheadListing(core, definition, request, uow);
  const { userId } = await authenticate(core, request as Parameters<typeof authenticate>[1]);
  const bound = core.authorizer.bound(definition.objectUri(params, params.id), 'read').map(([objectId]) => objectId);
  const target: ObjectRef = { resource: definition.name, parentId: definition.parentId(params), id: params.id };
  const parent = definition.parentObject?.(params);
  const refs = parent ? [target, parent] : [target];
  const { objects } = await readAhead(uow, { refs, permission: uow.permission, userId, objectIds: bound });
  uow.bound.set(objectKey(target), objects[0]);
  if (parent && objects[1]) rememberParent(uow, parent, objects[1]);
}

/**
 * A listing asks for the caller's principals, the ACEs of the plural and its parents, the
 * parent and the list timestamp, in a row: one statement instead (three concurrent ones when
 * storage and permissions are apart). The timestamp is only peeked at (an uninitialised one
 * is left to the handler, which may create it once the caller is authorized).
 */
async function readAheadListing(
  core: KintoCore,
  definition: ResourceDefinition,
  request: { params: unknown; headers: Record<string, unknown> },
  uow: UnitOfWork,
): Promise<void> {
  const params = request.params as PathParams;
  const { userId } = await authenticate(core, request as Parameters<typeof authenticate>[1]);
  const plural = definition.objectUri(params, '').slice(0, -1);
  const bound = core.authorizer.bound(plural, 'read').map(([objectId]) => objectId);
  const parent = definition.parentObject?.(params);
  const parentId = definition.parentId(params);
  const timestampOf = { resource: definition.name, parentId };
  const ask = { refs: parent ? [parent] : [], timestampOf, permission: uow.permission, userId, objectIds: bound };
  const { objects, timestamp, version } = await readAhead(uow, ask);
  if (parent && objects[0]) rememberParent(uow, parent, objects[0]);
  if (timestamp !== undefined) uow.bound.set(timestampKey(definition.name, parentId), timestamp);
  if (version !== undefined) uow.bound.set(versionKey(definition.name, parentId), version);
}

/** One statement when storage and permissions share a connection, else up to three concurrent ones. */
async function readAhead(uow: UnitOfWork, ask: ReadAhead): Promise<ReadAheadAnswer> {
  const joined = await uow.storage.readAhead?.(ask);
  if (joined) return joined;
  const [objects, , list] = await Promise.all([
    ask.refs.length ? uow.storage.getMany(ask.refs) : [],
    uow.permission.preload?.(ask.userId, ask.objectIds),
    // Peeked: an uninitialised timestamp is not created before authorization.
    ask.timestampOf ? uow.storage.resourceVersion(ask.timestampOf.resource, ask.timestampOf.parentId) : undefined,
  ]);
  return { objects, timestamp: list?.timestamp, version: list?.version };
}

/** The list timestamp read ahead for this request, or undefined. Taken once, as the object. */
export function takeReadAheadTimestamp(uow: UnitOfWork, resource: string, parentId: string): number | undefined {
  const key = timestampKey(resource, parentId);
  const found = uow.bound.get(key) as number | undefined;
  uow.bound.delete(key);
  return found;
}

/** The version of the list timestamp read ahead (see `Storage.resourceVersion`), or undefined. Taken once. */
export function takeReadAheadVersion(uow: UnitOfWork, resource: string, parentId: string): string | undefined {
  const key = versionKey(resource, parentId);
  const found = uow.bound.get(key) as string | undefined;
  uow.bound.delete(key);
  return found;
}

/**
 * A write asks for the caller's principals, then for the ACEs of the objects its
 * authorization names, in a row: one statement instead (bench/README.md, finding 10).
 * A create names the plural's parents, any other write the object and its parents.
 */
async function readAheadWrite(
  core: KintoCore,
  definition: ResourceDefinition,
  request: { method: string; params: unknown },
  uow: UnitOfWork,
): Promise<void> {
  if (!uow.permission.preload || !WRITES.has(request.method)) return;
  const params = request.params as PathParams;
  const { userId } = await authenticate(core, request as Parameters<typeof authenticate>[1]);
  const bound =
    params.id === undefined
      ? core.authorizer.bound(definition.objectUri(params, '').slice(0, -1), `${definition.name}:create`)
      : core.authorizer.bound(definition.objectUri(params, params.id), 'write');
  await uow.permission.preload(userId, bound.map(([objectId]) => objectId));
}
