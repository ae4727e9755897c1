/**
 * kinto-elasticsearch (0.3.0): every collection's records are indexed in Elasticsearch
 * and searched with `GET …/collections/{cid}/search?q=…` or `POST …/search` (query DSL body),
 * the raw ES response being returned.
 *
 * - Index `{elasticsearch.index_prefix}-{bid}-{cid}`, created with the collection (its
 *   `index:schema` attribute is the mapping), deleted with it; a bucket deletion removes
 *   `{prefix}-{bid}-*` and `POST /__flush__` removes `{prefix}-*`. With Elasticsearch 8 or
 *   later, these wildcard deletions need `action.destructive_requires_name: false`.
 * - Indexing happens after commit: an Elasticsearch failure is logged, the write succeeds.
 * - Searching needs `read` on the collection's records; at most
 *   min(`paginate_by`, `storage_max_fetch_size`) hits.
 * - `kinto elasticsearch-reindex -b bid -c cid` rebuilds one index (reindex.ts).
 * - Heartbeat and capability `elasticsearch`.
 *
 * Unlike the Python plugin (Elasticsearch 6), mappings are typeless (Elasticsearch 7+).
 */
import { definePlugin } from '../../core/plugin.ts';
import { Indexer } from './indexer.ts';
import { subscribeIndexer } from './listener.ts';
import { REINDEX_COMMAND } from './reindex.ts';
import { registerSearch } from './search.ts';
import { ELASTICSEARCH_SETTINGS } from './settings.ts';

export { ELASTICSEARCH_SETTINGS } from './settings.ts';

export default definePlugin({
  name: 'elasticsearch',
  aliases: ['kinto_elasticsearch'],
  settings: ELASTICSEARCH_SETTINGS,
  cli: [REINDEX_COMMAND],
  register(app, core, settings) {
    const indexer = new Indexer({ hosts: settings.hosts, prefix: settings.index_prefix, forceRefresh: settings.force_refresh });
    const logError = (error: unknown, message: string) => app.log.error({ err: error }, message);
    app.addHook('onClose', () => indexer.close());
    core.heartbeats.add('elasticsearch', () => indexer.ping());
    core.capabilities.add('elasticsearch', {
      description: 'Index and search records using ElasticSearch.',
      url: 'https://github.com/Kinto/kinto-elasticsearch',
      version: core.version,
    });
    subscribeIndexer(core, indexer, logError);
    registerSearch(app, core, indexer, logError);
  },
});
