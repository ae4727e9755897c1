/**
 * The metrics abstraction (Kinto's `IMetricsService`): the core measures, a plugin
 * (StatsD or Prometheus) ships the measurements. Without such a plugin every call is a no-op.
 */
import { SettingsError } from './settings/ini.ts';

/** Ordered `[name, value]` pairs. StatsD appends the values to the key; Prometheus uses labels. */
export type Labels = readonly (readonly [name: string, value: string])[];

export interface CountOptions {
  /** Increment (1 when absent). */
  count?: number;
  labels?: Labels;
  /** Counts distinct values instead of occurrences (a StatsD set); Prometheus turns them into labels. */
  unique?: Labels;
}

export interface MetricsService {
  /** Records a duration, in seconds. */
  timer(key: string, seconds: number, labels?: Labels): void;
  /** Records a measured value (a size, a gauge). */
  observe(key: string, value: number, labels?: Labels): void;
  count(key: string, options?: CountOptions): void;
  close?(): Promise<void>;
}

/**
 * The app's single metrics slot. Kinto lets the last included metrics plugin win silently;
 * here a second provider is a start-up error, so metrics never go missing unnoticed.
 */
export class Metrics implements MetricsService {
  private service: MetricsService | null = null;
  private providerName: string | null = null;
  private onError: (error: unknown, key: string) => void = () => {};
  private readonly failedKeys = new Set<string>();

  provide(name: string, service: MetricsService): void {
    if (this.service) {
      throw new SettingsError(
        `Metrics are already sent by '${this.providerName}': '${name}' cannot be included too (only one of StatsD/Prometheus)`,
      );
    }
    this.service = service;
    this.providerName = name;
  }

  /** Where a failing measurement is reported (once per key): it never fails the request it measures. */
  reportErrorsTo(handler: (error: unknown, key: string) => void): void {
    this.onError = handler;
  }

  get active(): boolean {
    return this.service !== null;
  }

  get provider(): string | null {
    return this.providerName;
  }

  private safely(key: string, send: (service: MetricsService) => void): void {
    if (!this.service) return;
    try {
      send(this.service);
    } catch (error) {
      if (this.failedKeys.has(key)) return;
      this.failedKeys.add(key);
      this.onError(error, key);
    }
  }

  timer(key: string, seconds: number, labels?: Labels): void {
    this.safely(key, (service) => service.timer(key, seconds, labels));
  }

  observe(key: string, value: number, labels?: Labels): void {
    this.safely(key, (service) => service.observe(key, value, labels));
  }

  count(key: string, options?: CountOptions): void {
    this.safely(key, (service) => service.count(key, options));
  }

  async close(): Promise<void> {
    await this.service?.close?.();
  }
}

/** `getUserPrincipals` → `get_user_principals`: the method names Kinto's dashboards know. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** Where one method's durations go; null leaves the method untimed. */
export type TimerName = (method: string) => { key: string; labels?: Labels } | null;

/** Methods whose result is itself a backend (a transaction view), instrumented the same way. */
const RETURNS_BACKEND = new Set(['begin', 'beginAlongside']);
const unwrapped = new WeakMap<object, object>();

function unwrap(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? (unwrapped.get(value) ?? value) : value;
}

function timed(
  target: object,
  method: string,
  original: (...args: unknown[]) => unknown,
  metrics: MetricsService,
  nameOf: TimerName,
): (...args: unknown[]) => unknown {
  const name = nameOf(method);
  const wrapResult = RETURNS_BACKEND.has(method);
  return (...args: unknown[]) => {
    const started = performance.now();
    const record = () => {
      if (name) metrics.timer(name.key, (performance.now() - started) / 1000, name.labels);
    };
    const finish = (result: unknown) => {
      record();
      return wrapResult && typeof result === 'object' && result !== null ? instrument(result, metrics, nameOf) : result;
    };
    let result: unknown;
    try {
      // Private fields (#x) need the real object as `this`, and other backends expect real arguments.
      result = Reflect.apply(original, target, args.map(unwrap));
    } catch (error) {
      record();
      throw error;
    }
    if (result instanceof Promise) {
      return result.then(finish, (error: unknown) => {
        record();
        throw error;
      });
    }
    return finish(result);
  };
}

/**
 * A view of `target` whose methods report their duration (Kinto's `watch_execution_time`).
 * Property reads and identity checks through `unwrap` see the real object.
 */
export function instrument<T extends object>(target: T, metrics: MetricsService, nameOf: TimerName): T {
  const cache = new Map<PropertyKey, unknown>();
  const proxy = new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') return value;
      let wrapped = cache.get(property);
      if (!wrapped) {
        wrapped = timed(object, property, value as (...args: unknown[]) => unknown, metrics, nameOf);
        cache.set(property, wrapped);
      }
      return wrapped;
    },
  });
  unwrapped.set(proxy, target);
  return proxy;
}

/** Kinto's names: `storage.get`, `permission.get_user_principals`, `cache.set`… (method as label). */
export function backendTimer(component: 'storage' | 'permission' | 'cache'): TimerName {
  const aliases: Record<string, string> = { list: 'list_all', count: 'count_all' };
  return (method) => ({ key: component, labels: [['method', aliases[method] ?? snakeCase(method)]] });
}

/** `Authorizer.allowed` is Kinto's `permits`: one `authentication.permits` duration per check. */
export const PERMITS_TIMER: TimerName = (method) => (method === 'allowed' ? { key: 'authentication.permits' } : null);

/**
 * Replaces the core's backends and authorizer by timed views, once plugins have chosen a
 * metrics service. Everything reaches them through `core.<backend>`, so nothing keeps the
 * untimed objects.
 */
export function instrumentCore(core: {
  metrics: Metrics;
  storage: object;
  permission: object;
  cache: object;
  authorizer: object;
}): void {
  if (!core.metrics.active) return;
  const mutable = core as Record<'storage' | 'permission' | 'cache' | 'authorizer', object>;
  for (const component of ['storage', 'permission', 'cache'] as const) {
    mutable[component] = instrument(mutable[component], core.metrics, backendTimer(component));
  }
  mutable.authorizer = instrument(mutable.authorizer, core.metrics, PERMITS_TIMER);
}
