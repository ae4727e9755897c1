/**
 * `GET /buckets/{bid}/snapshot/collections/{cid}@{timestamp}`: the records of a collection
 * as they were at a timestamp, rebuilt from the live records and the history entries.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KintoCore } from '../../core/context.ts';
import { invalidParameters, methodNotAllowed } from '../../core/errors.ts';
import { Filter, type JsonObject } from '../../core/filters/ast.ts';
import { denied, identify } from '../../core/http/identity.ts';
import type { StoredObject } from '../../core/storage/types.ts';
import { inUnitOfWork, type UnitOfWork } from '../../core/unit-of-work.ts';

interface SnapshotTarget {
  bucketId: string;
  collectionId: string;
  timestamp: number;
}

/** Splits `{cid}@{timestamp}`; null when there is no `@` (no such route). */
function splitTarget(params: { bucket_id: string; at: string }): { bucketId: string; collectionId: string; raw: string } | null {
  const separator = params.at.lastIndexOf('@');
  if (separator < 1) return null;
  return { bucketId: params.bucket_id, collectionId: params.at.slice(0, separator), raw: params.at.slice(separator + 1) };
}

function parseTimestamp(raw: string): number {
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw invalidParameters('path', 'timestamp', `Invalid timestamp '${raw}'`);
  }
  return Number(raw);
}

/** Readers and writers of the bucket or of the collection (Kinto checks the ACEs directly). */
async function canRead(uow: UnitOfWork, principals: readonly string[], target: SnapshotTarget): Promise<boolean> {
  const bucketUri = `/buckets/${target.bucketId}`;
  const collectionUri = `${bucketUri}/collections/${target.collectionId}`;
  const allowed = await uow.permission.getAuthorizedPrincipals([
    [bucketUri, 'read'],
    [bucketUri, 'write'],
    [collectionUri, 'read'],
    [collectionUri, 'write'],
  ]);
  return principals.some((principal) => allowed.has(principal));
}

/** For each record changed after the timestamp, its latest version at or before it (if it existed then). */
async function versionsBefore(uow: UnitOfWork, target: SnapshotTarget, changedIds: string[]): Promise<JsonObject[]> {
  const entries = await uow.storage.list('history', `/buckets/${target.bucketId}`, {
    filters: [
      Filter.compare('eq', ['resource_name'], 'record'),
      Filter.compare('eq', ['collection_id'], target.collectionId),
      Filter.in(['record_id'], changedIds),
      Filter.compare('max', ['target', 'data', 'last_modified'], target.timestamp),
    ],
    sort: [{ field: ['last_modified'], direction: -1 }],
  });
  const latest = new Map<string, JsonObject>();
  for (const entry of entries) {
    const recordId = String(entry.record_id);
    const data = (entry.target as { data?: JsonObject } | undefined)?.data;
    if (!latest.has(recordId) && data) latest.set(recordId, data);
  }
  // A record deleted at or before the timestamp did not exist then.
  return [...latest.values()].filter((data) => !data.deleted);
}

async function snapshotOf(uow: UnitOfWork, target: SnapshotTarget): Promise<JsonObject[]> {
  const collectionUri = `/buckets/${target.bucketId}/collections/${target.collectionId}`;
  const records = await uow.storage.list('record', collectionUri, { includeDeleted: true });
  const unchanged: JsonObject[] = records.filter((r) => r.last_modified <= target.timestamp && !r.deleted);
  const changedIds = records.filter((r) => r.last_modified > target.timestamp).map((r) => r.id);
  const restored = changedIds.length ? await versionsBefore(uow, target, changedIds) : [];
  const byNewest = (a: JsonObject, b: JsonObject) => (b as StoredObject).last_modified - (a as StoredObject).last_modified;
  return [...unchanged, ...restored].sort(byNewest);
}

export function registerSnapshot(app: FastifyInstance, core: KintoCore): void {
  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/v1/buckets/:bucket_id/snapshot/collections/:at',
    exposeHeadRoute: false,
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      const parts = splitTarget(request.params as { bucket_id: string; at: string });
      if (!parts) return reply.callNotFound();
      if (request.method !== 'GET' && request.method !== 'HEAD') throw methodNotAllowed();
      const target: SnapshotTarget = { ...parts, timestamp: parseTimestamp(parts.raw) };
      const data = await inUnitOfWork(core, { readonly: true }, async (uow) => {
        const identity = await identify(core, request, uow.permission);
        if (!(await canRead(uow, identity.principals, target))) throw denied(core, identity);
        return snapshotOf(uow, target);
      });
      reply.header('Cache-Control', 'no-cache, no-store');
      if (request.method === 'HEAD') return reply.send();
      return { data };
    },
  });
}
