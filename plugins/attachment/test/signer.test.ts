import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSignerFixtures, type SignerFixtures } from '../../signer/test/fixtures.ts';
import { expectStatus, localSignerSettings, signerWorld } from '../../signer/test/helpers.ts';
import { formBody } from './helpers.ts';

const SOURCE = '/buckets/main-workspace/collections/certs';
const DESTINATION = '/buckets/main/collections/certs';

let fixtures: SignerFixtures;
let basePath: string;
beforeAll(() => {
  fixtures = makeSignerFixtures();
  basePath = mkdtempSync(join(tmpdir(), 'attachments-signer-'));
});
afterAll(() => {
  fixtures.remove();
  rmSync(basePath, { recursive: true, force: true });
});

describe('attachment with the Remote Settings signer', () => {
  it('publishes attachment metadata to the destination, and again after a replacement', async () => {
    const world = await signerWorld(localSignerSettings(fixtures), {
      'kinto.includes': 'kinto_attachment kinto_remote_settings',
      'kinto.signer.resources': `${SOURCE} -> ${DESTINATION}`,
      'kinto.attachment.base_path': basePath,
      'kinto.attachment.keep_old_files': 'true',
      'kinto.attachment.extensions': 'any',
      'kinto.attachment.folder': '{bucket_id}/{collection_id}',
    });
    const editor = await world.actor('editor');
    await expectStatus(editor.client.put('/buckets/main-workspace', {}), 201);
    await expectStatus(editor.client.put(SOURCE, {}), 201);
    const uploadAndSign = async (content: string) => {
      const body = await formBody({ attachment: { filename: 'intermediate.pem', content } });
      const response = await world.app.inject({
        method: 'POST',
        url: `/v1${SOURCE}/records/cert-1/attachment`,
        payload: body.payload,
        headers: { ...editor.headers, ...body.headers },
      });
      expect(response.statusCode, response.body).toBeLessThan(300);
      await expectStatus(editor.client.patch(SOURCE, { data: { status: 'to-sign' } }), 200);
      return response.json();
    };
    const first = await uploadAndSign('first');
    const published = await world.anonymous.get(`${DESTINATION}/records/cert-1`);
    expect(published.json().data.attachment).toEqual(first);
    expect(first.mimetype).toBe('application/x-pem-file');

    const second = await uploadAndSign('second');
    expect((await world.anonymous.get(`${DESTINATION}/records/cert-1`)).json().data.attachment).toEqual(second);
    // keep_old_files (as Remote Settings runs it): clients still on the old changeset can fetch the old file.
    expect(readdirSync(join(basePath, 'main-workspace', 'certs'))).toHaveLength(2);
    await world.app.close();
  });
});
