/** The start-up warning about a per-process `__broadcasts__` debounce. */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../core/app.ts';
import type { Backends } from '../../../core/backends.ts';
import { MemoryCache } from '../../../core/cache/memory.ts';
import { SqlCache } from '../../../core/cache/sql.ts';
import { MemoryPermission } from '../../../core/permission/memory.ts';
import { loadConfig } from '../../../core/settings/load.ts';
import { MemoryStorage } from '../../../core/storage/memory.ts';
import { BASE_INI } from '../../../test/helpers/app.ts';
import { keepOpen, sharedPGlite } from '../../../test/helpers/databases.ts';
import { PROCESS_CACHE_WARNING } from '../index.ts';
import { iniLines } from './helpers.ts';

const INI = `${BASE_INI}${iniLines({ 'kinto.includes': 'changes', 'kinto.changes.resources': '/buckets/main' })}`;

function backends(cache: Backends['cache']): Backends {
  return { storage: new MemoryStorage(), permission: new MemoryPermission(), cache };
}

/** Builds the app with a logger and returns the messages it logged at warning level. */
async function startLogging(cache: Backends['cache']): Promise<{ app: FastifyInstance; warnings: string[] }> {
  const warnings: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      const entry = JSON.parse(chunk.toString());
      if (entry.level === 40) warnings.push(entry.msg);
      done();
    },
  });
  const app = await buildApp(loadConfig({ iniText: INI, env: {} }), { backends: backends(cache), logger: { level: 'warn', stream } });
  await app.ready();
  return { app, warnings };
}

describe('a memory cache with the changes plugin', () => {
  let app: FastifyInstance;
  afterEach(() => app.close());

  it('logs one warning at start-up naming kinto.cache_backend', async () => {
    let warnings: string[];
    ({ app, warnings } = await startLogging(new MemoryCache()));
    expect(warnings).toEqual([PROCESS_CACHE_WARNING]);
    expect(PROCESS_CACHE_WARNING).toContain('only correct for a single process');
    expect(PROCESS_CACHE_WARNING).toContain('kinto.cache_backend = kinto.core.cache.postgresql');
    // A second app on the same configuration (a reload) does not repeat it.
    const again = await buildApp(app.kinto.config, { backends: backends(new MemoryCache()) });
    expect(again.kinto.config.warnings.filter((w) => w === PROCESS_CACHE_WARNING)).toHaveLength(1);
    await again.close();
  });

  it('is quiet when the cache is a database every process shares', async () => {
    let warnings: string[];
    ({ app, warnings } = await startLogging(new SqlCache(keepOpen(await sharedPGlite()))));
    expect(warnings).toEqual([]);
    expect(app.kinto.config.warnings).toEqual([]);
  });
});
