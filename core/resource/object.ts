import { invalidParameters, modifiedMeanwhile, notFound } from '../errors.ts';
import type { JsonObject, JsonValue } from '../filters/ast.ts';
import { projectFields } from '../filters/evaluate.ts';
import { parseFieldsQuery } from '../filters/parse.ts';
import type { Acl } from '../permission/types.ts';
import type { StoredObject } from '../storage/types.ts';
import { UnicityError } from '../storage/types.ts';
import { applyKintoJsonPatch, applyMergePatch, mergeDataShallow, mergePermissions } from './patch.ts';
import { cacheLifetime } from './cache-lifetime.ts';
import { readWriteBody, type WriteBody } from './body.ts';
import {
  cacheHeaders,
  hookContext,
  modelFor,
  timestampHeaders,
  type ResourceCall,
  type ResourceResult,
} from './call.ts';
import type { ResourceModel } from './model.ts';
import { checkPreconditions, isNotModified, parsePreconditions } from './preconditions.ts';

function objectId(call: ResourceCall): string {
  const id = call.params.id;
  if (!call.definition.idGenerator.pattern.test(id)) throw invalidParameters('path', null, 'Invalid object id');
  return id;
}

async function getOr404(model: ResourceModel, id: string): Promise<StoredObject> {
  const found = await model.get(id);
  if (!found) throw notFound({ id, resource_name: model.name });
  return found;
}

/** Drops a client `last_modified` that is not an integer or not newer (Kinto's `process_object`). */
function cleanLastModified(object: JsonObject, old: StoredObject | null): JsonObject {
  const value = object.last_modified;
  const keep = Number.isSafeInteger(value) && (old === null || (value as number) > old.last_modified);
  if (keep) return object;
  const { last_modified: _dropped, ...rest } = object;
  return rest;
}

async function process(call: ResourceCall, model: ResourceModel, object: JsonObject, old: StoredObject | null) {
  const cleaned = cleanLastModified(object, old);
  const hook = call.definition.processObject;
  return hook ? hook(hookContext(call, model), cleaned, old) : cleaned;
}

function respond(status: number, object: JsonObject, permissions: Acl | null, timestamp: number): ResourceResult {
  const body: Record<string, unknown> = { data: object };
  if (permissions !== null) body.permissions = permissions;
  return { status, headers: timestampHeaders(timestamp), body };
}

export async function objectGet(call: ResourceCall): Promise<ResourceResult> {
  const model = modelFor(call);
  const object = await getOr404(model, objectId(call));
  const lifetime = cacheLifetime(call, hookContext(call, model));
  const headers = { ...timestampHeaders(object.last_modified), ...cacheHeaders(lifetime, call.userId === null) };
  const preconditions = parsePreconditions(call.headers);
  if (isNotModified(preconditions, object.last_modified)) return { status: 304, headers };
  await checkPreconditions(preconditions, object, () => model.timestamp());
  const fields = parseFieldsQuery(call.query, call.definition.knownFields);
  const data = fields ? projectFields(object, fields) : object;
  return { status: 200, headers, body: { data, permissions: await model.visiblePermissions(object.id) } };
}

export async function pluralPost(call: ResourceCall): Promise<ResourceResult> {
  const model = modelFor(call);
  const body = readWriteBody(call);
  const requested = body.data?.id;
  let existing: StoredObject | null = null;
  if (requested !== undefined) {
    if (typeof requested !== 'string' || !call.definition.idGenerator.pattern.test(requested)) {
      throw invalidParameters('body', 'data.id', 'Invalid object id');
    }
    existing = await model.get(requested);
  }
  await checkPreconditions(parsePreconditions(call.headers), existing, () => model.timestamp());
  if (existing) {
    return respond(200, existing, await model.visiblePermissions(existing.id), existing.last_modified);
  }
  const id = typeof requested === 'string' ? requested : call.definition.idGenerator.generate();
  return create(call, model, { ...(body.data ?? {}), id }, body);
}

async function create(call: ResourceCall, model: ResourceModel, data: JsonObject, body: WriteBody) {
  const processed = await process(call, model, data, null);
  const acl = mergePermissions({}, body.permissions ?? {}, 'replace', call.definition.permissions);
  let saved;
  try {
    saved = await model.create({ ...processed, id: data.id as string }, acl);
  } catch (error) {
    // A concurrent request created this id between our read and our insert.
    if (error instanceof UnicityError) throw modifiedMeanwhile(error.existing, error.existing.last_modified);
    throw error;
  }
  await call.definition.afterSave?.(hookContext(call, model), saved.object, null);
  model.notify('create', saved.object.last_modified, [{ new: saved.object }]);
  return respond(201, saved.object, saved.permissions, saved.object.last_modified);
}

export async function objectPut(call: ResourceCall): Promise<ResourceResult> {
  const model = modelFor(call);
  const id = objectId(call);
  const existing = await model.get(id);
  await checkPreconditions(parsePreconditions(call.headers), existing, () => model.timestamp());
  const body = readWriteBody(call);
  const data: JsonObject = { ...(body.data ?? existing ?? {}) };
  if (data.id === undefined) data.id = id;
  assertSameId(data.id, id);
  if (!existing) return create(call, model, data, body);

  const processed = await process(call, model, data, existing);
  const acl = mergePermissions({}, body.permissions ?? {}, body.permissions ? 'replace' : 'merge', call.definition.permissions);
  const saved = await model.update(id, processed, acl);
  await call.definition.afterSave?.(hookContext(call, model), saved.object, existing);
  model.notify('update', saved.object.last_modified, [{ new: saved.object, old: existing }]);
  return respond(200, saved.object, saved.permissions, saved.object.last_modified);
}

function assertSameId(bodyId: JsonValue | undefined, pathId: string): void {
  if (bodyId !== pathId) throw invalidParameters('body', 'id', 'Object id does not match existing object');
}

export async function objectPatch(call: ResourceCall): Promise<ResourceResult> {
  const model = modelFor(call);
  const id = objectId(call);
  const existing = await getOr404(model, id);
  await checkPreconditions(parsePreconditions(call.headers), existing, () => model.timestamp());
  const currentAcl = (await call.uow.permission.getObjectsPermissions([model.objectUri(id)]))[0];
  const { updated, changes, acl } = applyChanges(call, existing, currentAcl);
  if (updated.id === undefined) updated.id = id;
  assertSameId(updated.id, id);
  const processed = await process(call, model, updated, existing);
  const saved = await model.update(id, processed, acl);
  await call.definition.afterSave?.(hookContext(call, model), saved.object, existing);
  model.notify('update', saved.object.last_modified, [{ new: saved.object, old: existing }]);
  const data = shapeByBehavior(call, existing, saved.object, changes);
  return respond(200, data, saved.permissions, saved.object.last_modified);
}

interface Changes {
  updated: JsonObject;
  changes: JsonObject;
  acl: Acl;
}

function applyChanges(call: ResourceCall, existing: StoredObject, currentAcl: Acl): Changes {
  const allowed = call.definition.permissions;
  if (call.bodyKind === 'json-patch') {
    const patched = applyKintoJsonPatch(existing, currentAcl, call.body);
    const acl = mergePermissions(currentAcl, patched.permissions, 'replace', allowed);
    return { updated: patched.data, changes: patched.data, acl };
  }
  const body = readWriteBody(call);
  if (body.data === undefined && body.permissions === undefined) {
    throw invalidParameters('body', 'data', 'Provide at least one of data or permissions');
  }
  const changes = body.data ?? {};
  if (call.bodyKind === 'merge-patch') {
    const updated = applyMergePatch(existing, changes) as JsonObject;
    return { updated, changes, acl: mergePermissions(currentAcl, body.permissions ?? {}, 'merge-patch', allowed) };
  }
  return { updated: mergeDataShallow(existing, changes), changes, acl: mergePermissions(currentAcl, body.permissions ?? {}, 'merge', allowed) };
}

/** The `Response-Behavior` header of a PATCH: full (default), light or diff; anything else is a 400. */
export function responseBehavior(headers: ResourceCall['headers']): 'full' | 'light' | 'diff' {
  const raw = headers['response-behavior'];
  const behavior = (Array.isArray(raw) ? raw[0] : raw ?? 'full').toLowerCase();
  if (behavior !== 'full' && behavior !== 'light' && behavior !== 'diff') {
    throw invalidParameters('header', 'Response-Behavior', `"${behavior}" is not one of full, light, diff`);
  }
  return behavior;
}

/** light: the changed fields; diff: those whose stored value differs from the one sent. */
function shapeByBehavior(call: ResourceCall, existing: StoredObject, saved: StoredObject, changes: JsonObject): JsonObject {
  const behavior = responseBehavior(call.headers);
  if (behavior === 'full') return saved;
  const changed = Object.keys(changes).filter((k) => JSON.stringify(existing[k]) !== JSON.stringify(saved[k]));
  const keep = behavior === 'light' ? changed : changed.filter((k) => JSON.stringify(changes[k]) !== JSON.stringify(saved[k]));
  return Object.fromEntries(keep.map((k) => [k, saved[k]]));
}

export async function objectDelete(call: ResourceCall): Promise<ResourceResult> {
  const model = modelFor(call);
  const lastModified = parseDeleteTimestamp(call.query.last_modified);
  const id = objectId(call);
  const existing = await getOr404(model, id);
  await checkPreconditions(parsePreconditions(call.headers), existing, () => model.timestamp());
  const honoured = lastModified !== undefined && lastModified > existing.last_modified ? lastModified : undefined;
  const tombstone = await model.delete(id, honoured);
  await call.definition.afterDelete?.(hookContext(call, model), [existing]);
  model.notify('delete', tombstone.last_modified, [{ new: tombstone, old: existing }]);
  return respond(200, tombstone, null, tombstone.last_modified);
}

function parseDeleteTimestamp(raw: string | string[] | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = (Array.isArray(raw) ? raw.at(-1)! : raw).replace(/^"(.*)"$/, '$1');
  if (!/^\d+$/.test(value)) throw invalidParameters('querystring', 'last_modified', 'Invalid value for last_modified');
  return Number(value);
}
