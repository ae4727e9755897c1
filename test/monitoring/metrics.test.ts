import { describe, expect, it } from 'vitest';
import { Metrics, backendTimer, instrument, snakeCase, type CountOptions, type Labels, type MetricsService } from '../../core/metrics.ts';

/** Records what the core measures, as a metrics plugin would receive it. */
class Recorder implements MetricsService {
  readonly timers: [string, number, Labels | undefined][] = [];
  timer(key: string, seconds: number, labels?: Labels): void {
    this.timers.push([key, seconds, labels]);
  }
  observe(): void {}
  count(_key: string, _options?: CountOptions): void {}
}

/** A backend with a private field: its methods only work with the real object as `this`. */
class Backend {
  readonly #rows = new Map<string, string>();
  readonly name = 'fake';
  async get(id: string): Promise<string | null> {
    return this.#rows.get(id) ?? null;
  }
  async fail(): Promise<void> {
    throw new Error('backend down');
  }
  getUserPrincipals(): string[] {
    return [...this.#rows.keys()];
  }
  async begin(): Promise<Backend> {
    return this;
  }
  /** Like the SQL permission backend joining the storage transaction: needs the real object. */
  joins(other: Backend): boolean {
    return other instanceof Backend && #rows in other;
  }
}

function timed(): { metrics: Metrics; recorder: Recorder; backend: Backend } {
  const metrics = new Metrics();
  const recorder = new Recorder();
  metrics.provide('recorder', recorder);
  return { metrics, recorder, backend: instrument(new Backend(), metrics, backendTimer('storage')) };
}

describe('instrument', () => {
  it('times sync and async methods, named like Kinto (snake_case), without changing results', async () => {
    const { recorder, backend } = timed();
    expect(await backend.get('x')).toBeNull();
    expect(backend.getUserPrincipals()).toEqual([]);
    expect(backend.name).toBe('fake');
    expect(recorder.timers.map(([key, , labels]) => [key, labels])).toEqual([
      ['storage', [['method', 'get']]],
      ['storage', [['method', 'get_user_principals']]],
    ]);
    expect(recorder.timers.every(([, seconds]) => seconds >= 0 && seconds < 5)).toBe(true);
  });

  it('times failures too, and lets them through', async () => {
    const { recorder, backend } = timed();
    await expect(backend.fail()).rejects.toThrow('backend down');
    expect(recorder.timers.map(([, , labels]) => labels?.[0][1])).toEqual(['fail']);
  });

  it('times the transaction views returned by begin, which other backends see unwrapped', async () => {
    const { recorder, backend } = timed();
    const transaction = await backend.begin();
    await transaction.get('y');
    expect(transaction.joins(transaction)).toBe(true);
    expect(recorder.timers.map(([, , labels]) => labels?.[0][1])).toEqual(['begin', 'get', 'joins']);
  });

  it('aliases list/count to Kinto names', () => {
    expect(backendTimer('storage')('list')).toEqual({ key: 'storage', labels: [['method', 'list_all']] });
    expect(snakeCase('deleteObjectPermissions')).toBe('delete_object_permissions');
  });
});

describe('Metrics', () => {
  it('is a no-op until a plugin provides a service', () => {
    const metrics = new Metrics();
    expect(metrics.active).toBe(false);
    expect(() => metrics.timer('view', 1)).not.toThrow();
  });

  it('refuses a second provider', () => {
    const metrics = new Metrics();
    metrics.provide('statsd', new Recorder());
    expect(() => metrics.provide('prometheus', new Recorder())).toThrow(/already sent by 'statsd'/);
  });

  it('never lets a failing measurement fail the request, and reports it once per key', () => {
    const metrics = new Metrics();
    const reported: string[] = [];
    metrics.reportErrorsTo((_error, key) => reported.push(key));
    metrics.provide('broken', {
      timer: () => {
        throw new Error('label mismatch');
      },
      observe: () => {},
      count: () => {},
    });
    expect(() => metrics.timer('view', 1)).not.toThrow();
    metrics.timer('view', 1);
    metrics.timer('storage', 1);
    expect(reported).toEqual(['view', 'storage']);
  });
});
