// Mozilla's offline-first client (kinto.js 17.1.1) in Node, with IndexedDB provided by
// fake-indexeddb: two devices (separate local databases, two users sharing a collection)
// synchronise through a real listening server.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import KintoModule from 'kinto';
import type { Collection, RecordStatus } from 'kinto';
import { KintoClient, basicAuth, startServer } from './server.ts';
import type { KintoClientInstance, RunningServer } from './server.ts';

// kinto's "main" is a CommonJS build; depending on interop the default export may be wrapped.
const Kinto = ((KintoModule as { default?: unknown }).default ?? KintoModule) as typeof KintoModule.default;
type Note = { id: string; title: string; last_modified?: number; _status?: RecordStatus };
type Device = Collection<Note>;
const { CLIENT_WINS, SERVER_WINS, MANUAL } = Kinto.syncStrategy;

let server: RunningServer;
let admin: KintoClientInstance; // alice, through kinto-http, to inspect or race the server
let counter = 0;
let bucket = '';
let deviceA: Device; // alice
let deviceB: Device; // bob, who was given write access on the collection

// A spy around fetch (kinto.js binds globalThis.fetch when its HTTP client is created):
// it records requested URLs and can run an action just before the next batch request.
const realFetch = globalThis.fetch;
const requested: string[] = [];
let beforeNextBatch: (() => Promise<void>) | null = null;
globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  requested.push(`${init?.method ?? 'GET'} ${url}`);
  if (url.endsWith('/batch') && beforeNextBatch) {
    const action = beforeNextBatch;
    beforeNextBatch = null;
    await action();
  }
  return realFetch(input, init);
};

function device(user: string, dbName: string): Device {
  const kinto = new Kinto({ remote: server.remote, bucket, headers: basicAuth(user), adapterOptions: { dbName } });
  return kinto.collection<Note>('notes');
}

async function serverRecords(): Promise<Note[]> {
  return (await admin.bucket(bucket).collection('notes').listRecords<Note & { last_modified: number }>({ sort: 'id' })).data;
}

beforeAll(async () => {
  server = await startServer();
  admin = new KintoClient(server.remote, { headers: basicAuth('alice') });
});
afterAll(async () => {
  globalThis.fetch = realFetch;
  await server.app.close();
});

beforeEach(async () => {
  bucket = `sync-${++counter}`;
  const bob = (await new KintoClient(server.remote, { headers: basicAuth('bob') }).fetchUser())!.id;
  await admin.createBucket(bucket);
  await admin.bucket(bucket).createCollection('notes', { permissions: { write: [bob] } });
  deviceA = device('alice', `device-a-${counter}`);
  deviceB = device('bob', `device-b-${counter}`);
});

/** Creates a note on A and brings both devices in sync with it. */
async function sharedNote(title: string): Promise<Note> {
  const { data } = await deviceA.create({ title });
  await deviceA.sync();
  await deviceB.sync();
  return data as Note;
}

describe('kinto.js: synchronisation between two devices', () => {
  it('creates on A and finds the record on B after syncing', async () => {
    const { data: created } = await deviceA.create({ title: 'from A' });
    expect(created._status).toBe('created');
    const resultA = await deviceA.sync();
    expect(resultA.ok).toBe(true);
    expect(resultA.published).toEqual([expect.objectContaining({ id: created.id, title: 'from A', _status: 'synced' })]);
    const [onServer] = await serverRecords();
    expect(onServer).toMatchObject({ id: created.id, title: 'from A' });
    expect(resultA.lastModified).toBe(onServer.last_modified);
    expect(deviceA.lastModified).toBe(onServer.last_modified);

    const resultB = await deviceB.sync();
    expect(resultB.ok).toBe(true);
    expect(resultB.created).toEqual([expect.objectContaining({ id: created.id, title: 'from A', _status: 'synced' })]);
    expect(resultB.published).toEqual([]);
    const { data: onB } = await deviceB.list();
    expect(onB).toEqual([{ id: created.id, title: 'from A', last_modified: onServer.last_modified, _status: 'synced' }]);
    expect(deviceB.lastModified).toBe(onServer.last_modified);
  });

  it('propagates an update made on B to A', async () => {
    const note = await sharedNote('original');
    const { data: onB } = await deviceB.get(note.id);
    await deviceB.update({ ...onB, title: 'edited by B' });
    const resultB = await deviceB.sync();
    expect(resultB.published).toEqual([expect.objectContaining({ id: note.id, title: 'edited by B' })]);
    const [onServer] = await serverRecords();
    expect(onServer.title).toBe('edited by B');

    const resultA = await deviceA.sync();
    expect(resultA.updated).toHaveLength(1);
    expect(resultA.updated[0].old).toMatchObject({ id: note.id, title: 'original' });
    expect(resultA.updated[0].new).toMatchObject({ id: note.id, title: 'edited by B', last_modified: onServer.last_modified });
    expect((await deviceA.get(note.id)).data).toMatchObject({ title: 'edited by B', _status: 'synced' });
  });

  it('propagates deletions through tombstones', async () => {
    const note = await sharedNote('doomed');
    const keep = await sharedNote('kept');
    await deviceA.delete(note.id);
    expect((await deviceA.get(note.id, { includeDeleted: true })).data._status).toBe('deleted');
    const resultA = await deviceA.sync();
    expect(resultA.published).toEqual([expect.objectContaining({ id: note.id, deleted: true })]);
    expect((await deviceA.getAny(note.id)).data).toBeUndefined();
    const tombstones = await admin.bucket(bucket).collection('notes').listRecords({ since: String(deviceB.lastModified) });
    expect(tombstones.data).toEqual([{ id: note.id, deleted: true, last_modified: expect.any(Number) }]);

    const resultB = await deviceB.sync();
    expect(resultB.deleted).toEqual([expect.objectContaining({ id: note.id, title: 'doomed' })]);
    expect((await deviceB.getAny(note.id)).data).toBeUndefined();
    expect((await deviceB.list()).data.map((r) => r.id)).toEqual([keep.id]);
  });

  it('pulls incrementally with _since and the saved lastModified', async () => {
    await sharedNote('one');
    const before = deviceB.lastModified!;
    expect(before).toBeGreaterThan(0);
    const { data: second } = await deviceA.create({ title: 'two' });
    await deviceA.sync();
    requested.length = 0;
    const result = await deviceB.sync();
    const pulls = requested.filter((line) => line.startsWith('GET ') && line.includes('/collections/notes/records'));
    expect(pulls[0]).toContain(`_since=${before}`);
    expect(result.created.map((r: Note) => r.id)).toEqual([second.id]);
    expect(deviceB.lastModified).toBeGreaterThan(before);
    // nothing changed: an empty pull, and the timestamp stays
    const idle = await deviceB.sync();
    expect([idle.created, idle.updated, idle.deleted, idle.published, idle.conflicts]).toEqual([[], [], [], [], []]);
    expect(idle.lastModified).toBe(deviceB.lastModified);
  });
});

describe('kinto.js: conflicts', () => {
  /** Both devices modify the same synced note offline; A publishes first. */
  async function divergent(): Promise<{ id: string; serverVersion: number }> {
    const note = await sharedNote('base');
    await deviceA.update({ ...(await deviceA.get(note.id)).data, title: 'A version' });
    await deviceB.update({ ...(await deviceB.get(note.id)).data, title: 'B version' });
    await deviceA.sync();
    const [onServer] = await serverRecords();
    expect(onServer.title).toBe('A version');
    return { id: note.id, serverVersion: onServer.last_modified! };
  }

  it('reports an incoming conflict with the MANUAL strategy and accepts a resolution', async () => {
    const { id, serverVersion } = await divergent();
    const lastSynced = deviceB.lastModified;
    const result = await deviceB.sync({ strategy: MANUAL });
    expect(result.ok).toBe(false);
    expect(result.conflicts).toHaveLength(1);
    const [conflict] = result.conflicts;
    expect(conflict.type).toBe('incoming');
    expect(conflict.local).toMatchObject({ id, title: 'B version', _status: 'updated' });
    expect(conflict.remote).toMatchObject({ id, title: 'A version', last_modified: serverVersion });
    expect(deviceB.lastModified).toBe(lastSynced); // not persisted while in conflict
    expect((await serverRecords())[0].title).toBe('A version');

    await deviceB.resolve(conflict, { ...conflict.local, title: 'merged' });
    const after = await deviceB.sync({ strategy: MANUAL });
    expect(after.ok).toBe(true);
    expect(after.published).toEqual([expect.objectContaining({ id, title: 'merged' })]);
    expect((await serverRecords())[0].title).toBe('merged');
    await deviceA.sync();
    expect((await deviceA.get(id)).data.title).toBe('merged');
  });

  it('keeps the server version with SERVER_WINS', async () => {
    const { id, serverVersion } = await divergent();
    const result = await deviceB.sync({ strategy: SERVER_WINS });
    expect(result.ok).toBe(true);
    expect(result.conflicts).toEqual([]);
    expect(result.resolved).toHaveLength(1);
    expect(result.resolved[0]).toMatchObject({
      id,
      accepted: { id, title: 'A version', last_modified: serverVersion },
      rejected: { id, title: 'B version', _status: 'updated' },
    });
    expect((await deviceB.get(id)).data).toMatchObject({ title: 'A version', _status: 'synced', last_modified: serverVersion });
    const [onServer] = await serverRecords();
    expect(onServer).toMatchObject({ title: 'A version', last_modified: serverVersion });
  });

  it('publishes the local version with CLIENT_WINS', async () => {
    const { id, serverVersion } = await divergent();
    const result = await deviceB.sync({ strategy: CLIENT_WINS });
    expect(result.ok).toBe(true);
    expect(result.resolved).toHaveLength(1);
    // (kinto.js pushes the resolution a second time with the stale timestamp; the server's 412
    // turns that into a second, self-resolving conflict, so only `accepted` is stable here)
    expect(result.resolved[0]).toMatchObject({ id, accepted: { id, title: 'B version' } });
    const [onServer] = await serverRecords();
    expect(onServer.title).toBe('B version');
    expect(onServer.last_modified).toBeGreaterThan(serverVersion);
    expect((await deviceB.get(id)).data).toMatchObject({ title: 'B version', _status: 'synced', last_modified: onServer.last_modified });
    const resultA = await deviceA.sync();
    expect(resultA.updated.map((u: { new: Note }) => u.new.title)).toEqual(['B version']);
  });

  it('detects an outgoing conflict when the server changes between pull and push', async () => {
    const note = await sharedNote('base');
    await deviceB.update({ ...(await deviceB.get(note.id)).data, title: 'B version' });
    // another writer modifies the record right before B's batch is sent: B's If-Match is stale
    beforeNextBatch = async () => {
      await admin.bucket(bucket).collection('notes').updateRecord({ id: note.id, title: 'racing write' });
    };
    const result = await deviceB.sync({ strategy: MANUAL });
    expect(result.ok).toBe(false);
    expect(result.conflicts).toHaveLength(1);
    expect(result.conflicts[0]).toMatchObject({
      type: 'outgoing',
      local: { id: note.id, title: 'B version' },
      remote: { id: note.id, title: 'racing write' },
    });
    expect((await serverRecords())[0].title).toBe('racing write');

    // the same race resolved in favour of the client
    beforeNextBatch = async () => {
      await admin.bucket(bucket).collection('notes').updateRecord({ id: note.id, title: 'racing again' });
    };
    const clientWins = await deviceB.sync({ strategy: CLIENT_WINS });
    expect(clientWins.ok).toBe(true);
    expect((await serverRecords())[0].title).toBe('B version');
  });
});

describe('kinto.js: permissions', () => {
  it('fails to sync for a user without access to the collection', async () => {
    const stranger = device('mallory', `device-m-${counter}`);
    await stranger.create({ title: 'intrusion' });
    await expect(stranger.sync()).rejects.toMatchObject({ message: expect.stringMatching(/^HTTP 403/) });
    expect(await serverRecords()).toEqual([]);
  });
});
