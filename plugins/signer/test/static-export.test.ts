import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXPORT_COMMAND } from '../../changes/index.ts';
import { exportStatic } from '../../changes/static-export.ts';
import { makeSignerFixtures, type SignerFixtures } from './fixtures.ts';
import { expectStatus, localSignerSettings, signerWorld, type Actor, type SignerWorld } from './helpers.ts';
import { signedMessage, verifiedLeafKey, verifyWithKey } from './verifier.ts';

let fixtures: SignerFixtures;
beforeAll(() => {
  fixtures = makeSignerFixtures();
});
afterAll(() => fixtures.remove());

const SETTINGS = {
  'kinto.signer.resources': '/buckets/main-workspace -> /buckets/main',
  'kinto.changes.resources': '/buckets/main',
};

/** What a plain static server answers for a URL: the file at its path, the querystring ignored. */
function staticGet(folder: string, url: string): string {
  return readFileSync(join(folder, url.split('?')[0]), 'utf8');
}

function exportWith(world: SignerWorld, folder: string) {
  const { storage, permission, settings, authorizer } = world.app.kinto;
  return exportStatic({ storage, permission, settings, authorizer }, folder);
}

async function publish(owner: Actor, cid: string, titles: string[]): Promise<void> {
  await owner.client.put(`/buckets/main-workspace/collections/${cid}`, {});
  for (const title of titles) await owner.client.post(`/buckets/main-workspace/collections/${cid}/records`, { data: { title } });
  await expectStatus(owner.client.patch(`/buckets/main-workspace/collections/${cid}`, { data: { status: 'to-sign' } }), 200);
}

describe('static export', () => {
  let folder: string;
  let world: SignerWorld;
  let owner: Actor;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'kinto-export-'));
  });
  afterEach(async () => {
    await world.app.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('serves the API bodies of changesets, monitor and broadcasts from files', async () => {
    world = await signerWorld(localSignerSettings(fixtures), SETTINGS);
    owner = await world.actor('owner');
    await owner.client.put('/buckets/main-workspace', {});
    await publish(owner, 'cfr', ['a', 'é ❤']);
    await publish(owner, 'other', ['b']);
    const summary = await exportWith(world, folder);
    expect(summary.collections).toBe(2);
    for (const url of [
      '/v1/buckets/main/collections/cfr/changeset?_expected=0',
      '/v1/buckets/main/collections/other/changeset?_expected=123',
      '/v1/buckets/monitor/collections/changes/changeset?_expected=0',
      '/v1/__broadcasts__',
    ]) {
      expect(JSON.parse(staticGet(folder, url)), url).toEqual((await world.anonymous.get(url)).json());
    }
    // A client verifies the exported collection with the exported chain, no server involved.
    const changeset = JSON.parse(staticGet(folder, '/v1/buckets/main/collections/cfr/changeset'));
    const signature = changeset.metadata.signature;
    const chain = staticGet(folder, new URL(signature.x5u).pathname);
    const leafKey = verifiedLeafKey(chain, fixtures.rootPem, signature.signer_id);
    expect(verifyWithKey(signedMessage(changeset.changes, changeset.timestamp), signature.signature, leafKey)).toBe(true);
  });

  it('exports the tombstones of a signed collection, newest first, as `_since` serves them', async () => {
    world = await signerWorld(localSignerSettings(fixtures), SETTINGS);
    owner = await world.actor('owner');
    await owner.client.put('/buckets/main-workspace', {});
    await publish(owner, 'cfr', ['a', 'b', 'c']);
    await exportWith(world, folder);
    const source = '/buckets/main-workspace/collections/cfr';
    const [deleted] = (await owner.client.get(`${source}/records?title=b`)).json().data;
    await expectStatus(owner.client.delete(`${source}/records/${deleted.id}`), 200);
    await expectStatus(owner.client.patch(source, { data: { status: 'to-sign' } }), 200);
    await exportWith(world, folder);

    const path = '/v1/buckets/main/collections/cfr/changeset';
    const exported = JSON.parse(staticGet(folder, path));
    const tombstone = exported.changes.find((change: { id: string }) => change.id === deleted.id);
    expect(tombstone).toEqual({ id: deleted.id, last_modified: expect.any(Number), deleted: true });
    expect(exported.changes.filter((change: { deleted?: boolean }) => !change.deleted).map((c: { title: string }) => c.title).sort()).toEqual(['a', 'c']);
    const stamps = exported.changes.map((change: { last_modified: number }) => change.last_modified);
    expect(stamps).toEqual([...stamps].sort((x, y) => y - x));
    expect(exported).toEqual((await world.anonymous.get(`${path}?_expected=0&_since=0`)).json());
    // A client that merged the tombstone verifies the signature over the live records.
    const signature = exported.metadata.signature;
    const leafKey = verifiedLeafKey(staticGet(folder, new URL(signature.x5u).pathname), fixtures.rootPem, signature.signer_id);
    expect(verifyWithKey(signedMessage(exported.changes, exported.timestamp), signature.signature, leafKey)).toBe(true);
  });

  it('re-exports after each signature with changes.static_export_path', async () => {
    world = await signerWorld(localSignerSettings(fixtures), SETTINGS, { 'kinto.changes.static_export_path': folder });
    owner = await world.actor('owner');
    await owner.client.put('/buckets/main-workspace', {});
    await publish(owner, 'cfr', ['a']);
    const path = '/v1/buckets/main/collections/cfr/changeset';
    expect(JSON.parse(staticGet(folder, path)).changes).toHaveLength(1);
    await owner.client.post('/buckets/main-workspace/collections/cfr/records', { data: { title: 'b' } });
    expect(JSON.parse(staticGet(folder, path)).changes).toHaveLength(1);
    await expectStatus(owner.client.patch('/buckets/main-workspace/collections/cfr', { data: { status: 'to-sign' } }), 200);
    expect(JSON.parse(staticGet(folder, path))).toEqual((await world.anonymous.get(`${path}?_expected=0`)).json());
    const monitor = JSON.parse(staticGet(folder, '/v1/buckets/monitor/collections/changes/changeset'));
    expect(monitor.timestamp).toBe(JSON.parse(staticGet(folder, path)).timestamp);
  });

  it('runs as `kinto export-changesets <folder>`', async () => {
    world = await signerWorld(localSignerSettings(fixtures), SETTINGS);
    owner = await world.actor('owner');
    await owner.client.put('/buckets/main-workspace', {});
    await publish(owner, 'cfr', ['a']);
    const kinto = world.app.kinto;
    const context = { config: { ...kinto.config, settings: kinto.settings }, openBackends: async () => ({ storage: kinto.storage, permission: kinto.permission, cache: kinto.cache }) };
    const code = await EXPORT_COMMAND.run([folder], context as never);
    expect(code).toBe(0);
    expect(existsSync(join(folder, 'v1/buckets/main/collections/cfr/changeset'))).toBe(true);
    expect(existsSync(join(folder, 'v1/cert-chains/test-chain.pem'))).toBe(true);
  });
});
