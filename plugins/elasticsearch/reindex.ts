import { Filter, type FilterNode, type SortField } from '../../core/filters/ast.ts';
import type { PluginCommand } from '../../core/plugin.ts';
import type { Settings } from '../../core/settings/load.ts';
import type { Storage, StoredObject } from '../../core/storage/types.ts';
import { Indexer } from './indexer.ts';
import { ELASTICSEARCH_SETTINGS, PLUGIN_NAMES } from './settings.ts';

/** kinto-elasticsearch's exit codes of `kinto-elasticsearch-reindex`. */
export const REINDEX_EXIT = { usage: 2, notIncluded: 62, noCollection: 63, noSchema: 64 } as const;

const USAGE = 'Usage: kinto elasticsearch-reindex -b BUCKET -c COLLECTION [--ini FILE]';
const PAGE_SIZE = 5000;
const NEWEST_FIRST: SortField[] = [{ field: ['last_modified'], direction: -1 }];

interface Target {
  bucketId: string;
  collectionId: string;
}

/** `-b/--bucket` and `-c/--collection` (also `--bucket=b`), or a usage message. */
export function parseReindexArgs(argv: readonly string[]): Target | string {
  const values: Record<string, string> = {};
  const names: Record<string, string> = {
    '-b': 'bucket',
    '--bucket': 'bucket',
    '-c': 'collection',
    '--collection': 'collection',
  };
  for (let index = 0; index < argv.length; index++) {
    const [flag, inline] = argv[index].split(/=(.*)/s, 2);
    const name = names[flag];
    if (!name) return `Unknown argument '${argv[index]}'. ${USAGE}`;
    const value = inline ?? argv[++index];
    if (value === undefined || value === '') return `Missing value of ${flag}. ${USAGE}`;
    values[name] = value;
  }
  if (!values.bucket || !values.collection) return USAGE;
  return { bucketId: values.bucket, collectionId: values.collection };
}

function pluginIncluded(settings: Settings): boolean {
  const ignored = settings.list('ignored_includes');
  return settings.list('includes').some((entry) => PLUGIN_NAMES.includes(entry) && !ignored.includes(entry));
}

/** The collection's records, newest first, a page at a time (one bulk request each). */
async function* recordPages(storage: Storage, target: Target): AsyncGenerator<StoredObject[]> {
  const parentId = `/buckets/${target.bucketId}/collections/${target.collectionId}`;
  let filters: FilterNode[] = [];
  for (;;) {
    const records = await storage.list('record', parentId, { filters, sort: NEWEST_FIRST, limit: PAGE_SIZE });
    if (records.length === 0) return;
    yield records;
    filters = [Filter.compare('lt', ['last_modified'], records.at(-1)!.last_modified)];
  }
}

async function reindexRecords(indexer: Indexer, storage: Storage, target: Target, print: (text: string) => void) {
  const index = indexer.indexName(target.bucketId, target.collectionId);
  let total = 0;
  for await (const records of recordPages(storage, target)) {
    try {
      await indexer.bulk(records.map((record) => ({ action: 'index', index, id: record.id, source: record })));
      print('.');
      total += records.length;
    } catch (error) {
      // As kinto-elasticsearch: a page that fails is reported, the next ones are still sent.
      process.stderr.write(`Failed to index records: ${(error as Error).message}\n`);
    }
  }
  print(`\n${total} records reindexed.\n`);
}

/** `kinto elasticsearch-reindex -b bid -c cid`: recreates the index from `index:schema` and reindexes every record. */
export const REINDEX_COMMAND: PluginCommand = {
  name: 'elasticsearch-reindex',
  description: "Recreate a collection's Elasticsearch index from its `index:schema` and reindex its records",
  async run(argv, context) {
    const target = parseReindexArgs(argv);
    if (typeof target === 'string') {
      process.stderr.write(`${target}\n`);
      return REINDEX_EXIT.usage;
    }
    const { settings } = context.config;
    if (!pluginIncluded(settings)) {
      process.stderr.write('kinto-elasticsearch not available.\n');
      return REINDEX_EXIT.notIncluded;
    }
    const { storage } = await context.openBackends();
    const collection = await storage.get('collection', `/buckets/${target.bucketId}`, target.collectionId);
    if (!collection) {
      process.stderr.write(`No collection '${target.collectionId}' in bucket '${target.bucketId}'\n`);
      return REINDEX_EXIT.noCollection;
    }
    const schema = collection['index:schema'];
    if (schema == null) {
      process.stderr.write('No `index:schema` attribute found in collection metadata.\n');
      return REINDEX_EXIT.noSchema;
    }
    const options = ELASTICSEARCH_SETTINGS.read(settings);
    const indexer = new Indexer({ hosts: options.hosts, prefix: options.index_prefix, forceRefresh: options.force_refresh });
    const print = (text: string) => process.stdout.write(text);
    try {
      const index = indexer.indexName(target.bucketId, target.collectionId);
      await indexer.deleteIndex(target.bucketId, target.collectionId);
      print(`Old index '${index}' deleted.\n`);
      await indexer.createIndex(target.bucketId, target.collectionId, schema);
      print(`New index '${index}' created.\n`);
      await reindexRecords(indexer, storage, target, print);
    } finally {
      await indexer.close();
    }
    return 0;
  },
};
