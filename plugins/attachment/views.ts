import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KintoCore } from '../../core/context.ts';
import { badRequest, invalidParameters, methodNotAllowed } from '../../core/errors.ts';
import { assertNoNul } from '../../core/http/content.ts';
import type { JsonObject } from '../../core/filters/ast.ts';
import type { ResourceResult } from '../../core/resource/call.ts';
import { objectPatch, objectPut } from '../../core/resource/object.ts';
import { serveResource, type Handler } from '../../core/resource/routes.ts';
import { inUnitOfWork, type UnitOfWork } from '../../core/unit-of-work.ts';
import { extensionAllowed, folderFor, pythonExtname, storedFilename } from './filenames.ts';
import { addLink, linksOf, recordUris, removeLinks } from './links.ts';
import { optionsFor, type AttachmentConfig, type ResourceOptions } from './settings.ts';
import { publicUrl, type FileStore } from './stores/types.ts';
import { assertMultipart, discard, readForm, type ParsedForm, type Upload } from './upload.ts';

export interface AttachmentContext {
  readonly core: KintoCore;
  readonly config: AttachmentConfig;
  readonly store: FileStore;
  /** Units of work writing attachment metadata themselves (the metadata guard lets them through). */
  readonly ownWrites: WeakSet<object>;
  readonly log: { error(details: object, message: string): void };
}

interface RecordParams {
  bucket_id: string;
  collection_id: string;
  id: string;
}

export interface AttachmentMetadata extends JsonObject {
  filename: string;
  location: string;
  hash: string;
  mimetype: string;
  size: number;
}

const noop: Handler = async () => ({ status: 200, headers: {} });

/** `check`: authorization only; `upsert`: PATCH or PUT (creates the record); `patch`: PATCH (404 when missing). */
type CallMode = 'check-upsert' | 'check-patch' | 'upsert' | 'patch';

/** Runs the record endpoint's checks (or write) as the caller: PATCH when the record exists, else PUT. */
async function asRecordCall(ctx: AttachmentContext, request: FastifyRequest, uow: UnitOfWork, body: unknown, mode: CallMode) {
  const params = request.params as RecordParams;
  const uris = recordUris(params.bucket_id, params.collection_id, params.id);
  const write = !mode.startsWith('check');
  const existing = await uow.storage.get('record', uris.collection_uri, params.id, { forUpdate: write });
  const method = existing || mode.endsWith('patch') ? 'PATCH' : 'PUT';
  const handler = write ? (method === 'PATCH' ? objectPatch : objectPut) : noop;
  const definition = ctx.core.resources.get('record')!;
  return serveResource(ctx.core, definition, request, uow, handler, { method, params: { ...params }, body, requestUri: uris.record_uri });
}

/** Authorization before reading the body: `write` on the record, or `record:create` on the collection. */
const authorize = (ctx: AttachmentContext, request: FastifyRequest, mode: 'check-upsert' | 'check-patch') =>
  inUnitOfWork(ctx.core, { readonly: true }, (uow) => asRecordCall(ctx, request, uow, {}, mode));

function checkUpload(form: ParsedForm, options: ResourceOptions, config: AttachmentConfig): Upload {
  const upload = form.upload;
  if (!upload) {
    if (form.fileFieldWithoutFile) throw invalidParameters('body', null, 'Filename is required.');
    throw badRequest('Attachment missing.');
  }
  if (!upload.filename) throw invalidParameters('body', null, 'Filename is required.');
  if (upload.tooLarge) {
    throw invalidParameters('body', null, `File size (${upload.size} bytes) exceeds the limit (${options.maxSizeBytes} bytes).`);
  }
  if (!extensionAllowed(upload.filename, config.extensions)) throw invalidParameters('body', null, 'File extension is not allowed.');
  return upload;
}

async function storeUpload(ctx: AttachmentContext, params: RecordParams, upload: Upload, options: ResourceOptions) {
  const mimetype = ctx.config.mimetypes[pythonExtname(upload.filename)] ?? upload.partMimetype;
  const name = storedFilename(upload.filename, { ...options, recordId: params.id });
  const folder = folderFor(ctx.config.folder, params);
  const location = await ctx.store.save({ path: upload.path, size: upload.size, mimetype }, { folder, name, replace: false });
  const metadata: AttachmentMetadata = {
    filename: upload.filename,
    location: publicUrl(ctx.config.baseUrl, location),
    hash: upload.sha256,
    mimetype,
    size: upload.size,
  };
  return { location, metadata };
}

/** Removes files no record points to any more; a failure only leaves a stray file, never loses data. */
export async function deleteFiles(ctx: AttachmentContext, locations: readonly string[]): Promise<void> {
  for (const location of locations) {
    await ctx.store.delete(location).catch((error: unknown) => ctx.log.error({ err: error, location }, 'attachment file not deleted'));
  }
}

/**
 * Writes the record's `attachment` field and the file link in one transaction; the files
 * it replaces are deleted only after commit (kinto-attachment deleted them first, and
 * lost them when the write then failed).
 */
async function saveMetadata(ctx: AttachmentContext, request: FastifyRequest, body: JsonObject, newLocation: string | null) {
  const mode = newLocation === null ? 'patch' : 'upsert';
  const params = request.params as RecordParams;
  const uris = recordUris(params.bucket_id, params.collection_id, params.id);
  return inUnitOfWork(ctx.core, { readonly: false }, async (uow) => {
    ctx.ownWrites.add(uow);
    const result = await asRecordCall(ctx, request, uow, body, mode);
    const previous = await linksOf(uow.storage, 'record_uri', uris.record_uri);
    await removeLinks(uow.storage, 'record_uri', uris.record_uri);
    if (newLocation !== null) await addLink(uow.storage, { location: newLocation, ...uris });
    return { result, replaced: previous.map((link) => link.location).filter((l) => l !== newLocation) };
  });
}

export async function postAttachment(ctx: AttachmentContext, request: FastifyRequest, reply: FastifyReply) {
  await authorize(ctx, request, 'check-upsert');
  assertMultipart(request);
  const params = request.params as RecordParams;
  const options = optionsFor(ctx.config, params.bucket_id, params.collection_id);
  const form = await readForm(request, options.maxSizeBytes || null);
  let saved: { result: ResourceResult; replaced: string[] };
  let metadata: AttachmentMetadata;
  try {
    const upload = checkUpload(form, options, ctx.config);
    // Part headers (file name, type) reach the record too: no U+0000 in them either.
    assertNoNul([upload.filename, upload.partMimetype]);
    const stored = await storeUpload(ctx, params, upload, options);
    metadata = stored.metadata;
    const body: JsonObject = { data: { ...(form.data ?? {}), attachment: metadata } };
    if (form.permissions !== undefined) body.permissions = form.permissions as JsonObject;
    saved = await saveMetadata(ctx, request, body, stored.location).catch(async (error: unknown) => {
      await deleteFiles(ctx, [stored.location]);
      throw error;
    });
  } finally {
    await discard(form);
  }
  if (!options.keepOldFiles) await deleteFiles(ctx, saved.replaced);
  const { ETag, 'Last-Modified': lastModified } = saved.result.headers;
  return reply
    .code(saved.result.status)
    .headers({ ETag, 'Last-Modified': lastModified, Location: `/v1${recordUris(params.bucket_id, params.collection_id, params.id).record_uri}` })
    .send(metadata);
}

/** Empties the record's `attachment` (404 for a missing record: kinto-attachment created one). */
export async function deleteAttachment(ctx: AttachmentContext, request: FastifyRequest, reply: FastifyReply) {
  const params = request.params as RecordParams;
  const options = optionsFor(ctx.config, params.bucket_id, params.collection_id);
  await authorize(ctx, request, 'check-patch');
  const saved = await saveMetadata(ctx, request, { data: { attachment: null } }, null);
  if (!options.keepOldFiles) await deleteFiles(ctx, saved.replaced);
  return reply.code(204).send();
}

export function attachmentHandler(ctx: AttachmentContext) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const readonly = ctx.core.settings.bool('readonly', false);
    if (request.method === 'POST' && !readonly) return postAttachment(ctx, request, reply);
    if (request.method === 'DELETE' && !readonly) return deleteAttachment(ctx, request, reply);
    throw methodNotAllowed();
  };
}
