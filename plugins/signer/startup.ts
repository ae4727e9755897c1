/** Start-up work of the signer: regex settings over existing collections, auto-created sources. */
import type { KintoCore } from '../../core/context.ts';
import { UnicityError } from '../../core/storage/types.ts';
import type { SignerSettings } from './config.ts';
import type { SignedResources } from './resources.ts';

/** Regex settings (`signer.{bid}.{cid-regex}.to_review_enabled`) over the collections that exist. */
export async function expandExistingCollections(core: KintoCore, resources: SignedResources): Promise<void> {
  if (!resources.hasGlobs()) return;
  for (const resource of [...resources.all.values()]) {
    if (resource.source.collection !== null) continue;
    const bid = resource.source.bucket;
    for (const collection of await core.storage.list('collection', `/buckets/${bid}`)) resources.expandGlob(bid, collection.id);
  }
}

async function createRaw(core: KintoCore, resource: string, parentId: string, id: string, write: string[]): Promise<void> {
  try {
    await core.storage.create(resource, parentId, { id });
  } catch (error) {
    if (error instanceof UnicityError) return;
    throw error;
  }
  const uri = resource === 'bucket' ? `/buckets/${id}` : `${parentId}/collections/${id}`;
  await core.permission.replaceObjectPermissions(uri, { write });
}

/** `signer.auto_create_resources`: source buckets (and explicit collections) writable by some principals. */
export async function autoCreateResources(core: KintoCore, settings: SignerSettings, resources: SignedResources): Promise<void> {
  const write = settings.global('auto_create_resources_principals', 'system.Authenticated').split(/\s+/).filter(Boolean);
  for (const resource of resources.all.values()) {
    const { bucket, collection } = resource.source;
    if (collection?.includes('(')) continue;
    await createRaw(core, 'bucket', '', bucket, write);
    if (collection !== null) await createRaw(core, 'collection', `/buckets/${bucket}`, collection, write);
  }
}
