/** The static export finds the signer's certificate chains as the signer does, environment included. */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { basic, client, makeApp, type Client } from '../../../test/helpers/app.ts';
import { makeSignerFixtures, type SignerFixtures } from '../../signer/test/fixtures.ts';
import { exportStatic } from '../static-export.ts';
import { iniLines, runExportCommand } from './helpers.ts';

let fixtures: SignerFixtures;
beforeAll(() => {
  fixtures = makeSignerFixtures();
});
afterAll(() => fixtures.remove());

/** A local signer whose key is in the INI file; its chain is only ever given by the environment. */
function signerIni(fixtures: SignerFixtures): string {
  return iniLines({
    'kinto.includes': 'kinto_remote_settings',
    'kinto.http_host': 'settings.example.org',
    'kinto.signer.resources': '/buckets/main-workspace -> /buckets/main',
    'kinto.changes.resources': '/buckets/main',
    'kinto.signer.ecdsa.private_key': fixtures.privateKey,
  });
}

async function expectOk(pending: Promise<{ statusCode: number; body: string }>): Promise<void> {
  const response = await pending;
  if (response.statusCode >= 300) throw new Error(`${response.statusCode}: ${response.body}`);
}

/** Signs `main/cfr` through the workflow; returns the signature's `x5u`. */
async function signCfr(owner: Client, anonymous: Client): Promise<string> {
  await expectOk(owner.put('/buckets/main-workspace', {}));
  await expectOk(owner.put('/buckets/main-workspace/collections/cfr', {}));
  await expectOk(owner.post('/buckets/main-workspace/collections/cfr/records', { data: { title: 'a' } }));
  await expectOk(owner.patch('/buckets/main-workspace/collections/cfr', { data: { status: 'to-sign' } }));
  const changeset = (await anonymous.get('/buckets/main/collections/cfr/changeset?_expected=0')).json();
  return changeset.metadata.signature.x5u;
}


describe('certificate chains of the static export', () => {
  let folder: string;
  let app: FastifyInstance;
  beforeEach(() => {
    folder = mkdtempSync(join(tmpdir(), 'kinto-export-'));
  });
  afterEach(async () => {
    await app.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('exports a chain configured only by a KINTO_SIGNER_… environment variable, as the API serves it', async () => {
    app = await makeApp(signerIni(fixtures), { KINTO_SIGNER_ECDSA_CERTIFICATE_CHAIN: fixtures.chain });
    const anonymous = client(app);
    const x5u = new URL(await signCfr(client(app, basic('owner')), anonymous));
    expect(x5u.pathname).toBe('/v1/cert-chains/test-chain.pem');
    const served = await app.inject({ method: 'GET', url: x5u.pathname });
    expect(served.statusCode).toBe(200);

    expect(await runExportCommand(app, folder)).toBe(0);
    expect(readFileSync(join(folder, x5u.pathname), 'utf8')).toBe(served.body);
    rmSync(join(folder, 'v1'), { recursive: true });
    const summary = await exportStatic(app.kinto, folder);
    expect(summary.files).toContain(join(folder, x5u.pathname));
    expect(readFileSync(join(folder, x5u.pathname), 'utf8')).toBe(served.body);
  });

  it('exports no chain when the signer serves none (Autograph signs)', async () => {
    const ini = `${signerIni(fixtures)}kinto.signer.signer_backend = kinto_remote_settings.signer.backends.autograph\n` +
      'kinto.signer.autograph.server_url = http://127.0.0.1:1\nkinto.signer.autograph.hawk_id = id\nkinto.signer.autograph.hawk_secret = secret\n';
    app = await makeApp(ini, { KINTO_SIGNER_ECDSA_CERTIFICATE_CHAIN: fixtures.chain });
    expect((await app.inject({ method: 'GET', url: '/v1/cert-chains/test-chain.pem' })).statusCode).toBe(404);
    expect(await runExportCommand(app, folder)).toBe(0);
    expect(existsSync(join(folder, 'v1/cert-chains'))).toBe(false);
    expect(readdirSync(join(folder, 'v1')).sort()).toEqual(['__broadcasts__', 'buckets']);
  });
});
