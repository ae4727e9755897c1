import type { FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import { buildApp } from '../../core/app.ts';
import { loadConfig, SettingsError, type LoadOptions } from '../../core/settings/load.ts';

export const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

/** Memory backends and nothing else: the smallest INI the server starts with. */
export const MEMORY_INI = `[app:main]
kinto.storage_backend = kinto.core.storage.memory
kinto.permission_backend = kinto.core.permission.memory
kinto.cache_backend = kinto.core.cache.memory
`;

const open: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((app) => app.close()));
});

/** Loads the configuration (no ambient environment unless given) and builds a ready app. */
export async function start(options: LoadOptions): Promise<FastifyInstance> {
  const app = await buildApp(loadConfig({ env: {}, ...options }));
  open.push(app);
  await app.ready();
  return app;
}

/** The message of the SettingsError that stops the server, from loading or building. */
export async function startError(options: LoadOptions): Promise<string> {
  try {
    await start(options);
  } catch (error) {
    if (error instanceof SettingsError) return error.message;
    throw error;
  }
  throw new Error('expected the server to refuse to start');
}

export async function hello(app: FastifyInstance): Promise<Record<string, any>> {
  const response = await app.inject('/v1/');
  return response.json();
}
