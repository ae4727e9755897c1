import { isDeepStrictEqual } from 'node:util';
import { CliError, isInteractive, progress, withPrompts } from '../common.ts';
import { dumpTree } from './dump.ts';
import { expectStatus, type Api } from './transport.ts';
import {
  comparableData,
  sortedPermissions,
  type CollectionNode,
  type ObjectNode,
  type Permissions,
  type Selection,
  type Tree,
} from './tree.ts';

export interface LoadOptions {
  selection: Selection;
  /** Overwrite without checking what exists (kinto-wizard's CLIENT_WINS). */
  force: boolean;
  dryRun: boolean;
  /** Delete the server's records that the file does not list. */
  deleteRecords: boolean;
}

interface Operation {
  kind: 'create' | 'update' | 'delete';
  method: 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
}

export interface LoadSummary {
  created: number;
  updated: number;
  deleted: number;
  unchanged: number;
}

/** Would a PATCH change the data? (kinto-wizard's `data_changed`, ignoring timestamps) */
function dataChanged(existing: ObjectNode['data'], wanted: ObjectNode['data']): boolean {
  const current = comparableData(existing);
  return !isDeepStrictEqual({ ...current, ...comparableData(wanted) }, current);
}

/** Would it change the permissions? The writer is always added to `write` by the server. */
function permissionsChanged(existing: Permissions | undefined, wanted: Permissions | undefined, userId: string): boolean {
  const patched: Permissions = { ...existing, ...wanted };
  patched.write = [...(patched.write ?? []), userId];
  const normalise = (permissions: Permissions) =>
    Object.fromEntries(
      Object.entries(permissions)
        .filter(([, principals]) => principals.length)
        .map(([name, principals]) => [name, [...new Set(principals)].sort()]),
    );
  return !isDeepStrictEqual(normalise(patched), normalise(existing ?? {}));
}

class Planner {
  readonly operations: Operation[] = [];
  unchanged = 0;
  readonly #options: LoadOptions;
  readonly #userId: string;

  constructor(options: LoadOptions, userId: string) {
    this.#options = options;
    this.#userId = userId;
  }

  /**
   * Creates a missing object, patches (or, for records, replaces) one that differs. Only what
   * the file states is compared and sent: a node without `permissions` leaves them alone.
   */
  upsert(path: string, wanted: ObjectNode, existing: ObjectNode | undefined, replace = false): void {
    const withData = this.#options.selection.data && wanted.data !== undefined;
    const withPermissions = this.#options.selection.permissions && wanted.permissions !== undefined;
    const body: Record<string, unknown> = {};
    if (withData) body.data = comparableData(wanted.data);
    if (withPermissions) body.permissions = sortedPermissions(wanted.permissions);
    if (!existing) {
      const headers = this.#options.force ? undefined : { 'If-None-Match': '*' };
      this.operations.push({ kind: 'create', method: 'PUT', path, body, headers });
      return;
    }
    const changed =
      (withData && dataChanged(existing.data, wanted.data)) ||
      (withPermissions && permissionsChanged(existing.permissions, wanted.permissions, this.#userId));
    if (!changed) this.unchanged++;
    else this.operations.push({ kind: 'update', method: replace ? 'PUT' : 'PATCH', path, body });
  }

  remove(path: string): void {
    this.operations.push({ kind: 'delete', method: 'DELETE', path });
  }
}

function selected(id: string, only: string | undefined): boolean {
  return only === undefined || only === id;
}

function planStructure(plan: Planner, tree: Tree, current: Tree, selection: Selection): void {
  for (const [bid, bucket] of Object.entries(tree.buckets ?? {})) {
    if (!selected(bid, selection.bucket)) continue;
    if (selection.collection && !bucket.collections?.[selection.collection]) continue;
    const existing = current.buckets[bid];
    if (selection.buckets) plan.upsert(`/buckets/${bid}`, bucket, existing);
    if (selection.groups) {
      for (const [gid, group] of Object.entries(bucket.groups ?? {})) {
        plan.upsert(`/buckets/${bid}/groups/${gid}`, group, existing?.groups?.[gid]);
      }
    }
    if (!selection.collections) continue;
    for (const [cid, collection] of Object.entries(bucket.collections ?? {})) {
      if (!selected(cid, selection.collection)) continue;
      plan.upsert(`/buckets/${bid}/collections/${cid}`, collection, existing?.collections?.[cid]);
    }
  }
}

/** Dumps do not list record permissions: they are read for the records whose file entry has some. */
async function withRecordPermissions(api: Api, path: string, record: ObjectNode | undefined, wanted: ObjectNode) {
  if (!record || wanted.permissions === undefined) return record;
  const response = await api.request('GET', path);
  expectStatus(response, [200], `GET ${path}`);
  return { ...record, permissions: (response.body as { permissions: Permissions }).permissions };
}

async function planRecords(api: Api, plan: Planner, tree: Tree, current: Tree, options: LoadOptions): Promise<string[]> {
  const deletions: string[] = [];
  for (const [bid, bucket] of Object.entries(tree.buckets ?? {})) {
    if (!selected(bid, options.selection.bucket)) continue;
    for (const [cid, collection] of Object.entries(bucket.collections ?? {}) as [string, CollectionNode][]) {
      if (!selected(cid, options.selection.collection)) continue;
      const path = `/buckets/${bid}/collections/${cid}/records`;
      const existing = current.buckets[bid]?.collections?.[cid];
      for (const [rid, record] of Object.entries(collection.records ?? {})) {
        const known = await withRecordPermissions(api, `${path}/${rid}`, existing?.records?.[rid], record);
        plan.upsert(`${path}/${rid}`, record, known, true);
      }
      if (options.deleteRecords && existing?.records && collection.records && Object.keys(collection.records).length) {
        for (const rid of Object.keys(existing.records)) {
          if (!(rid in collection.records)) deletions.push(`${path}/${rid}`);
        }
      }
    }
  }
  return deletions;
}

async function confirmDeletions(count: number, force: boolean): Promise<void> {
  if (force || count === 0) return;
  if (!isInteractive()) throw new CliError(`${count} records would be deleted: confirm with --force.`);
  const question = `Are you sure that you want to delete the following ${count} records? (y/N) `;
  const answer = await withPrompts((prompts) => prompts.ask(question)).catch(() => '');
  if (!['y', 'yes'].includes(answer.toLowerCase())) throw new CliError('Exiting');
}

/** Sends the operations in `/batch` requests of at most `batch_max_requests`. */
async function send(api: Api, operations: Operation[], chunkSize: number, label: string): Promise<void> {
  if (!operations.length) return;
  const bar = progress(label, operations.length);
  const failures: string[] = [];
  for (let start = 0; start < operations.length; start += chunkSize) {
    const chunk = operations.slice(start, start + chunkSize);
    const requests = chunk.map(({ method, path, body, headers }) => ({ method, path, body, headers }));
    const response = await api.request('POST', '/batch', { requests });
    expectStatus(response, [200], 'POST /batch');
    const answers = (response.body as { responses: { status: number; body?: { message?: string } }[] }).responses;
    answers.forEach((answer, index) => {
      if (answer.status >= 400) failures.push(`${chunk[index].method} ${chunk[index].path}: ${answer.status} ${answer.body?.message ?? ''}`);
    });
    bar.tick(chunk.length);
  }
  bar.done();
  if (failures.length) throw new CliError(`The server refused ${failures.length} operations:\n${failures.join('\n')}`);
}

function existingTree(api: Api, options: LoadOptions): Promise<Tree> | Tree {
  if (options.force && !options.deleteRecords) return { buckets: {} };
  const { bucket, collection, records } = options.selection;
  const everything = { buckets: true, collections: true, groups: true, records, data: true, permissions: true };
  return dumpTree(api, { ...everything, bucket, collection }, progress('Reading the server'));
}

/**
 * `kinto load FILE`: makes the server hold what the file describes, creating what is missing
 * and patching what differs, so that loading the same file twice changes nothing (kinto-wizard).
 */
export async function loadTree(api: Api, tree: Tree, options: LoadOptions): Promise<LoadSummary> {
  const hello = await api.request('GET', '/');
  expectStatus(hello, [200], 'GET /');
  const helloBody = hello.body as { user?: { id: string }; settings?: { batch_max_requests?: number } };
  const plan = new Planner(options, helloBody.user?.id ?? 'system.Everyone');
  const current = await existingTree(api, options);
  planStructure(plan, tree, current, options.selection);
  const structure = plan.operations.splice(0);
  const deletions = options.selection.records ? await planRecords(api, plan, tree, current, options) : [];
  await confirmDeletions(deletions.length, options.force);
  for (const path of deletions) plan.remove(path);
  const records = plan.operations;
  const all = [...structure, ...records];
  if (options.dryRun) {
    for (const operation of all) console.log(`would ${operation.method} ${operation.path}`);
  } else {
    const chunkSize = helloBody.settings?.batch_max_requests || 25;
    await send(api, structure, chunkSize, 'Buckets, groups and collections');
    await send(api, records, chunkSize, 'Records');
  }
  const count = (kind: Operation['kind']) => all.filter((operation) => operation.kind === kind).length;
  return { created: count('create'), updated: count('update'), deleted: count('delete'), unchanged: plan.unchanged };
}
