// kinto-http 5.3.0 (what the Kinto Admin uploads with) against a real listening server.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, KintoClient, startServer, type RunningServer } from '../../../test/clients/server.ts';

let server: RunningServer;
let basePath: string;
beforeAll(async () => {
  basePath = mkdtempSync(join(tmpdir(), 'attachments-client-'));
  server = await startServer(
    `kinto.includes = kinto_attachment\nkinto.attachment.base_path = ${basePath}\nkinto.attachment.randomize = false\n`,
  );
});
afterAll(async () => {
  await server?.app.close();
  rmSync(basePath, { recursive: true, force: true });
});

describe('attachment: kinto-http', () => {
  it('adds and removes an attachment with the client’s own methods', async () => {
    const client = new KintoClient(server.remote, { headers: basicAuth('admin') });
    await client.createBucket('b');
    const collection = client.bucket('b').collection('c');
    await client.bucket('b').createCollection('c');
    const dataUri = `data:text/plain;name=notes.txt;base64,${Buffer.from('first notes').toString('base64')}`;
    const record = (await collection.addAttachment(dataUri, { id: 'r1', title: 'Notes' })) as { data: Record<string, any> };
    expect(record.data).toMatchObject({ id: 'r1', title: 'Notes', attachment: { filename: 'notes.txt', mimetype: 'text/plain', size: 11 } });
    expect(readFileSync(join(basePath, 'notes.txt'), 'utf8')).toBe('first notes');

    await collection.removeAttachment('r1');
    const emptied = (await collection.getRecord('r1')) as { data: Record<string, unknown> };
    expect(emptied.data.attachment).toBeNull();
  });
});
