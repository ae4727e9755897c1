import { Counter, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import type { CountOptions, Labels, MetricsService } from '../../core/metrics.ts';
import { SettingsError } from '../../core/settings/ini.ts';

/** Kinto's `_fix_metric_name`, widened to everything Prometheus refuses in a name. */
export function metricName(key: string): string {
  return key.replace(/[^A-Za-z0-9_:]/g, '_');
}

/**
 * `remote-settings` → `remotesettings_`: dashboards group metrics by the first word, so the
 * prefix keeps no inner underscore (Kinto's rule).
 */
export function cleanPrefix(prefix: string): string {
  return prefix ? `${metricName(prefix).replaceAll('_', '')}_`.toLowerCase() : '';
}

/** `0.01 0.05 … Inf`: `+Inf` is always added by the client, so it is dropped here. */
export function parseBuckets(values: readonly string[]): number[] {
  const buckets = values.map((value) => {
    const parsed = /^\+?inf(inity)?$/i.test(value) ? Infinity : Number(value);
    if (Number.isNaN(parsed)) throw new SettingsError(`prometheus_histogram_buckets: '${value}' is not a number`);
    return parsed;
  });
  return buckets.filter((bucket) => bucket !== Infinity).sort((a, b) => a - b);
}

interface PrometheusOptions {
  prefix: string;
  disabledMetrics: readonly string[];
  histogramBuckets: readonly number[];
}

type Metric = Counter | Histogram | Summary;

/**
 * Timers are histograms `<prefix><key>_seconds`, counters `<prefix><key>_total`, observed values
 * summaries `<prefix><key>`; labels (and a count's `unique` labels) become Prometheus labels.
 */
export class PrometheusMetrics implements MetricsService {
  readonly registry = new Registry();
  readonly prefix: string;
  private readonly disabled: Set<string>;
  private readonly buckets: number[];
  private readonly metrics = new Map<string, Metric>();

  constructor(options: PrometheusOptions) {
    this.prefix = cleanPrefix(options.prefix);
    this.disabled = new Set(options.disabledMetrics.map((name) => metricName(name)));
    this.buckets = [...options.histogramBuckets];
    collectDefaultMetrics({ register: this.registry });
  }

  /** Disabled by its key (`storage`), its exposed name, or its exposed name without the prefix. */
  private isDisabled(key: string, name: string): boolean {
    return this.disabled.has(key) || this.disabled.has(name) || this.disabled.has(name.slice(this.prefix.length));
  }

  /** The metric registered under `name`, created on first use; a name keeps its first type. */
  private metric<T extends Metric>(type: abstract new (...args: never[]) => T, name: string, labels: Labels): T {
    let metric = this.metrics.get(name);
    if (!metric) {
      const labelNames = labels.map(([label]) => metricName(label));
      const config = { name, help: `${type.name} of ${name}`, labelNames, registers: [this.registry] };
      if (type === (Histogram as unknown)) metric = new Histogram({ ...config, buckets: this.buckets });
      else if (type === (Summary as unknown)) metric = new Summary(config);
      else metric = new Counter(config);
      this.metrics.set(name, metric);
    }
    if (!(metric instanceof type)) throw new Error(`Metric ${name} already exists with another type`);
    return metric;
  }

  timer(key: string, seconds: number, labels: Labels = []): void {
    const fixed = metricName(key);
    const name = `${this.prefix}${fixed}_seconds`;
    if (this.isDisabled(fixed, name)) return;
    this.metric(Histogram, name, labels).observe(labelValues(labels), seconds);
  }

  observe(key: string, value: number, labels: Labels = []): void {
    const fixed = metricName(key);
    const name = `${this.prefix}${fixed}`;
    if (this.isDisabled(fixed, name)) return;
    this.metric(Summary, name, labels).observe(labelValues(labels), value);
  }

  count(key: string, options: CountOptions = {}): void {
    const fixed = metricName(key);
    const name = `${this.prefix}${fixed}_total`;
    if (this.isDisabled(fixed, name)) return;
    const labels = [...(options.labels ?? []), ...(options.unique ?? [])];
    this.metric(Counter, name, labels).inc(labelValues(labels), options.count ?? 1);
  }

  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  async close(): Promise<void> {
    this.registry.clear();
  }
}

function labelValues(labels: Labels): Record<string, string> {
  return Object.fromEntries(labels.map(([label, value]) => [metricName(label), value]));
}
