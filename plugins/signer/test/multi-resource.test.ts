/**
 * Several resources, each with its own signer settings (`signer.{bid}.…` for a bucket
 * resource, `signer.{bid}.{cid}.…` for a collection one): every destination is signed by
 * its own key or backend, and by no other.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAutograph, type FakeAutograph } from './fake-autograph.ts';
import { makeSignerFixtures, writeKeyPair, type SignerFixtures } from './fixtures.ts';
import { expectStatus, signerWorld, type Actor, type SignerWorld } from './helpers.ts';
import { signedMessage, verifyWithKey, type SignatureEntry } from './verifier.ts';

const ALPHA = { source: '/buckets/alpha-ws/collections/cfr', preview: '/buckets/alpha-preview/collections/cfr', destination: '/buckets/alpha/collections/cfr' };
const BETA = { source: '/buckets/beta-ws/collections/src', preview: '/buckets/beta-preview/collections/src', destination: '/buckets/beta/collections/dst' };
const RESOURCES = [
  '/buckets/alpha-ws -> /buckets/alpha-preview -> /buckets/alpha',
  `${BETA.source} -> ${BETA.preview} -> ${BETA.destination}`,
].join('\n  '); // INI continuation lines are indented

let fixtures: SignerFixtures;
let keys: { alpha: { privateKey: string; publicKey: string }; beta: { privateKey: string; publicKey: string } };
beforeAll(() => {
  fixtures = makeSignerFixtures();
  keys = { alpha: writeKeyPair(fixtures.dir, 'alpha'), beta: writeKeyPair(fixtures.dir, 'beta') };
});
afterAll(() => fixtures.remove());

const pem = (path: string) => readFileSync(path, 'utf8');

/** Creates the source with one record and approves it (review is off: the owner signs). */
async function publish(owner: Actor, source: string): Promise<void> {
  await expectStatus(owner.client.put(source.split('/collections/')[0], {}), 201);
  await expectStatus(owner.client.put(source, {}), 201);
  await expectStatus(owner.client.post(`${source}/records`, { data: { title: `from ${source}` } }), 201);
  await expectStatus(owner.client.patch(source, { data: { status: 'to-sign' } }), 200);
  expect((await owner.client.get(source)).json().data.status).toBe('signed');
}

/** For each signature of the collection's changeset: does it verify with this public key? */
async function verifiesWith(world: SignerWorld, collection: string, publicKey: string): Promise<boolean[]> {
  const changeset = (await expectStatus(world.anonymous.get(`${collection}/changeset?_expected=0`), 200)).json();
  expect(changeset.changes.length).toBe(1);
  const message = signedMessage(changeset.changes, changeset.timestamp);
  const signatures = changeset.metadata.signatures as SignatureEntry[];
  expect(signatures.length).toBeGreaterThan(0);
  return signatures.map((s) => verifyWithKey(message, s.signature, publicKey));
}

describe('resources with their own signers', () => {
  it('signs each destination and preview with the key of its resource only', async () => {
    const world = await signerWorld({
      'kinto.includes': 'kinto_remote_settings',
      'kinto.signer.resources': RESOURCES,
      // The server-wide key: overridden by both resources, so it must sign nothing.
      'kinto.signer.ecdsa.private_key': fixtures.privateKey,
      'kinto.signer.alpha-ws.ecdsa.private_key': keys.alpha.privateKey,
      'kinto.signer.beta-ws.src.ecdsa.private_key': keys.beta.privateKey,
    });
    const owner = await world.actor('owner');
    await publish(owner, ALPHA.source);
    await publish(owner, BETA.source);
    for (const [resource, own, others] of [
      [ALPHA, keys.alpha.publicKey, [keys.beta.publicKey, fixtures.publicKey]],
      [BETA, keys.beta.publicKey, [keys.alpha.publicKey, fixtures.publicKey]],
    ] as const) {
      for (const collection of [resource.preview, resource.destination]) {
        expect(await verifiesWith(world, collection, pem(own))).toEqual([true]);
        for (const other of others) expect(await verifiesWith(world, collection, pem(other))).toEqual([false]);
      }
    }
    await world.app.close();
  });

  describe('with different backends', () => {
    let autograph: FakeAutograph;
    beforeAll(async () => {
      autograph = await startFakeAutograph({ id: 'kinto', key: 'hawk-secret' });
    });
    afterAll(() => autograph.close());

    it('signs one resource locally and the other through Autograph', async () => {
      const world = await signerWorld({
        'kinto.includes': 'kinto_remote_settings',
        'kinto.signer.resources': RESOURCES,
        'kinto.signer.alpha-ws.ecdsa.private_key': keys.alpha.privateKey,
        'kinto.signer.beta-ws.src.signer_backend': 'autograph',
        'kinto.signer.beta-ws.src.autograph.server_url': autograph.url,
        'kinto.signer.beta-ws.src.autograph.hawk_id': 'kinto',
        'kinto.signer.beta-ws.src.autograph.hawk_secret': 'hawk-secret',
        'kinto.signer.beta-ws.src.autograph.key_ids': 'beta-key',
      });
      const owner = await world.actor('owner');
      autograph.calls.length = 0;
      await publish(owner, ALPHA.source);
      expect(autograph.calls).toEqual([]);
      await publish(owner, BETA.source);
      expect(autograph.calls.length).toBeGreaterThan(0);
      expect(new Set(autograph.calls.map((c) => c.keyid))).toEqual(new Set(['beta-key']));
      const autographKey = autograph.publicKey.export({ format: 'pem', type: 'spki' }) as string;
      expect(await verifiesWith(world, ALPHA.destination, pem(keys.alpha.publicKey))).toEqual([true]);
      expect(await verifiesWith(world, ALPHA.destination, autographKey)).toEqual([false]);
      expect(await verifiesWith(world, BETA.destination, autographKey)).toEqual([true]);
      expect(await verifiesWith(world, BETA.destination, pem(keys.alpha.publicKey))).toEqual([false]);
      await world.app.close();
    });
  });
});
