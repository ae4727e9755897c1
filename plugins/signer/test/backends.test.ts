import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutographError, AutographSigner } from '../backends/autograph.ts';
import { hawkHeader, hawkMac, hawkNormalizedString, hawkPayloadHash } from '../backends/hawk.ts';
import { LocalEcdsaSigner, loadPrivateKey, loadPublicKey } from '../backends/local-ecdsa.ts';
import { startFakeAutograph, type FakeAutograph } from './fake-autograph.ts';
import { makeSignerFixtures, type SignerFixtures } from './fixtures.ts';
import { verifyWithKey } from './verifier.ts';

let fixtures: SignerFixtures;
beforeAll(() => {
  fixtures = makeSignerFixtures();
});
afterAll(() => fixtures.remove());

describe('local ECDSA signer', () => {
  const signer = () =>
    new LocalEcdsaSigner({
      privateKey: loadPrivateKey(readFileSync(fixtures.privateKey, 'utf8'), 'key'),
      publicKey: loadPublicKey(readFileSync(fixtures.publicKey, 'utf8'), 'key'),
      x5u: '',
    });

  it('signs Content-Signature:\\0 + payload with P-384/SHA-384, raw r||s in base64url', async () => {
    const [bundle] = await signer().sign('this is some text');
    expect(bundle.mode).toBe('p384ecdsa');
    expect(bundle.x5u).toBe('');
    expect(bundle.signature).toMatch(/^[A-Za-z0-9_-]{128}$/);
    const message = Buffer.from('Content-Signature:\x00this is some text');
    expect(verifyWithKey(message, bundle.signature, readFileSync(fixtures.publicKey, 'utf8'))).toBe(true);
    expect(verifyWithKey(Buffer.from('this is some text'), bundle.signature, readFileSync(fixtures.publicKey, 'utf8'))).toBe(false);
  });

  it('verifies its own signatures and rejects others', async () => {
    const local = signer();
    const [bundle] = await local.sign('payload');
    expect(local.verify('payload', bundle.signature)).toBe(true);
    expect(local.verify('other payload', bundle.signature)).toBe(false);
  });

  it('refuses keys of another curve, and signing without a private key', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
    expect(() => loadPrivateKey(p256, 'p256.pem')).toThrow('p256.pem is not an ECDSA P-384 key');
    const verifyOnly = new LocalEcdsaSigner({ privateKey: null, publicKey: loadPublicKey(readFileSync(fixtures.publicKey, 'utf8'), 'k'), x5u: '' });
    await expect(verifyOnly.sign('x')).rejects.toThrow('Please, specify the private_key location.');
  });
});

describe('Autograph signer', () => {
  const credentials = { id: 'alice', key: 'fs5wgcer9qj819kfptdlp8gm227ewxnzvsuj9ztycsx08hfhzu' };
  let autograph: FakeAutograph;
  beforeAll(async () => {
    autograph = await startFakeAutograph(credentials);
  });
  afterAll(() => autograph.close());

  const signer = (keyIds = ['remote-settings'], hawkSecret = credentials.key) =>
    new AutographSigner({ serverUrl: `${autograph.url}/some/path`, hawkId: credentials.id, hawkSecret, keyIds });

  it('posts the base64 payload with Hawk authentication and keeps the signature fields', async () => {
    autograph.calls.length = 0;
    const [bundle] = await signer().sign('test data');
    expect(autograph.calls).toEqual([{ keyid: 'remote-settings', input: 'test data' }]);
    expect(Object.keys(bundle).sort()).toEqual(['mode', 'public_key', 'ref', 'signature', 'signer_id', 'type', 'x5u']);
    const publicKey = autograph.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    expect(verifyWithKey(Buffer.from('Content-Signature:\x00test data'), bundle.signature, publicKey)).toBe(true);
  });

  it('sends one request per key id', async () => {
    autograph.calls.length = 0;
    const signatures = await signer(['key1', 'key2', 'key3']).sign('test data');
    expect(signatures.map((s) => s.signer_id)).toEqual(['key1', 'key2', 'key3']);
    expect(autograph.calls.map((c) => c.keyid)).toEqual(['key1', 'key2', 'key3']);
  });

  it('fails on a wrong Hawk secret or a server error', async () => {
    await expect(signer(['k'], 'wrong').sign('x')).rejects.toBeInstanceOf(AutographError);
    autograph.failWith = 503;
    await expect(signer().sign('x')).rejects.toThrow('Autograph answered 503');
    autograph.failWith = null;
  });
});

/** The worked examples of the Hawk specification (hueniverse/hawk README, protocol example). */
describe('Hawk known answers', () => {
  const example = {
    id: 'dh37fgj492je',
    key: 'werxhqb98rpaxn39848xrunpaw3489ruxnpa98w4rxn',
    url: new URL('http://example.com:8000/resource/1?b=1&a=2'),
    timestamp: 1353832234,
    nonce: 'j4h3g2',
    ext: 'some-app-ext-data',
  };

  it('normalizes the GET example and gets its MAC', () => {
    const artifacts = {
      ts: '1353832234', nonce: 'j4h3g2', method: 'GET', resource: '/resource/1?b=1&a=2',
      host: 'example.com', port: '8000', hash: '', ext: 'some-app-ext-data',
    };
    expect(hawkNormalizedString(artifacts)).toBe('hawk.1.header\n1353832234\nj4h3g2\nGET\n/resource/1?b=1&a=2\nexample.com\n8000\n\nsome-app-ext-data\n');
    expect(hawkMac(example.key, artifacts)).toBe('6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE=');
    expect(hawkMac('another key', artifacts)).not.toBe('6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE=');
  });

  it('writes the header of the GET example', () => {
    expect(hawkHeader({ ...example, method: 'GET' })).toBe(
      'Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", ext="some-app-ext-data", mac="6R4rV5iE+NPoym+WwjeHzjAGXUtLNIxmo1vpMofpLAE="',
    );
  });

  it('writes the header of the POST example, payload hash included (what the Autograph client sends)', () => {
    const header = hawkHeader({ ...example, method: 'POST', contentType: 'text/plain', payload: 'Thank you for flying Hawk' });
    expect(header).toBe(
      'Hawk id="dh37fgj492je", ts="1353832234", nonce="j4h3g2", hash="Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY=", ' +
        'ext="some-app-ext-data", mac="aSe1DERmZuRl3pI36/9BdZmnErTw3sNzOOAUlfeKjVw="',
    );
    // Content-type parameters and case do not change the payload hash.
    expect(hawkPayloadHash('Text/Plain; charset=utf-8', 'Thank you for flying Hawk')).toBe('Yi9LfIIFRtBEPt74PVmbTF/xVAwPn7ub15ePICfgnuY=');
  });
});

describe('Autograph certificate check', () => {
  it('warns when the TLS certificate expires within the bounded share of its lifespan', async () => {
    const { execFileSync } = await import('node:child_process');
    const { createServer } = await import('node:https');
    const { join } = await import('node:path');
    const dir = fixtures.dir;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'tls.key'),
      '-out', join(dir, 'tls.pem'), '-days', '5', '-subj', '/CN=localhost'], { stdio: 'pipe' });
    const server = createServer({ key: readFileSync(join(dir, 'tls.key')), cert: readFileSync(join(dir, 'tls.pem')) }, (_q, r) => r.end());
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as { port: number }).port;
    const warnings: string[] = [];
    const check = { percentageRemainingValidity: 5, minRemainingDays: 10, maxRemainingDays: 30, warn: (m: string) => warnings.push(m) };
    const signer = new AutographSigner({ serverUrl: `https://127.0.0.1:${port}`, hawkId: 'a', hawkSecret: 'b', keyIds: ['k'] });
    await signer.checkCertificate(check);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^Only [45] days before Autograph certificate expires/);
    await signer.checkCertificate({ ...check, minRemainingDays: 1, percentageRemainingValidity: 1 });
    expect(warnings).toHaveLength(1);
    await new Promise((done) => server.close(done));
  });
});

describe('signer-generate-keypair', () => {
  it('writes a key pair the local signer loads and verifies', async () => {
    const { KEYPAIR_COMMAND } = await import('../keypair.ts');
    const { join } = await import('node:path');
    const [privatePath, publicPath] = [join(fixtures.dir, 'new.private.pem'), join(fixtures.dir, 'new.public.pem')];
    expect(await KEYPAIR_COMMAND.run([privatePath, publicPath], {} as never)).toBe(0);
    const signer = new LocalEcdsaSigner({
      privateKey: loadPrivateKey(readFileSync(privatePath, 'utf8'), privatePath),
      publicKey: loadPublicKey(readFileSync(publicPath, 'utf8'), publicPath),
      x5u: '',
    });
    const [bundle] = await signer.sign('text');
    expect(signer.verify('text', bundle.signature)).toBe(true);
    expect(readFileSync(privatePath, 'utf8')).toContain('BEGIN EC PRIVATE KEY');
  });
});
