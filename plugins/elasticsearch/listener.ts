import { isDeepStrictEqual } from 'node:util';
import type { KintoCore } from '../../core/context.ts';
import type { ImpactedObject, ResourceEvent } from '../../core/events.ts';
import type { BulkOperation, Indexer } from './indexer.ts';

export type ErrorLogger = (error: unknown, message: string) => void;

const SCHEMA_FIELD = 'index:schema';

/** The object an event is about: the new version, or the old one of a deletion. */
function objectOf(change: ImpactedObject): Record<string, unknown> {
  return (change.new ?? change.old ?? {}) as Record<string, unknown>;
}

function bucketIdOf(event: ResourceEvent): string {
  return String(event.payload.bucket_id);
}

/** Records created or updated are (re)indexed, deleted ones removed, in one bulk request. */
export async function onRecordsChanged(indexer: Indexer, event: ResourceEvent): Promise<void> {
  const index = indexer.indexName(bucketIdOf(event), String(event.payload.collection_id));
  const operations: BulkOperation[] = event.impacted.map((change) => {
    if (event.payload.action === 'delete') {
      return { action: 'delete', index, id: String((change.old ?? change.new)?.id) };
    }
    const record = objectOf(change);
    return { action: 'index', index, id: String(record.id), source: record };
  });
  await indexer.bulk(operations);
}

async function onCollectionsChanged(indexer: Indexer, event: ResourceEvent): Promise<void> {
  const bucketId = bucketIdOf(event);
  for (const change of event.impacted) {
    const collectionId = String(objectOf(change).id);
    if (event.payload.action === 'create') {
      await indexer.createIndex(bucketId, collectionId, change.new?.[SCHEMA_FIELD]);
    } else if (event.payload.action === 'delete') {
      await indexer.deleteIndex(bucketId, collectionId);
    } else if (event.payload.action === 'update') {
      const before = change.old?.[SCHEMA_FIELD];
      const after = change.new?.[SCHEMA_FIELD];
      // No index mapping before: the index may not exist yet (created, or its mapping put).
      if (before == null && after != null) await indexer.createIndex(bucketId, collectionId, after);
      else if (!isDeepStrictEqual(before ?? null, after ?? null)) {
        await indexer.updateIndex(bucketId, collectionId, after ?? undefined);
      }
    }
  }
}

async function onBucketsDeleted(indexer: Indexer, event: ResourceEvent): Promise<void> {
  for (const change of event.impacted) await indexer.deleteIndex(String(objectOf(change).id));
}

async function dispatch(indexer: Indexer, event: ResourceEvent): Promise<void> {
  const { resource_name: resource, action } = event.payload;
  if (resource === 'record' && action !== 'read') await onRecordsChanged(indexer, event);
  else if (resource === 'collection') await onCollectionsChanged(indexer, event);
  else if (resource === 'bucket' && action === 'delete') await onBucketsDeleted(indexer, event);
}

/**
 * After commit, as Kinto's AfterResourceChanged: the write is already saved, so a failure of
 * Elasticsearch is logged and never reaches the client (the index can be rebuilt with
 * `kinto elasticsearch-reindex`).
 */
export function subscribeIndexer(core: KintoCore, indexer: Indexer, logError: ErrorLogger): void {
  core.events.subscribe({
    phase: 'commit',
    resources: ['bucket', 'collection', 'record'],
    async handle(events) {
      for (const event of events) {
        const started = performance.now();
        try {
          await dispatch(indexer, event);
        } catch (error) {
          logError(error, `Failed to index ${event.payload.resource_name} changes`);
        }
        if (event.payload.resource_name === 'record') {
          core.metrics.timer('plugins.elasticsearch.index', (performance.now() - started) / 1000);
        }
      }
    },
  });
  core.events.onServerFlushed(async () => {
    try {
      await indexer.flush();
    } catch (error) {
      logError(error, 'Failed to delete the indices after a flush');
    }
  });
}
