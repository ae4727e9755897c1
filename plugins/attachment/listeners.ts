import { isDeepStrictEqual } from 'node:util';
import { badRequest } from '../../core/errors.ts';
import type { EventListener, ResourceEvent } from '../../core/events.ts';
import type { Storage } from '../../core/storage/types.ts';
import { collectionIds, linksOf, removeLinks, type LinkField } from './links.ts';
import { optionsFor } from './settings.ts';
import { deleteFiles, type AttachmentContext } from './views.ts';

/** Writes by plugins (the signer copying records to preview and destination) may carry attachments. */
const isPluginWrite = (event: ResourceEvent) => String(event.payload.user_id ?? '').startsWith('plugin:');

/** Users may not edit `attachment` by PATCH or PUT: only this plugin's endpoint writes it. */
export function metadataGuard(ctx: AttachmentContext): EventListener {
  return {
    phase: 'transaction',
    resources: ['record'],
    actions: ['update'],
    async handle(events, scope) {
      if (ctx.ownWrites.has(scope)) return;
      for (const event of events) {
        if (isPluginWrite(event)) continue;
        for (const { old, new: next } of event.impacted) {
          const before = old?.attachment;
          const after = next?.attachment;
          if (before && after && !isDeepStrictEqual(before, after)) throw badRequest('Attachment metadata cannot be modified.');
        }
      }
    },
  };
}

/** The URI of each deleted object, the key of its files' links. */
function deletedUris(event: ResourceEvent): { field: LinkField; uri: string }[] {
  const name = event.payload.resource_name;
  const field = `${name}_uri` as LinkField;
  const segment = name === 'record' ? 'records' : name === 'collection' ? 'collections' : 'buckets';
  return event.impacted
    .map((change) => change.old?.id)
    .filter((id): id is string => typeof id === 'string')
    .map((id) => ({ field, uri: name === 'bucket' ? `/buckets/${id}` : `${event.parentId}/${segment}/${id}` }));
}

async function dropFilesOf(ctx: AttachmentContext, storage: Storage, field: LinkField, uri: string): Promise<void> {
  const links = await linksOf(storage, field, uri);
  const doomed = links.filter((link) => !optionsFor(ctx.config, ...collectionIds(link.collection_uri)).keepOldFiles);
  await removeLinks(storage, field, uri);
  await deleteFiles(ctx, doomed.map((link) => link.location));
}

/**
 * Deleting a record, a collection or a bucket deletes the files below it, after commit
 * (a rolled back delete keeps them). Every deleted object counts, plural deletes included
 * (kinto-attachment only looked at the request's URI).
 */
export function cascadeDeletes(ctx: AttachmentContext): EventListener {
  return {
    phase: 'commit',
    resources: ['record', 'collection', 'bucket'],
    actions: ['delete'],
    async handle(events, scope) {
      for (const event of events) {
        for (const { field, uri } of deletedUris(event)) {
          await dropFilesOf(ctx, scope.storage, field, uri).catch((error: unknown) =>
            ctx.log.error({ err: error, uri }, 'attachments of a deleted object not removed'),
          );
        }
      }
    },
  };
}
