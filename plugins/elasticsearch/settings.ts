import { defineSettings, setting } from '../../core/settings/schema.ts';

/** The names operators write in `kinto.includes`. */
export const PLUGIN_NAMES: readonly string[] = ['elasticsearch', 'kinto_elasticsearch'];

export const ELASTICSEARCH_SETTINGS = defineSettings('elasticsearch.', {
  hosts: setting.list({
    default: ['localhost:9200'],
    description: 'Elasticsearch nodes, `host:port` or URLs, separated by spaces or new lines.',
  }),
  index_prefix: setting.string({ default: 'kinto', description: 'Indices are named `{prefix}-{bucket id}-{collection id}`.' }),
  force_refresh: setting.bool({
    default: false,
    description: 'Refresh the index after each write, so that searches see it at once (slower; for tests).',
  }),
});
