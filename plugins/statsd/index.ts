import StatsD, { type StatsD as StatsDClient } from 'hot-shots';
import { definePlugin } from '../../core/plugin.ts';
import type { CountOptions, Labels, MetricsService } from '../../core/metrics.ts';
import type { Settings } from '../../core/settings/load.ts';
import { SettingsError } from '../../core/settings/ini.ts';

/** Telegraf refuses `:` in values (Kinto strips it); `|`, `@`, `#` and blanks would break the line protocol. */
export function sanitize(value: string): string {
  return value.replaceAll(':', '').replace(/[|@#\s]/g, '_');
}

/** `[['method', 'get']]` → `get`: label values joined with dots, as the production guide names them. */
function flatten(labels: Labels | undefined): string {
  return (labels ?? []).map(([, value]) => sanitize(value)).join('.');
}

function statName(key: string, labels: Labels | undefined): string {
  const suffix = flatten(labels);
  return suffix ? `${key}.${suffix}` : key;
}

export class StatsdMetrics implements MetricsService {
  private readonly client: StatsDClient;

  constructor(options: { host: string; port: number; prefix: string }) {
    this.client = new StatsD({
      host: options.host,
      port: options.port,
      prefix: options.prefix,
      cacheDns: true,
      // Plain StatsD: no Datadog tags or telemetry, whatever DD_* variables the host sets.
      datadog: false,
      includeDataDogTags: false,
      // A metrics server that is down must never fail a request.
      errorHandler: () => {},
    });
  }

  timer(key: string, seconds: number, labels?: Labels): void {
    this.client.timing(statName(key, labels), seconds * 1000);
  }

  observe(key: string, value: number, labels?: Labels): void {
    this.client.gauge(statName(key, labels), value);
  }

  count(key: string, options: CountOptions = {}): void {
    const name = statName(key, options.labels);
    if (options.unique) this.client.set(name, flatten(options.unique));
    else this.client.increment(name, options.count ?? 1);
  }

  close(): Promise<void> {
    return new Promise((done) => this.client.close(() => done()));
  }
}

/** `udp://host:port` (Kinto only speaks UDP to StatsD). */
export function parseStatsdUrl(raw: string): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SettingsError(`statsd_url must look like udp://host:8125 (got '${raw}')`);
  }
  if (url.protocol !== 'udp:' || !url.hostname) {
    throw new SettingsError(`statsd_url must look like udp://host:8125 (got '${raw}')`);
  }
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port ? Number(url.port) : 8125 };
}

/** Kinto's rule, kept so that dashboards carry over: `project_name` wins, `statsd_prefix` applies only when it is empty. */
export function statsdPrefix(settings: Settings): string {
  return settings.str('project_name', '') || settings.str('statsd_prefix', 'kinto.core');
}

export default definePlugin({
  name: 'statsd',
  aliases: ['kinto.plugins.statsd'],
  register(app, core) {
    const raw = core.settings.str('statsd_url', '');
    if (!raw) throw new SettingsError('The statsd plugin needs statsd_url (e.g. udp://localhost:8125)');
    const service = new StatsdMetrics({ ...parseStatsdUrl(raw), prefix: statsdPrefix(core.settings) });
    core.metrics.provide('statsd', service);
    app.addHook('onClose', () => service.close());
  },
});
