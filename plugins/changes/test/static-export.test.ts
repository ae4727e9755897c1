import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Client } from '../../../test/helpers/app.ts';
import { exportStatic, type ExportSummary } from '../static-export.ts';
import { FRESH_FILE_MARGIN_MS } from '../static-files.ts';
import { changesWorld, runExportCommand, sleep, type ChangesWorld } from './helpers.ts';

const PUBLIC = { read: ['system.Everyone'] };
const MONITOR = 'v1/buckets/monitor/collections/changes/changeset';
const changeset = (bid: string, cid: string) => `v1/buckets/${bid}/collections/${cid}/changeset`;

/** Watched: `blocklists` (Alice's private `certificates`, public `addons`) and `main` (public bucket). */
const SETTINGS = { 'kinto.changes.resources': '/buckets/blocklists /buckets/main' };

async function put(owner: Client, url: string, body: object = {}): Promise<void> {
  const response = await owner.put(url, body);
  if (response.statusCode >= 300) throw new Error(`PUT ${url}: ${response.body}`);
}

/** Alice's collections, each with a record so that it has a timestamp in the monitor. */
async function populate(alice: Client): Promise<void> {
  await put(alice, '/buckets/blocklists/collections/addons', { permissions: PUBLIC });
  await put(alice, '/buckets/main', { permissions: PUBLIC });
  await put(alice, '/buckets/main/collections/cfr');
  for (const cid of ['certificates', 'addons']) await alice.post(`/buckets/blocklists/collections/${cid}/records`, { data: { cid } });
  await alice.post('/buckets/main/collections/cfr/records', { data: { cid: 'cfr' } });
}

/** As the listener exports: with the server's core (its cache, configuration and authorizer). */
function exportWith(app: FastifyInstance, folder: string, only?: ReadonlySet<string>): Promise<ExportSummary> {
  return exportStatic(app.kinto, folder, only);
}


const readJson = (folder: string, path: string) => JSON.parse(readFileSync(join(folder, path), 'utf8'));
const monitored = (folder: string) => readJson(folder, MONITOR).changes.map((e: { bucket: string; collection: string }) => `${e.bucket}/${e.collection}`).sort();

function place(folder: string, path: string, body = 'kept'): string {
  const target = join(folder, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, body);
  return target;
}

describe('static export of public collections', () => {
  let folder: string;
  let world: ChangesWorld;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'kinto-export-'));
  });
  afterEach(async () => {
    await world.app.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('writes only collections anonymous users may read, and lists only those in the monitor', async () => {
    world = await changesWorld(SETTINGS);
    await populate(world.alice);
    expect((await world.anonymous.get('/buckets/blocklists/collections/certificates/changeset?_expected=0')).statusCode).toBe(401);
    const summary = await exportWith(world.app, folder);
    expect(summary.collections).toBe(2);
    expect(existsSync(join(folder, changeset('blocklists', 'certificates')))).toBe(false);
    expect(monitored(folder)).toEqual(['blocklists/addons', 'main/cfr']);
    for (const [bid, cid] of [['blocklists', 'addons'], ['main', 'cfr']]) {
      const api = await world.anonymous.get(`/${changeset(bid, cid)}?_expected=0&_since=0`);
      expect(readJson(folder, changeset(bid, cid))).toEqual(api.json());
    }
    const monitor = readJson(folder, MONITOR);
    const newest = Math.max(...monitor.changes.map((e: { last_modified: number }) => e.last_modified));
    expect(monitor.timestamp).toBe(newest);
    expect(readJson(folder, 'v1/__broadcasts__')).toEqual((await world.anonymous.get('/__broadcasts__')).json());
  });

  it('writes the debounced `__broadcasts__` the API serves, not the newest change', async () => {
    world = await changesWorld(SETTINGS);
    await populate(world.alice);
    const published = (await world.anonymous.get('/__broadcasts__')).json();
    // Within the debounce interval: the API keeps answering the published value.
    await world.alice.post('/buckets/main/collections/cfr/records', { data: { cid: 'newer' } });
    const second = mkdtempSync(join(tmpdir(), 'kinto-export-'));
    await exportWith(world.app, folder);
    expect(await runExportCommand(world.app, second)).toBe(0);
    const api = (await world.anonymous.get('/__broadcasts__')).json();
    expect(api).toEqual(published);
    expect(readJson(folder, 'v1/__broadcasts__')).toEqual(api);
    expect(readJson(second, 'v1/__broadcasts__')).toEqual(api);
    const served = Number(JSON.parse(api.broadcasts['remote-settings/monitor_changes']));
    expect(readJson(folder, MONITOR).timestamp).toBeGreaterThan(served);
    rmSync(second, { recursive: true, force: true });
  });

  it('publishes everything readable through `collection_read_principals`', async () => {
    world = await changesWorld({ ...SETTINGS, 'kinto.collection_read_principals': 'system.Everyone' });
    await populate(world.alice);
    expect((await exportWith(world.app, folder)).collections).toBe(3);
    expect(monitored(folder)).toEqual(['blocklists/addons', 'blocklists/certificates', 'main/cfr']);
  });

  it('`kinto export-changesets` removes the changesets it no longer publishes, nothing else', async () => {
    world = await changesWorld(SETTINGS);
    await populate(world.alice);
    await exportWith(world.app, folder);
    const outside = mkdtempSync(join(tmpdir(), 'kinto-outside-'));
    const foreign = [
      place(folder, 'index.html'),
      place(folder, 'v1/buckets/blocklists/collections/addons/attachment.bin'),
      place(folder, 'v1/buckets/blocklists/collections/addons/changeset.bak'),
      place(outside, 'collections/cfr/changeset'),
    ];
    symlinkSync(outside, join(folder, 'v1/buckets/linked'));
    const leftover = place(folder, changeset('gone', 'old'));
    await sleep(FRESH_FILE_MARGIN_MS + 20);
    // Deleted, made private, and one written meanwhile by a concurrent export: kept.
    await world.alice.delete('/buckets/blocklists/collections/addons');
    await world.alice.patch('/buckets/main/collections/cfr', { permissions: { read: ['system.Authenticated'] } });
    await world.alice.patch('/buckets/main', { permissions: { read: [] } });
    const fresh = place(folder, changeset('main', 'fresh'));

    expect(await runExportCommand(world.app, folder)).toBe(0);

    for (const gone of [changeset('blocklists', 'addons'), changeset('main', 'cfr'), changeset('gone', 'old')]) {
      expect(existsSync(join(folder, gone)), gone).toBe(false);
    }
    expect(existsSync(dirname(leftover))).toBe(false); // emptied directories pruned up to v1/buckets
    expect(existsSync(join(folder, 'v1/buckets/gone'))).toBe(false);
    for (const kept of [...foreign, fresh]) expect(readFileSync(kept, 'utf8'), kept).toBe('kept');
    expect(monitored(folder)).toEqual([]);
    rmSync(outside, { recursive: true, force: true });
  });

  it('removes the changeset of a deleted collection or bucket after commit', async () => {
    world = await changesWorld({ ...SETTINGS, 'kinto.changes.static_export_path': folder });
    await populate(world.alice);
    await exportWith(world.app, folder);
    await sleep(FRESH_FILE_MARGIN_MS + 20);

    expect((await world.alice.delete('/buckets/blocklists/collections/addons')).statusCode).toBe(200);
    expect(existsSync(join(folder, changeset('blocklists', 'addons')))).toBe(false);
    expect(existsSync(join(folder, changeset('main', 'cfr')))).toBe(true);
    expect(monitored(folder)).toEqual(['main/cfr']);

    expect((await world.alice.delete('/buckets/main')).statusCode).toBe(200);
    expect(existsSync(join(folder, 'v1/buckets/main'))).toBe(false);
    expect(monitored(folder)).toEqual([]);
  });

  it('removes a re-exported collection that is no longer public instead of writing it', async () => {
    world = await changesWorld(SETTINGS);
    await populate(world.alice);
    await exportWith(world.app, folder);
    await sleep(FRESH_FILE_MARGIN_MS + 20);
    await world.alice.patch('/buckets/blocklists/collections/addons', { permissions: { read: [] } });
    const summary = await exportWith(world.app, folder, new Set(['blocklists/addons']));
    expect(summary.collections).toBe(0);
    expect(summary.removed).toEqual([join(folder, changeset('blocklists', 'addons'))]);
    expect(monitored(folder)).toEqual(['main/cfr']);
  });
});
