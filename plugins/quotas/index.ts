import type { KintoCore } from '../../core/context.ts';
import { definePlugin, type PluginCommand } from '../../core/plugin.ts';
import { defineSettings, setting } from '../../core/settings/schema.ts';
import type { Storage } from '../../core/storage/types.ts';
import { bucketUri, countCollection, saveBucketInfo, saveCollectionInfo, sumBucket, type CollectionInfo } from './counters.ts';
import { QUOTA_RESOURCES, updateQuotas } from './listener.ts';

const limit = (what: string) => setting.optionalInt({ min: 0, description: `${what} (unset: no limit).` });

export const QUOTA_SETTINGS = defineSettings('quotas.', {
  bucket_max_bytes: limit('Total size of every bucket, in bytes'),
  bucket_max_items: limit('Records of every bucket'),
  bucket_max_bytes_per_item: limit('Size of any object in a bucket, in bytes'),
  collection_max_bytes: limit('Total size of every collection, in bytes'),
  collection_max_items: limit('Records of every collection'),
  collection_max_bytes_per_item: limit('Size of any record of a collection, in bytes'),
}, [
  {
    // quotas.bucket_{bid}_max_bytes, quotas.collection_{bid}_max_items, quotas.collection_{bid}_{cid}_max_bytes...
    pattern: /^quotas\.(bucket|collection)_.+_(max_bytes|max_items|max_bytes_per_item)$/,
    example: 'quotas.collection_blog_articles_max_items',
    spec: limit('The limit for one bucket, or one (bucket, collection)'),
  },
]);

/** Recounts every bucket and collection from what is stored, as Kinto's `rebuild_quotas`. */
async function rebuildQuotas(storage: Storage, dryRun: boolean, print: (line: string) => void): Promise<void> {
  for (const bucket of await storage.list('bucket', '', { sort: [{ field: ['id'], direction: 1 }] })) {
    const infos = new Map<string, CollectionInfo>();
    const collections = await storage.list('collection', bucketUri(bucket.id), { sort: [{ field: ['id'], direction: 1 }] });
    for (const collection of collections) {
      const info = await countCollection(storage, bucket.id, collection);
      infos.set(collection.id, info);
      print(`Bucket ${bucket.id}, collection ${collection.id}. Final size: ${info.record_count} records, ${info.storage_size} bytes.`);
      if (!dryRun) await saveCollectionInfo(storage, bucket.id, collection.id, info);
    }
    const total = await sumBucket(storage, bucket, infos);
    print(`Bucket ${bucket.id}. Final size: ${total.collection_count} collections, ${total.record_count} records, ${total.storage_size} bytes.`);
    if (!dryRun) await saveBucketInfo(storage, bucket.id, total);
  }
}

/** `kinto rebuild-quotas [--dry-run]`: after enabling the plugin on existing data, or to repair counters. */
export const REBUILD_COMMAND: PluginCommand = {
  name: 'rebuild-quotas',
  description: 'Recount the quotas of every bucket and collection (--dry-run: print only)',
  async run(argv, context) {
    const unknown = argv.filter((arg) => arg !== '--dry-run');
    if (unknown.length) {
      process.stderr.write(`Unknown argument '${unknown[0]}'. Usage: kinto rebuild-quotas [--dry-run] [--ini FILE]\n`);
      return 2;
    }
    const { storage } = await context.openBackends();
    const dryRun = argv.includes('--dry-run');
    const tx = await storage.begin();
    try {
      await rebuildQuotas(tx, dryRun, (line) => process.stdout.write(`${line}\n`));
      await tx.commit();
    } catch (error) {
      await tx.rollback();
      throw error;
    }
    return 0;
  },
};

/** Kinto's quotas plugin (Kinto < 20): per bucket and per collection limits on records and bytes. */
export default definePlugin({
  name: 'quotas',
  aliases: ['kinto.plugins.quotas'],
  settings: QUOTA_SETTINGS,
  cli: [REBUILD_COMMAND],
  register(_app, core: KintoCore) {
    core.capabilities.add('quotas', {
      description: 'Quotas Management on buckets and collections.',
      url: 'https://kinto.readthedocs.io',
    });
    core.events.subscribe({
      phase: 'transaction',
      resources: QUOTA_RESOURCES,
      async handle(events, scope) {
        const started = performance.now();
        await updateQuotas(events, scope, core.settings);
        core.metrics.timer('plugins.quotas.seconds', (performance.now() - started) / 1000);
      },
    });
  },
});
