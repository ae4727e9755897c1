import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyRequest } from 'fastify';
import type {} from '@fastify/multipart';
import { badRequest, invalidParameters, KintoError } from '../../core/errors.ts';
import { assertNoNul } from '../../core/http/content.ts';
import { isPlainObject } from '../../core/resource/call.ts';
import type { JsonObject } from '../../core/filters/ast.ts';

export const FILE_FIELD = 'attachment';
const FORM_FIELDS = ['data', 'permissions'] as const;

/** One uploaded file, streamed to a private temporary folder while hashed and counted. */
export interface Upload {
  readonly path: string;
  readonly filename: string;
  readonly partMimetype: string;
  readonly size: number;
  readonly sha256: string;
  /** Bytes beyond the limit were counted, not written: the upload is refused. */
  readonly tooLarge: boolean;
}

export interface ParsedForm {
  readonly upload: Upload | null;
  /** The file field sent as plain text: kinto-attachment's "Filename is required." */
  readonly fileFieldWithoutFile: boolean;
  readonly data: JsonObject | undefined;
  readonly permissions: unknown;
  /** The temporary folder holding the upload; removed by `discard`. */
  readonly folder: string;
}

export function assertMultipart(request: FastifyRequest): void {
  if (!String(request.headers['content-type'] ?? '').toLowerCase().includes('multipart/form-data')) {
    throw new KintoError('BAD_REQUEST', { message: 'Content-Type should be multipart/form-data' });
  }
}

/** Streams the file part to disk; past `limit` bytes it only counts (the error names the full size). */
async function receiveFile(stream: NodeJS.ReadableStream, path: string, limit: number | null) {
  const hash = createHash('sha256');
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (limit !== null && size > limit) return done();
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(stream, counter, createWriteStream(path, { flags: 'wx' }));
  return { size, sha256: hash.digest('hex'), tooLarge: limit !== null && size > limit };
}

function parseJsonField(name: string, text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest(`body: ${name} is not valid JSON (${(error as Error).message})`);
  }
  // What the record endpoint refuses in a JSON body (no database can store U+0000).
  assertNoNul(value);
  return value;
}

/** A parser failure (truncated body, too many parts...) is the client's: 400, as kinto-attachment's ValueError. */
function formError(error: unknown): KintoError {
  if (error instanceof KintoError) return error;
  return new KintoError('BAD_REQUEST', { message: `body: ${(error as Error).message}` });
}

/** Reads the whole form: the `attachment` file, `data` and `permissions`; anything else is refused. */
export async function readForm(request: FastifyRequest, maxSizeBytes: number | null): Promise<ParsedForm> {
  const folder = await mkdtemp(join(tmpdir(), 'kinto-attachment-'));
  const fields: Record<string, string> = {};
  let upload: Upload | null = null;
  let fileFieldWithoutFile = false;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if ((FORM_FIELDS as readonly string[]).includes(part.fieldname)) {
          throw badRequest(`body: '${part.fieldname}' field should be passed as form data, not files`);
        }
        if (part.fieldname !== FILE_FIELD || upload) throw badRequest(`body: '${part.fieldname}' not in ('data', 'permissions')`);
        const path = join(folder, 'upload');
        const received = await receiveFile(part.file, path, maxSizeBytes);
        upload = { path, filename: part.filename, partMimetype: part.mimetype, ...received };
      } else if (part.fieldname === FILE_FIELD) {
        fileFieldWithoutFile = true;
      } else {
        fields[part.fieldname] = String(part.value);
      }
    }
    return { upload, fileFieldWithoutFile, folder, ...checkFields(fields) };
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw formError(error);
  }
}

function checkFields(fields: Record<string, string>): { data: JsonObject | undefined; permissions: unknown } {
  const unknown = Object.keys(fields).find((name) => !(FORM_FIELDS as readonly string[]).includes(name));
  if (unknown !== undefined) throw badRequest(`body: '${unknown}' not in ('data', 'permissions')`);
  const data = fields.data === undefined ? undefined : parseJsonField('data', fields.data);
  if (data !== undefined && !isPlainObject(data)) {
    throw invalidParameters('body', 'data', 'data should be a JSON object');
  }
  const permissions = fields.permissions === undefined ? undefined : parseJsonField('permissions', fields.permissions);
  return { data: data as JsonObject | undefined, permissions };
}

export async function discard(form: ParsedForm): Promise<void> {
  await rm(form.folder, { recursive: true, force: true });
}
