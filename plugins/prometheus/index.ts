import { definePlugin } from '../../core/plugin.ts';
import { defineSettings, setting } from '../../core/settings/schema.ts';
import { PrometheusMetrics, parseBuckets } from './service.ts';

/**
 * `kinto.plugins.prometheus`: the core's measurements exposed for scraping at
 * `/v1/__metrics__`. It cannot be included together with the StatsD plugin: one metrics
 * service per server.
 */
export default definePlugin({
  name: 'prometheus',
  aliases: ['kinto.plugins.prometheus'],
  settings: defineSettings('prometheus_', {
    prefix: setting.optionalString({ description: 'Metric name prefix (default: project_name), e.g. remote-settings → remotesettings_.' }),
    disabled_metrics: setting.list({ description: 'Metrics not recorded, by key (storage) or exposed name (kinto_storage_seconds).' }),
    histogram_buckets: setting.list({
      default: ['0.01', '0.05', '0.1', '0.5', '1.0', '3.0', '6.0', 'Inf'],
      description: 'Upper bounds (seconds) of the timer histograms; +Inf is always added.',
    }),
    // Kinto (Python client) can drop its `_created` series; this client never writes them.
    created_metrics_enabled: setting.bool({ default: true, description: 'Accepted for Kinto compatibility (no _created series here).' }),
    endpoint: setting.string({ default: '/v1/__metrics__', description: 'Path of the scrape endpoint.' }),
  }),
  register(app, core, settings) {
    const service = new PrometheusMetrics({
      prefix: settings.prefix ?? core.settings.str('project_name', ''),
      disabledMetrics: settings.disabled_metrics,
      histogramBuckets: parseBuckets(settings.histogram_buckets),
    });
    core.metrics.provide('prometheus', service);
    core.capabilities.add('prometheus', {
      description: 'Prometheus metrics.',
      url: 'https://github.com/Kinto/kinto/',
      prefix: service.prefix,
      disabled_metrics: settings.disabled_metrics,
    });
    app.get(settings.endpoint, async (_request, reply) => {
      const body = await service.exposition();
      return reply.type(service.registry.contentType).send(body);
    });
    app.addHook('onClose', () => service.close());
  },
});
