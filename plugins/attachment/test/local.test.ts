import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALICE, BOB, createCollection, makeApp, RECORD, upload } from './helpers.ts';

const PNG = { filename: 'logo.png', content: Buffer.from('\x89PNG fake image bytes'), type: 'image/png' };
const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest('hex');

let basePath: string;
let app: FastifyInstance;

/** Every file below base_path, relative. */
function storedFiles(): string[] {
  if (!existsSync(basePath)) return [];
  return (readdirSync(basePath, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(basePath.length + 1))
    .sort();
}

async function start(settings: Record<string, string> = {}): Promise<void> {
  app = await makeApp({ 'attachment.base_path': basePath, 'attachment.base_url': 'https://cdn.example.com/files', ...settings });
  await createCollection(app);
}

beforeEach(() => {
  basePath = mkdtempSync(join(tmpdir(), 'attachments-'));
});
afterEach(async () => {
  await app?.close();
  rmSync(basePath, { recursive: true, force: true });
});

describe('attachment: upload to local disk', () => {
  beforeEach(() => start());

  it('creates the record (201) with the file metadata, stores the file and links it', async () => {
    const response = await upload(app, { attachment: PNG });
    expect(response.statusCode).toBe(201);
    expect(response.headers.location).toBe('/v1/buckets/b/collections/c/records/r1');
    const metadata = response.json();
    expect(metadata).toMatchObject({ filename: 'logo.png', hash: sha256(PNG.content), mimetype: 'image/png', size: PNG.content.length });
    expect(metadata.location).toMatch(/^https:\/\/cdn\.example\.com\/[0-9a-f-]{36}\.png$/);
    const [file] = storedFiles();
    expect(metadata.location).toBe(`https://cdn.example.com/${file}`);
    expect(readFileSync(join(basePath, file))).toEqual(PNG.content);
    const record = (await app.inject({ method: 'GET', url: RECORD, headers: ALICE })).json();
    expect(record.data.attachment).toEqual(metadata);
    expect(response.headers.etag).toBe(`"${record.data.last_modified}"`);
  });

  it('replaces the file of an existing record (200) and deletes the previous one', async () => {
    await app.inject({ method: 'PUT', url: RECORD, payload: { data: { title: 'kept' } }, headers: ALICE });
    const first = (await upload(app, { attachment: PNG })).json();
    const second = await upload(app, { attachment: { filename: 'other.txt', content: 'hello', type: 'text/plain' } });
    expect(second.statusCode).toBe(200);
    expect(storedFiles()).toEqual([second.json().location.replace('https://cdn.example.com/', '')]);
    expect(first.location).not.toBe(second.json().location);
    const record = (await app.inject({ method: 'GET', url: RECORD, headers: ALICE })).json();
    expect(record.data).toMatchObject({ title: 'kept', attachment: { filename: 'other.txt', mimetype: 'text/plain' } });
  });

  it('applies the `data` and `permissions` form fields to the record', async () => {
    const response = await upload(app, {
      attachment: PNG,
      data: JSON.stringify({ title: 'A logo', attachment: 'ignored' }),
      permissions: JSON.stringify({ read: ['system.Everyone'] }),
    });
    expect(response.statusCode).toBe(201);
    const record = (await app.inject({ method: 'GET', url: RECORD })).json();
    expect(record.data.title).toBe('A logo');
    expect(record.data.attachment.filename).toBe('logo.png');
  });

  it('refuses bad forms with Kinto errors and stores nothing', async () => {
    const cases: [Record<string, unknown>, number, number, string][] = [
      [{ data: '{}' }, 400, 109, 'Attachment missing.'],
      [{ attachment: 'text, not a file' }, 400, 107, 'body: Filename is required.'],
      [{ attachment: PNG, data: '{not json' }, 400, 109, 'body: data is not valid JSON'],
      [{ attachment: PNG, other: 'x' }, 400, 109, "body: 'other' not in ('data', 'permissions')"],
      [{ attachment: PNG, data: { filename: 'data.json', content: '{}' } }, 400, 109, "body: 'data' field should be passed as form data, not files"],
      [{ attachment: PNG, data: '[1, 2]' }, 400, 107, 'data should be a JSON object'],
      [{ attachment: { filename: 'run.exe', content: 'MZ' } }, 400, 107, 'body: File extension is not allowed.'],
    ];
    for (const [fields, status, errno, message] of cases) {
      const response = await upload(app, fields as never);
      expect(response.statusCode, message).toBe(status);
      expect(response.json(), message).toMatchObject({ code: status, errno });
      expect(response.json().message).toContain(message);
    }
    expect(storedFiles()).toEqual([]);
    expect((await app.inject({ method: 'GET', url: RECORD, headers: ALICE })).statusCode).toBe(404);
  });

  it('requires multipart/form-data, and answers a truncated form with a 400', async () => {
    const json = await app.inject({ method: 'POST', url: `${RECORD}/attachment`, payload: { data: {} }, headers: ALICE });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ errno: 107, message: 'Content-Type should be multipart/form-data' });
    const truncated = await app.inject({
      method: 'POST',
      url: `${RECORD}/attachment`,
      payload: '--XYZ\r\nContent-Disposition: form-data; name="attachment"; filename="a.txt"\r\n\r\nabc',
      headers: { ...ALICE, 'content-type': 'multipart/form-data; boundary=XYZ' },
    });
    expect(truncated.statusCode).toBe(400);
    expect(truncated.json()).toMatchObject({ code: 400, errno: 107 });
    expect(storedFiles()).toEqual([]);
  });

  it('keeps the current attachment when a replacement is refused or its record write fails', async () => {
    const first = (await upload(app, { attachment: PNG })).json();
    expect((await upload(app, { attachment: { filename: 'x.exe', content: 'MZ' } })).statusCode).toBe(400);
    // The record write itself fails, after the new file was stored: permissions the record endpoint refuses.
    const refused = await upload(app, { attachment: { filename: 'new.png', content: 'new' }, permissions: JSON.stringify({ read: 'alice' }) });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errno).toBe(107);
    expect(storedFiles()).toEqual([first.location.replace('https://cdn.example.com/', '')]);
    const record = (await app.inject({ method: 'GET', url: RECORD, headers: ALICE })).json();
    expect(record.data.attachment).toEqual(first);
  });

  it('serialises concurrent uploads to one record: the last one wins, no stray file remains', async () => {
    const responses = await Promise.all(
      Array.from({ length: 6 }, (_, i) => upload(app, { attachment: { filename: `v${i}.txt`, content: `version ${i}` } })),
    );
    expect(responses.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    const record = (await app.inject({ method: 'GET', url: RECORD, headers: ALICE })).json();
    expect(storedFiles()).toEqual([record.data.attachment.location.replace('https://cdn.example.com/', '')]);
  });

  it('answers mangled forms with 4xx Kinto errors, never a 500 (fuzzed)', async () => {
    const { formBody } = await import('./helpers.ts');
    const valid = await formBody({ attachment: PNG, data: '{"title": "x"}', permissions: '{"read": []}' });
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 150; round += 1) {
      const bytes = Buffer.from(valid.payload);
      const mutated = random(3) === 0 ? bytes.subarray(0, random(bytes.length)) : bytes;
      for (let flips = random(6); flips >= 0; flips -= 1) mutated[random(mutated.length)] = random(256);
      const response = await app.inject({
        method: 'POST',
        url: `/v1/buckets/b/collections/c/records/f${round}/attachment`,
        payload: mutated,
        headers: { ...ALICE, ...valid.headers },
      });
      expect(response.statusCode, response.body).toBeLessThan(500);
      if (response.statusCode >= 400) expect(response.json()).toHaveProperty('errno');
    }
  });

  it('forbids editing the attachment metadata through the record, but not the other fields', async () => {
    await upload(app, { attachment: PNG });
    const edited = await app.inject({ method: 'PATCH', url: RECORD, payload: { data: { attachment: { size: 1 } } }, headers: ALICE });
    expect(edited.statusCode).toBe(400);
    expect(edited.json().message).toBe('Attachment metadata cannot be modified.');
    const other = await app.inject({ method: 'PATCH', url: RECORD, payload: { data: { title: 'fine' } }, headers: ALICE });
    expect(other.statusCode).toBe(200);
  });

  it('DELETE …/attachment empties the field and deletes the file; a missing record is a 404', async () => {
    await upload(app, { attachment: PNG });
    const response = await app.inject({ method: 'DELETE', url: `${RECORD}/attachment`, headers: ALICE });
    expect(response.statusCode).toBe(204);
    expect(storedFiles()).toEqual([]);
    expect((await app.inject({ method: 'GET', url: RECORD, headers: ALICE })).json().data.attachment).toBeNull();
    const missing = await app.inject({ method: 'DELETE', url: '/v1/buckets/b/collections/c/records/nope/attachment', headers: ALICE });
    expect(missing.statusCode).toBe(404);
    const get = await app.inject({ method: 'GET', url: `${RECORD}/attachment`, headers: ALICE });
    expect(get.statusCode).toBe(405);
  });

  it('deletes the files of deleted records, plural deletes, collections and buckets', async () => {
    const url = (id: string, collection = 'c') => `/v1/buckets/b/collections/${collection}/records/${id}`;
    await app.inject({ method: 'PUT', url: '/v1/buckets/b/collections/d', headers: ALICE });
    for (const [id, collection] of [['r1', 'c'], ['r2', 'c'], ['r3', 'c'], ['r4', 'd']]) {
      expect((await upload(app, { attachment: PNG }, { url: url(id, collection) })).statusCode).toBe(201);
    }
    expect(storedFiles()).toHaveLength(4);
    await app.inject({ method: 'DELETE', url: url('r1'), headers: ALICE });
    expect(storedFiles()).toHaveLength(3);
    await app.inject({ method: 'DELETE', url: '/v1/buckets/b/collections/c/records?id=r2', headers: ALICE });
    expect(storedFiles()).toHaveLength(2);
    await app.inject({ method: 'DELETE', url: '/v1/buckets/b/collections/c', headers: ALICE });
    expect(storedFiles()).toHaveLength(1);
    await app.inject({ method: 'DELETE', url: '/v1/buckets/b', headers: ALICE });
    expect(storedFiles()).toEqual([]);
  });

  it('checks permissions: write on the record, or record:create on the collection', async () => {
    expect((await upload(app, { attachment: PNG }, { headers: { authorization: '' } })).statusCode).toBe(401);
    expect((await upload(app, { attachment: PNG }, { headers: BOB })).statusCode).toBe(403);
    const bobId = (await app.inject({ method: 'GET', url: '/v1/', headers: BOB })).json().user.id;
    await app.inject({ method: 'PATCH', url: '/v1/buckets/b/collections/c', payload: { permissions: { 'record:create': [bobId] } }, headers: ALICE });
    expect((await upload(app, { attachment: PNG }, { headers: BOB })).statusCode).toBe(201);
    // Alice's record: Bob may create records, not replace her files.
    await upload(app, { attachment: PNG }, { url: '/v1/buckets/b/collections/c/records/alice' });
    expect((await upload(app, { attachment: PNG }, { url: '/v1/buckets/b/collections/c/records/alice', headers: BOB })).statusCode).toBe(403);
    expect((await app.inject({ method: 'DELETE', url: '/v1/buckets/b/collections/c/records/alice/attachment', headers: BOB })).statusCode).toBe(403);
    expect((await upload(app, { attachment: PNG }, { url: '/v1/buckets/b/collections/missing/records/x' })).statusCode).toBe(404);
    expect(storedFiles()).toHaveLength(2);
  });

  it('advertises the capability and reports a healthy heartbeat', async () => {
    const hello = (await app.inject({ method: 'GET', url: '/v1/' })).json();
    expect(hello.capabilities.attachments).toMatchObject({
      description: 'Add file attachments to records',
      url: 'https://github.com/Kinto/kinto-attachment/',
      base_url: 'https://cdn.example.com/files/',
    });
    const heartbeat = await app.inject({ method: 'GET', url: '/v1/__heartbeat__' });
    expect(heartbeat.json().attachments).toBe(true);
    expect(storedFiles()).toEqual([]);
  });
});

describe('attachment: naming and per-resource settings', () => {
  it('keeps sanitised names without randomize, numbering collisions, in the folder pattern', async () => {
    await start({ 'attachment.randomize': 'false', 'attachment.folder': '{bucket_id}/{collection_id}' });
    const one = await upload(app, { attachment: { filename: 'Résumé final.pdf', content: 'a' } }, { url: '/v1/buckets/b/collections/c/records/a' });
    const two = await upload(app, { attachment: { filename: 'Résumé final.pdf', content: 'b' } }, { url: '/v1/buckets/b/collections/c/records/b' });
    expect(one.json().location).toBe('https://cdn.example.com/b/c/Resume_final.pdf');
    expect(two.json().location).toBe('https://cdn.example.com/b/c/Resume_final-1.pdf');
    expect(one.json().filename).toBe('Résumé final.pdf');
  });

  it('applies filename_pattern, mimetype overrides and extensions', async () => {
    await start({
      'attachment.filename_pattern': '{rid}-{filename}',
      'attachment.randomize': 'false',
      'attachment.extensions': 'any',
      'attachment.mimetypes': '.bin:application/x-kinto-test',
    });
    const pem = await upload(app, { attachment: { filename: 'cert.pem', content: 'PEM', type: 'text/plain' } });
    expect(pem.json()).toMatchObject({ location: 'https://cdn.example.com/r1-cert.pem', mimetype: 'application/x-pem-file' });
    const bin = await upload(app, { attachment: { filename: 'blob.bin', content: 'x' } }, { url: '/v1/buckets/b/collections/c/records/r2' });
    expect(bin.json().mimetype).toBe('application/x-kinto-test');
  });

  it('honours max_size_bytes and keep_old_files per bucket and collection', async () => {
    await start({
      'attachment.max_size_bytes': '1000',
      'attachment.resources.b.c.max_size_bytes': '5',
      'attachment.resources.b.keep_old_files': 'true',
    });
    const large = await upload(app, { attachment: { filename: 'a.txt', content: '123456' } });
    expect(large.statusCode).toBe(400);
    expect(large.json().message).toBe('body: File size (6 bytes) exceeds the limit (5 bytes).');
    expect(storedFiles()).toEqual([]);
    await upload(app, { attachment: { filename: 'a.txt', content: '12345' } });
    await upload(app, { attachment: { filename: 'b.txt', content: '123' } });
    await app.inject({ method: 'DELETE', url: RECORD, headers: ALICE });
    expect(storedFiles()).toHaveLength(2);
  });
});

describe('attachment: modes and configuration', () => {
  it('writes locations and the capability with the public origin (http_host) when base_url is a path', async () => {
    app = await makeApp({
      'attachment.base_path': basePath,
      'attachment.base_url': '/attachments/',
      'attachment.randomize': 'false',
      'kinto.http_host': 'settings.example.org',
    });
    await createCollection(app);
    const response = await upload(app, { attachment: { filename: 'a.txt', content: 'x' } });
    expect(response.json().location).toBe('https://settings.example.org/attachments/a.txt');
    const hello = (await app.inject({ method: 'GET', url: '/v1/' })).json();
    expect(hello.capabilities.attachments.base_url).toBe('https://settings.example.org/attachments/');
  });

  it('refuses writes in readonly mode and reports a healthy heartbeat without writing', async () => {
    app = await makeApp({ 'attachment.base_path': basePath, 'kinto.readonly': 'true' });
    expect((await upload(app, { attachment: PNG })).statusCode).toBe(405);
    expect((await app.inject({ method: 'GET', url: '/v1/__heartbeat__' })).json().attachments).toBe(true);
  });

  it('fails the heartbeat when files cannot be written', async () => {
    const notAFolder = join(basePath, 'file');
    writeFileSync(notAFolder, 'x');
    app = await makeApp({ 'attachment.base_path': notAFolder });
    const heartbeat = await app.inject({ method: 'GET', url: '/v1/__heartbeat__' });
    expect(heartbeat.statusCode).toBe(503);
    expect(heartbeat.json().attachments).toBe(false);
  });

  it('stops the server on a missing backend or a malformed rule, naming it', async () => {
    const { startError } = await import('./helpers.ts');
    expect(await startError({})).toContain('Attachment backend is not configured');
    expect(await startError({ 'attachment.base_path': basePath, 'attachment.resources.b.c.d.randomize': 'true' })).toContain(
      'Configuration rule malformed: `attachment.resources.b.c.d.randomize`',
    );
    expect(await startError({ 'attachment.base_path': basePath, 'attachment.resources.b.folder': 'x' })).toContain(
      '`folder` is not a supported setting name. Read `attachment.resources.b.folder`',
    );
    expect(await startError({ 'attachment.base_path': basePath, 'attachment.filename_pattern': '{nope}' })).toContain('{nope}');
    expect(await startError({ 'attachment.gcloud.credentials': '/creds.json' })).toContain('Google Cloud Storage is not supported');
  });
});
