import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { Client } from './app.ts';

/** Asserts Kinto's error body: `{code, errno, error, message?}` with the given status and errno. */
export function expectError(
  response: LightMyRequestResponse,
  status: number,
  errno: number,
  expected: { error?: string; message?: string } = {},
): Record<string, unknown> {
  expect(response.statusCode, response.body).toBe(status);
  const body = response.json();
  expect(body.code).toBe(status);
  expect(body.errno).toBe(errno);
  expect(typeof body.error).toBe('string');
  if (expected.error !== undefined) expect(body.error).toBe(expected.error);
  if (expected.message !== undefined) expect(body.message).toBe(expected.message);
  return body;
}

/** A 400 "Invalid parameters" (errno 107) whose first detail has the given location/name. */
export function expectInvalid(
  response: LightMyRequestResponse,
  location: string,
  name?: string | null,
): Record<string, unknown> {
  const body = expectError(response, 400, 107, { error: 'Invalid parameters' });
  const details = body.details as { location: string; name: string | null }[];
  expect(details[0].location).toBe(location);
  if (name !== undefined) expect(details[0].name).toBe(name);
  return body;
}

/** The integer in an `ETag: "123"` header. */
export function etagOf(response: LightMyRequestResponse): number {
  const raw = String(response.headers.etag ?? '');
  expect(raw).toMatch(/^"\d+"$/);
  return Number(raw.slice(1, -1));
}

export const RECORDS = '/buckets/beers/collections/barley/records';

/** Creates bucket `beers` and collection `barley` (with the given ACLs), owned by the client's user. */
export async function createCollection(
  api: Client,
  bucketPermissions?: Record<string, string[]>,
  collectionPermissions?: Record<string, string[]>,
): Promise<void> {
  const bucket = await api.put('/buckets/beers', bucketPermissions ? { permissions: bucketPermissions } : {});
  expect(bucket.statusCode, bucket.body).toBeLessThan(300);
  const body = collectionPermissions ? { permissions: collectionPermissions } : {};
  const collection = await api.put('/buckets/beers/collections/barley', body);
  expect(collection.statusCode, collection.body).toBeLessThan(300);
}

/** Posts records into `RECORDS` and returns their stored versions, in creation order. */
export async function createRecords(api: Client, records: Record<string, unknown>[]): Promise<Record<string, unknown>[]> {
  const created = [];
  for (const data of records) {
    const response = await api.post(RECORDS, { data });
    expect(response.statusCode, response.body).toBe(201);
    created.push(response.json().data);
  }
  return created;
}

export function ids(response: LightMyRequestResponse): string[] {
  return response.json().data.map((o: { id: string }) => o.id);
}

/** The caller's prefixed user id, as the hello view reports it. */
export async function userIdOf(api: Client): Promise<string> {
  return (await api.get('/')).json().user.id;
}
