import type { FastifyInstance } from 'fastify';
import { ALICE, client, makeApp, type Client } from '../../../test/helpers/app.ts';
import { EXPORT_COMMAND } from '../index.ts';

export const CHANGES_SETTINGS: Record<string, string> = {
  'kinto.includes': 'changes',
  'kinto.http_host': 'www.kinto-storage.org',
  'kinto.changes.resources': '/buckets/blocklists',
  'kinto.changes.excluded_collections': '/buckets/blocklists/collections/excluded',
  'kinto.changes.since_max_age_days': '-1',
};

/** INI lines from settings, later ones replacing earlier ones. */
export function iniLines(...settings: Record<string, string>[]): string {
  const merged = Object.assign({}, ...settings) as Record<string, string>;
  return Object.entries(merged).map(([key, value]) => `${key} = ${value}\n`).join('');
}

export interface ChangesWorld {
  app: FastifyInstance;
  alice: Client;
  anonymous: Client;
}

/** An app with the changes plugin and Alice owning `blocklists/certificates`. */
export async function changesWorld(overrides: Record<string, string> = {}): Promise<ChangesWorld> {
  const app = await makeApp(iniLines(CHANGES_SETTINGS, overrides));
  const alice = client(app, ALICE);
  await createCollection(alice, 'blocklists', 'certificates');
  return { app, alice, anonymous: client(app) };
}

export async function createCollection(owner: Client, bid: string, cid: string): Promise<void> {
  await owner.put(`/buckets/${bid}`, {});
  const response = await owner.put(`/buckets/${bid}/collections/${cid}`, {});
  if (response.statusCode >= 300) throw new Error(`cannot create ${bid}/${cid}: ${response.body}`);
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** `kinto export-changesets <folder>`, given the app's configuration and backends as the CLI gives its own. */
export function runExportCommand(app: FastifyInstance, folder: string): Promise<number | void> {
  const kinto = app.kinto;
  const context = { config: kinto.config, openBackends: async () => ({ storage: kinto.storage, permission: kinto.permission, cache: kinto.cache }) };
  return Promise.resolve(EXPORT_COMMAND.run([folder], context));
}
