/**
 * `kinto signer-generate-keypair --chain`: the key pair, a chain for its x5u and the INI
 * lines, then a server configured with those lines signs a collection that verifies
 * through the served chain, as Firefox checks it (root pinned by its SHA-256 hash).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runKinto } from '../../../test/helpers/processes.ts';
import { KEYPAIR_COMMAND, parseKeypairArguments } from '../keypair.ts';
import { SIGNER_ID } from './fixtures.ts';
import { expectStatus, signerWorld } from './helpers.ts';
import { signedMessage, verifiedLeafKey, verifyWithKey, type SignatureEntry } from './verifier.ts';

vi.setConfig({ testTimeout: 120_000 });

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kinto-keypair-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The `key = value` lines of the command's output (comments kept apart). */
function printedSettings(stdout: string): { settings: Record<string, string>; rootHash: string } {
  const lines = stdout.split('\n');
  const settings = Object.fromEntries(lines.filter((l) => l.includes(' = ') && !l.startsWith('#')).map((l) => l.split(' = ')));
  const rootHash = /^# security\.content\.signature\.root_hash = (\S+)$/m.exec(stdout)?.[1] ?? '';
  return { settings, rootHash };
}

const certificates = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));

/** Runs the command in this process, its output captured. */
async function runInProcess(argv: string[]): Promise<{ code: number | void; stdout: string; stderr: string }> {
  const output = { stdout: '', stderr: '' };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((output.stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((output.stderr += String(chunk)), true));
  try {
    return { code: await KEYPAIR_COMMAND.run(argv, {} as never), ...output };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('signer-generate-keypair --chain', () => {
  it('writes a chain the server serves at x5u, and its signatures verify as Firefox checks them', async () => {
    const ini = join(dir, 'kinto.ini');
    writeFileSync(ini, '[app:main]\nkinto.includes = kinto_remote_settings\nkinto.storage_backend = memory\nkinto.permission_backend = memory\nkinto.cache_backend = memory\n');
    const run = await runKinto(['signer-generate-keypair', '--ini', ini, '--chain', join(dir, 'signer.pem'), join(dir, 'signer.pub.pem')]);
    expect([run.code, run.stderr]).toEqual([0, '']);
    const { settings, rootHash } = printedSettings(run.stdout);
    const chainPath = join(dir, `${SIGNER_ID}.chain.pem`);
    expect(settings).toEqual({
      'kinto.signer.ecdsa.private_key': join(dir, 'signer.pem'),
      'kinto.signer.ecdsa.public_key': join(dir, 'signer.pub.pem'),
      'kinto.signer.ecdsa.certificate_chain': chainPath,
    });
    const [leaf, root] = certificates(readFileSync(chainPath, 'utf8'));
    expect(rootHash).toBe(root.fingerprint256);
    expect([leaf.ca, root.ca, root.subject === root.issuer, leaf.issuer === root.subject]).toEqual([false, true, true, true]);

    const world = await signerWorld(settings, { 'kinto.includes': 'kinto_remote_settings', 'kinto.http_host': 'settings.example.org' });
    const owner = await world.actor('owner');
    const source = '/buckets/main-workspace/collections/cfr';
    await expectStatus(owner.client.put('/buckets/main-workspace', {}), 201);
    await expectStatus(owner.client.put(source, {}), 201);
    await expectStatus(owner.client.put(`${source}/records/r1`, { data: { title: 'signed' } }), 201);
    await expectStatus(owner.client.patch(source, { data: { status: 'to-sign' } }), 200);
    const changeset = (await expectStatus(world.anonymous.get('/buckets/main/collections/cfr/changeset?_expected=0'), 200)).json();
    const signature = changeset.metadata.signature as SignatureEntry;
    expect(signature.x5u).toBe(`https://settings.example.org/v1/cert-chains/${SIGNER_ID}.chain.pem`);
    expect(signature.signer_id).toBe(SIGNER_ID);
    const served = (await expectStatus(world.anonymous.get(new URL(signature.x5u).pathname), 200)).body;
    // Firefox trusts the root by the hash the command printed, then checks the leaf against signer_id.
    const trustedRoot = certificates(served).find((c) => c.fingerprint256 === rootHash)!.toString();
    const leafKey = verifiedLeafKey(served, trustedRoot, signature.signer_id);
    const message = signedMessage(changeset.changes, changeset.timestamp);
    expect(verifyWithKey(message, signature.signature, leafKey)).toBe(true);
    expect(verifyWithKey(signedMessage([], changeset.timestamp), signature.signature, leafKey)).toBe(false);
    await world.app.close();
  });

  it('names the leaf after --signer-id, valid for --days, the chain where --chain= says', async () => {
    const result = await runInProcess(['--chain=' + join(dir, 'onecrl.pem'), '--signer-id=onecrl.content-signature.mozilla.org', '--days=10',
      join(dir, 'onecrl.key'), join(dir, 'onecrl.pub')]);
    expect([result.code, result.stderr]).toEqual([0, '']);
    expect(printedSettings(result.stdout).settings['kinto.signer.ecdsa.certificate_chain']).toBe(join(dir, 'onecrl.pem'));
    const chain = readFileSync(join(dir, 'onecrl.pem'), 'utf8');
    const [leaf, root] = certificates(chain);
    expect(leaf.subjectAltName).toBe('DNS:onecrl.content-signature.mozilla.org');
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.3']);
    const days = (Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(10);
    expect(leaf.checkPrivateKey(createPrivateKey(readFileSync(join(dir, 'onecrl.key'))))).toBe(true);
    expect(verifiedLeafKey(chain, root.toString(), 'onecrl.content-signature.mozilla.org')).toContain('BEGIN PUBLIC KEY');
    expect(() => verifiedLeafKey(chain, root.toString(), SIGNER_ID)).toThrow('leaf does not match signer_id');
  });

  it('without --chain, writes only the key pair and prints its settings', async () => {
    const result = await runInProcess([join(dir, 'plain.key'), join(dir, 'plain.pub')]);
    expect(result.code).toBe(0);
    expect(printedSettings(result.stdout).settings).toEqual({
      'kinto.signer.ecdsa.private_key': join(dir, 'plain.key'),
      'kinto.signer.ecdsa.public_key': join(dir, 'plain.pub'),
    });
    expect(readFileSync(join(dir, 'plain.key'), 'utf8')).toContain('BEGIN EC PRIVATE KEY');
  });

  it('fails clearly without openssl, before writing any key', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(dir, 'no-such-bin');
    try {
      const result = await runInProcess(['--chain', join(dir, 'none.key'), join(dir, 'none.pub')]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'signer-generate-keypair: --chain needs the openssl command line, which is not on PATH: install OpenSSL, or make the chain yourself\n',
      );
    } finally {
      process.env.PATH = path;
    }
    expect(existsSync(join(dir, 'none.key'))).toBe(false);
  });

  it('refuses bad arguments with the usage', async () => {
    for (const argv of [['--chain'], ['--nope', 'a', 'b'], ['--chain=', 'a', 'b']]) {
      expect(parseKeypairArguments(argv)).toBeNull();
      const result = await runInProcess(argv);
      expect([result.code, result.stderr]).toEqual([2, expect.stringContaining('Usage: kinto signer-generate-keypair')]);
    }
    const invalid = await runInProcess(['--chain', '--signer-id=not a name', join(dir, 'bad.key'), join(dir, 'bad.pub')]);
    expect([invalid.code, invalid.stderr]).toEqual([1, "signer-generate-keypair: --signer-id must be a DNS name, not 'not a name'\n"]);
    expect(existsSync(join(dir, 'bad.key'))).toBe(false);
  });
});
