/**
 * The S3 backend against s3rver, a real S3 protocol server (HTTP, SigV4, path-style
 * buckets), on a private port and folder per file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { FastifyInstance } from 'fastify';
import S3rver from 's3rver';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ALICE, createCollection, makeApp, RECORD, upload } from './helpers.ts';

const BUCKET = 'kinto-files';
let folder: string;
let server: S3rver;
let endpoint: string;
let s3: S3Client;
let app: FastifyInstance;

beforeAll(async () => {
  folder = mkdtempSync(join(tmpdir(), 's3rver-'));
  server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: folder, configureBuckets: [{ name: BUCKET }] });
  const address = (await server.run()) as AddressInfo;
  endpoint = `http://127.0.0.1:${address.port}`;
  s3 = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
});
afterAll(async () => {
  s3?.destroy();
  await server?.close();
  rmSync(folder, { recursive: true, force: true });
});

const keys = async () =>
  ((await s3.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((object) => object.Key!).sort();

async function read(key: string): Promise<{ body: Buffer; type: string | undefined }> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return { body: Buffer.from(await object.Body!.transformToByteArray()), type: object.ContentType };
}

function s3Settings(extra: Record<string, string> = {}): Record<string, string> {
  const url = new URL(endpoint);
  return {
    'attachment.aws.access_key': 'S3RVER',
    'attachment.aws.secret_key': 'S3RVER',
    'attachment.aws.bucket_name': BUCKET,
    'attachment.aws.host': url.hostname,
    'attachment.aws.port': url.port,
    'attachment.aws.is_secure': 'false',
    'attachment.aws.use_path_style': 'true',
    'attachment.folder': '{bucket_id}/{collection_id}',
    ...extra,
  };
}

describe('attachment: S3 backend', () => {
  beforeEach(async () => {
    for (const key of await keys()) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    app = await makeApp(s3Settings());
    await createCollection(app);
  });
  afterEach(async () => {
    await app?.close();
  });

  it('stores the exact bytes (a streamed 300 kB body) with its mimetype, under the folder', async () => {
    const content = Buffer.alloc(300_000, 'kinto');
    const response = await upload(app, { attachment: { filename: 'big.json', content, type: 'application/json' } });
    expect(response.statusCode).toBe(201);
    const { location, size } = response.json();
    expect(size).toBe(content.length);
    expect(location).toMatch(new RegExp(`^${endpoint}/${BUCKET}/b/c/[0-9a-f-]{36}\\.json$`));
    const key = location.slice(`${endpoint}/${BUCKET}/`.length);
    const stored = await read(key);
    expect(stored.body.equals(content)).toBe(true);
    expect(stored.type).toBe('application/json');
  });

  it('deletes the replaced object, then the last one with the record', async () => {
    const first = (await upload(app, { attachment: { filename: 'a.txt', content: 'one' } })).json();
    const second = (await upload(app, { attachment: { filename: 'a.txt', content: 'two' } })).json();
    const prefix = `${endpoint}/${BUCKET}/`;
    expect(await keys()).toEqual([second.location.slice(prefix.length)]);
    expect(first.location).not.toBe(second.location);
    await app.inject({ method: 'DELETE', url: RECORD, headers: ALICE });
    expect(await keys()).toEqual([]);
  });

  it('numbers a name already taken when names are not randomized', async () => {
    await app.close();
    app = await makeApp(s3Settings({ 'attachment.randomize': 'false', 'attachment.base_url': 'https://cdn.example.com/' }));
    await createCollection(app);
    const one = await upload(app, { attachment: { filename: 'list.txt', content: '1' } }, { url: '/v1/buckets/b/collections/c/records/x' });
    const two = await upload(app, { attachment: { filename: 'list.txt', content: '2' } }, { url: '/v1/buckets/b/collections/c/records/y' });
    expect(one.json().location).toBe('https://cdn.example.com/b/c/list.txt');
    expect(two.json().location).toBe('https://cdn.example.com/b/c/list-1.txt');
    expect((await read('b/c/list-1.txt')).body.toString()).toBe('2');
  });

  it('reports the heartbeat: true with the store up, leaving no probe behind', async () => {
    const heartbeat = await app.inject({ method: 'GET', url: '/v1/__heartbeat__' });
    expect(heartbeat.json().attachments).toBe(true);
    expect(await keys()).toEqual([]);
  });

  it('fails the heartbeat when the bucket does not exist', async () => {
    await app.close();
    app = await makeApp(s3Settings({ 'attachment.aws.bucket_name': 'no-such-bucket' }));
    const heartbeat = await app.inject({ method: 'GET', url: '/v1/__heartbeat__' });
    expect(heartbeat.statusCode).toBe(503);
    expect(heartbeat.json().attachments).toBe(false);
  });
});
