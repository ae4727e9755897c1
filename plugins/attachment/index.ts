/**
 * kinto-attachment: files attached to records (`POST`/`DELETE
 * /buckets/{bid}/collections/{cid}/records/{rid}/attachment`, multipart), stored on local
 * disk (`attachment.base_path`) or in an S3 bucket (`attachment.aws.*`), with the record's
 * `attachment` metadata `{filename, location, hash, mimetype, size}`.
 *
 * Differences from kinto-attachment, on purpose: nothing is deleted before the new file
 * and the record are saved (a refused upload keeps the old file); plural deletes remove
 * their records' files too; `DELETE …/attachment` on a missing record is a 404 (it created
 * the record); the metadata guard answers errno 109 (Kinto's had errno 999). Google Cloud
 * Storage is not supported.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import multipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { definePlugin } from '../../core/plugin.ts';
import { cascadeDeletes, metadataGuard } from './listeners.ts';
import { ATTACHMENT_SETTINGS, createFileStore, readAttachmentConfig } from './settings.ts';
import type { FileStore } from './stores/types.ts';
import { attachmentHandler, type AttachmentContext } from './views.ts';

const ROUTE = '/v1/buckets/:bucket_id/collections/:collection_id/records/:id/attachment';
const HEARTBEAT_CONTENT = '{"test": "write"}';

/** Writes then deletes a probe file (kinto-attachment's `heartbeat-test/heartbeat.<ext>`); true in readonly mode. */
async function ping(store: FileStore, extensions: ReadonlySet<string>, readonly: boolean): Promise<boolean> {
  if (readonly) return true;
  const extension = extensions.size === 0 || extensions.has('json') ? 'json' : [...extensions][0];
  const folder = await mkdtemp(join(tmpdir(), 'kinto-attachment-ping-'));
  let location: string | null = null;
  try {
    const path = join(folder, 'probe');
    await writeFile(path, HEARTBEAT_CONTENT);
    const probe = { path, size: HEARTBEAT_CONTENT.length, mimetype: 'application/octet-stream' };
    location = await store.save(probe, { folder: 'heartbeat-test', name: `heartbeat.${extension}`, replace: true });
    return true;
  } catch {
    return false;
  } finally {
    if (location !== null) await store.delete(location).catch(() => {});
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * A base URL given as a path (`/attachments/`) gets the public origin (`http_host`, with
 * `http_scheme`, default https) when one is configured: locations written in records and the
 * capability then point at the public host, as every other URL the server writes.
 */
export function withPublicOrigin(url: string | null, scheme: string, host: string): string | null {
  if (!url || !url.startsWith('/') || url.startsWith('//') || !host) return url;
  return `${scheme || 'https'}://${host}${url}`;
}

function registerRoute(app: FastifyInstance, ctx: AttachmentContext): void {
  // Multipart only on this route: everywhere else a form is still a 415.
  app.register(async (scope) => {
    await scope.register(multipart, {
      limits: { fileSize: Infinity, files: 2, fields: 10, parts: 12, fieldSize: 8 * 1024 * 1024 },
    });
    scope.route({
      method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      url: ROUTE,
      exposeHeadRoute: false,
      handler: attachmentHandler(ctx),
    });
  });
}

export default definePlugin({
  name: 'attachment',
  aliases: ['kinto_attachment'],
  settings: ATTACHMENT_SETTINGS,
  register(app, core, settings) {
    const { store, defaultBaseUrl } = createFileStore(settings);
    const publicOrigin = (url: string | null) => withPublicOrigin(url, core.settings.str('http_scheme', ''), core.settings.str('http_host', ''));
    const config = readAttachmentConfig(
      {
        ...settings,
        base_url: publicOrigin(settings.base_url || defaultBaseUrl) ?? '',
        'extra.base_url': publicOrigin(settings['extra.base_url']),
      },
      core.settings,
    );
    const ctx: AttachmentContext = {
      core,
      config,
      store,
      ownWrites: new WeakSet(),
      log: { error: (details, message) => app.log.error(details, message) },
    };
    core.capabilities.add('attachments', {
      description: 'Add file attachments to records',
      url: 'https://github.com/Kinto/kinto-attachment/',
      version: core.version,
      base_url: config.advertisedBaseUrl,
    });
    const readonly = core.settings.bool('readonly', false);
    core.heartbeats.add('attachments', () => ping(store, config.extensions, readonly));
    core.events.subscribe(metadataGuard(ctx));
    core.events.subscribe(cascadeDeletes(ctx));
    registerRoute(app, ctx);
    app.addHook('onClose', async () => store.close?.());
  },
});
