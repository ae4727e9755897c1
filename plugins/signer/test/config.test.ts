import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeApp } from '../../../test/helpers/app.ts';
import { parseResources } from '../config.ts';
import { startFakeAutograph, type FakeAutograph } from './fake-autograph.ts';
import { makeSignerFixtures, type SignerFixtures } from './fixtures.ts';
import { expectStatus, iniLines, localSignerSettings, signerWorld } from './helpers.ts';
import { signedMessage, verifyWithKey } from './verifier.ts';

let fixtures: SignerFixtures;
beforeAll(() => {
  fixtures = makeSignerFixtures();
});
afterAll(() => fixtures.remove());

describe('signer.resources', () => {
  it('reads pairs and triplets of bucket or collection URIs', () => {
    const resources = parseResources(`
      /buckets/stage -> /buckets/preview -> /buckets/prod
      /buckets/alice/collections/source ; /buckets/alice/collections/destination
      bob/source -> bob/destination`);
    expect([...resources.keys()]).toEqual(['/buckets/stage', '/buckets/alice/collections/source', '/buckets/bob/collections/source']);
    expect(resources.get('/buckets/stage')).toEqual({
      source: { bucket: 'stage', collection: null },
      preview: { bucket: 'preview', collection: null },
      destination: { bucket: 'prod', collection: null },
    });
  });

  it.each([
    ['/buckets/a', "Malformed resource: not separated with '->' (in '/buckets/a'). See kinto-remote-settings README."],
    ['/buckets/a -> /buckets/b -> /buckets/c -> /buckets/d', 'Malformed resource: should be a pair or a triplet'],
    ['/buckets/a -> /buckets/a/collections/b', 'Malformed resource: cannot mix bucket and collection URIs'],
    ['/buckets/a -> /buckets/a', 'Malformed resource: cannot have same value for source,  preview or destination'],
    ['/buckets/a -> /foo/b', 'Malformed resource: should be a bucket or collection URI'],
    ['/buckets/a -> /buckets/b!', 'Malformed resource: bucket or collection id is invalid'],
    ['/buckets/a -> /buckets/b\n/buckets/a -> /buckets/c', 'cannot repeat resource'],
    ['/buckets/a -> /buckets/b\n/buckets/c -> /buckets/b', 'Resources setting has repeated destination URI'],
    ['/buckets/a -> /buckets/p -> /buckets/b\n/buckets/c -> /buckets/p -> /buckets/d', 'Resources setting has repeated preview URI'],
    ['/buckets/a -> /buckets/b\n/buckets/b -> /buckets/c', 'cannot repeat URIs across resources'],
  ])('refuses %j', (raw, message) => {
    expect(() => parseResources(raw)).toThrow(message);
  });

  it('refuses a bad configuration at start-up', async () => {
    await expect(makeApp(iniLines(localSignerSettings(fixtures), { 'kinto.signer.resources': '/buckets/a' }))).rejects.toThrow(
      'not separated',
    );
    await expect(makeApp(iniLines({ 'kinto.includes': 'signer' }))).rejects.toThrow(
      'Please specify either kinto.signer.ecdsa.private_key or kinto.signer.ecdsa.public_key in the settings.',
    );
  });
});

describe('capability and per-resource settings', () => {
  it('lists resources, review settings that differ, and the groups', async () => {
    const world = await signerWorld(localSignerSettings(fixtures), {
      'kinto.signer.resources': '/buckets/alice/collections/source -> /buckets/alice/collections/destination\n  /buckets/stage -> /buckets/preview -> /buckets/prod',
      'kinto.signer.alice.source.to_review_enabled': 'true',
      'kinto.signer.stage.normandy.to_review_enabled': 'false',
      'kinto.signer.stage.ecdsa.private_key': fixtures.privateKey,
    });
    const capability = (await world.anonymous.get('/')).json().capabilities.signer;
    expect(capability).toEqual({
      description: 'Digital signatures for integrity and authenticity of records.',
      url: 'https://github.com/mozilla/remote-settings/tree/main/kinto-remote-settings',
      version: expect.any(String),
      group_check_enabled: true,
      to_review_enabled: false,
      editors_group: '{collection_id}-editors',
      reviewers_group: '{collection_id}-reviewers',
      plugin_userid: 'plugin:remote-settings',
      resources: [
        { source: { bucket: 'alice', collection: 'source' }, destination: { bucket: 'alice', collection: 'destination' }, to_review_enabled: true },
        { source: { bucket: 'stage', collection: null }, preview: { bucket: 'preview', collection: null }, destination: { bucket: 'prod', collection: null } },
        { source: { bucket: 'stage', collection: 'normandy' }, preview: { bucket: 'preview', collection: 'normandy' }, destination: { bucket: 'prod', collection: 'normandy' } },
      ],
    });
    expect((await world.anonymous.get('/__heartbeat__')).json().signer).toBe(true);
    await world.app.close();
  });

  it('reads KINTO_SIGNER_* environment variables', async () => {
    const app = await makeApp(iniLines(localSignerSettings(fixtures)), {
      KINTO_SIGNER_RESOURCES: '/buckets/a -> /buckets/b',
      KINTO_SIGNER_TO_REVIEW_ENABLED: 'true',
    });
    const capability = (await app.inject('/v1/')).json().capabilities.signer;
    expect(capability.to_review_enabled).toBe(true);
    expect(capability.resources).toEqual([{ source: { bucket: 'a', collection: null }, destination: { bucket: 'b', collection: null } }]);
    await app.close();
  });

  it('applies regex review settings to existing and new collections', async () => {
    const world = await signerWorld(localSignerSettings(fixtures), {
      'kinto.signer.to_review_enabled': 'true',
      'kinto.signer.main-workspace.magic-(\\w+).to_review_enabled': 'false',
    });
    const owner = await world.actor('owner');
    await owner.client.put('/buckets/main-workspace', {});
    const sources = async () =>
      ((await world.anonymous.get('/')).json().capabilities.signer.resources as { source: { collection: string | null } }[]).map((r) => r.source.collection);
    expect(await sources()).toEqual([null]);
    await expectStatus(owner.client.put('/buckets/main-workspace/collections/magic-word', {}), 201);
    await expectStatus(owner.client.put('/buckets/main-workspace/collections/evil-magic-word', {}), 201);
    expect(await sources()).toEqual([null, 'magic-word']);
    // No review needed on the matching collection, still needed on the others.
    for (const cid of ['magic-word', 'evil-magic-word']) await owner.client.post(`/buckets/main-workspace/collections/${cid}/records`, { data: {} });
    await expectStatus(owner.client.patch('/buckets/main-workspace/collections/magic-word', { data: { status: 'to-sign' } }), 200);
    await expectStatus(owner.client.patch('/buckets/main-workspace/collections/evil-magic-word', { data: { status: 'to-sign' } }), 403);
    await world.app.close();
  });

  it('lists a regex-matched collection only once its creation is committed', async () => {
    const world = await signerWorld(localSignerSettings(fixtures), {
      'kinto.signer.main-workspace.magic-(\\w+).to_review_enabled': 'true',
    });
    const owner = await world.actor('owner');
    await expectStatus(owner.client.put('/buckets/main-workspace', {}), 201);
    const sources = async () =>
      ((await world.anonymous.get('/')).json().capabilities.signer.resources as { source: { collection: string | null } }[]).map((r) => r.source.collection);
    // The signer refuses the second creation (unknown status) after the first one was seen: the batch rolls back.
    const batch = await owner.client.post('/batch', {
      defaults: { method: 'PUT' },
      requests: [
        { path: '/buckets/main-workspace/collections/magic-one', body: {} },
        { path: '/buckets/main-workspace/collections/magic-two', body: { data: { status: 'bogus' } } },
      ],
    });
    expect([batch.statusCode, batch.json().message]).toEqual([400, "Invalid status 'bogus'"]);
    // A lone creation the signer refuses rolls back the same way.
    await expectStatus(owner.client.put('/buckets/main-workspace/collections/magic-three', { data: { status: 'bogus' } }), 400);
    await expectStatus(owner.client.get('/buckets/main-workspace/collections/magic-one'), 404);
    expect(await sources()).toEqual([null]);
    await expectStatus(owner.client.put('/buckets/main-workspace/collections/magic-one', {}), 201);
    expect(await sources()).toEqual([null, 'magic-one']);
    await world.app.close();
  });

  it('creates the source buckets at start-up with auto_create_resources', async () => {
    const world = await signerWorld(localSignerSettings(fixtures), {
      'kinto.signer.resources': '/buckets/ws -> /buckets/pub\n /buckets/a/collections/b -> /buckets/c/collections/d',
      'kinto.signer.auto_create_resources': 'true',
    });
    const someone = await world.actor('someone');
    expect((await someone.client.get('/buckets/ws')).json().permissions.write).toEqual(['system.Authenticated']);
    await expectStatus(someone.client.get('/buckets/a/collections/b'), 200);
    await world.app.close();
  });
});

describe('certificate chain and x5u', () => {
  it('serves the configured chain where x5u points', async () => {
    const world = await signerWorld(localSignerSettings(fixtures), { 'kinto.signer.resources': '/buckets/a -> /buckets/b' });
    const owner = await world.actor('owner');
    await owner.client.put('/buckets/a', {});
    await owner.client.put('/buckets/a/collections/c', {});
    const signature = (await world.anonymous.get('/buckets/b/collections/c')).json().data.signature;
    expect(signature.x5u).toBe('https://settings.example.org/v1/cert-chains/test-chain.pem');
    const chain = await expectStatus(world.anonymous.get('/cert-chains/test-chain.pem'), 200);
    expect(chain.headers['content-type']).toContain('application/x-pem-file');
    expect(chain.body.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    await expectStatus(world.anonymous.get('/cert-chains/other.pem'), 404);
    await world.app.close();
  });

  it('uses an explicit x5u, and none without a chain (as the reference)', async () => {
    for (const [extra, expected] of [
      [{ 'kinto.signer.ecdsa.x5u': 'https://cdn.example.com/chain.pem' }, 'https://cdn.example.com/chain.pem'],
      [{ 'kinto.signer.ecdsa.certificate_chain': '' }, ''],
    ] as const) {
      const world = await signerWorld(localSignerSettings(fixtures), { 'kinto.signer.resources': '/buckets/a -> /buckets/b' }, extra);
      const owner = await world.actor('owner');
      await owner.client.put('/buckets/a', {});
      await owner.client.put('/buckets/a/collections/c', {});
      expect((await world.anonymous.get('/buckets/b/collections/c')).json().data.signature.x5u).toBe(expected);
      await world.app.close();
    }
  });
});

describe('Autograph backend', () => {
  let autograph: FakeAutograph;
  beforeAll(async () => {
    autograph = await startFakeAutograph({ id: 'kinto', key: 'hawk-secret' });
  });
  afterAll(() => autograph.close());

  it('signs collections through Autograph, one signature per key', async () => {
    const world = await signerWorld({
      'kinto.includes': 'kinto_remote_settings',
      'kinto.signer.resources': '/buckets/a -> /buckets/b',
      'kinto.signer.signer_backend': 'kinto_remote_settings.signer.backends.autograph',
      'kinto.signer.autograph.server_url': autograph.url,
      'kinto.signer.autograph.hawk_id': 'kinto',
      'kinto.signer.autograph.hawk_secret': 'hawk-secret',
      'kinto.signer.autograph.key_ids': 'remote-settings extra-key',
    });
    const owner = await world.actor('owner');
    await owner.client.put('/buckets/a', {});
    await owner.client.put('/buckets/a/collections/c', {});
    await owner.client.post('/buckets/a/collections/c/records', { data: { title: 'é' } });
    await expectStatus(owner.client.patch('/buckets/a/collections/c', { data: { status: 'to-sign' } }), 200);
    const changeset = (await world.anonymous.get('/buckets/b/collections/c/changeset?_expected=0')).json();
    expect(changeset.metadata.signatures.map((s: { signer_id: string }) => s.signer_id)).toEqual(['remote-settings', 'extra-key']);
    const publicKey = autograph.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    for (const signature of changeset.metadata.signatures) {
      expect(verifyWithKey(signedMessage(changeset.changes, changeset.timestamp), signature.signature, publicKey)).toBe(true);
    }
    expect((await world.anonymous.get('/__heartbeat__')).json().signer).toBe(true);

    // Autograph down: the approval fails and nothing changes.
    autograph.failWith = 500;
    await owner.client.post('/buckets/a/collections/c/records', { data: { title: 'b' } });
    const failed = await owner.client.patch('/buckets/a/collections/c', { data: { status: 'to-sign' } });
    expect(failed.statusCode).toBe(500);
    expect((await owner.client.get('/buckets/a/collections/c')).json().data.status).toBe('work-in-progress');
    expect((await world.anonymous.get('/__heartbeat__')).statusCode).toBe(503);
    autograph.failWith = null;
    await world.app.close();
  });
});
