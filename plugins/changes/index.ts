import type { FastifyInstance } from 'fastify';
import type { KintoCore } from '../../core/context.ts';
import type { ResourceEvent } from '../../core/events.ts';
import { definePlugin, type PluginCommand } from '../../core/plugin.ts';
import { addWarning } from '../../core/settings/load.ts';
import { registerBroadcasts } from './broadcasts.ts';
import { registerChangesets } from './changeset.ts';
import { registerMonitorRecords } from './monitor-records.ts';
import { exportStatic } from './static-export.ts';

/** Cores this plugin was registered on: `kinto_remote_settings` may include it a second time. */
const registered = new WeakSet<KintoCore>();

/** `kinto export-changesets [folder]`: the static read path (see static-export.ts). */
export const EXPORT_COMMAND: PluginCommand = {
  name: 'export-changesets',
  description: 'Write the public watched changesets, the monitor changeset and __broadcasts__ as static files (folder or changes.static_export_path), removing stale ones',
  async run(argv, context) {
    const folder = argv[0] ?? context.config.settings.str('changes.static_export_path', '');
    if (!folder) {
      process.stderr.write('Usage: kinto export-changesets <folder> (or set changes.static_export_path)\n');
      return 2;
    }
    const { storage, permission, cache } = await context.openBackends();
    // The server's cache and configuration: its debounced `__broadcasts__`, its signer's environment.
    const summary = await exportStatic({ storage, permission, cache, settings: context.config.settings, config: context.config }, folder);
    const removed = summary.removed.length ? `, ${summary.removed.length} stale changesets removed` : '';
    process.stdout.write(`${summary.collections} changesets and the monitor written to ${folder}${removed}\n`);
    return 0;
  },
};

/**
 * Collections whose signature changed, or that were deleted, in committed events; null
 * when nothing calls for an export. A deleted bucket exports nothing but lets the export
 * remove its collections' files (the core sends no event for each of them).
 */
function resigned(events: ResourceEvent[]): Set<string> | null {
  const changed = new Set<string>();
  let bucketDeleted = false;
  for (const event of events) {
    if (event.payload.resource_name === 'bucket') {
      bucketDeleted ||= event.payload.action === 'delete';
      continue;
    }
    for (const { new: current, old } of event.impacted) {
      const moved = event.payload.action === 'delete' || JSON.stringify(current?.signatures) !== JSON.stringify(old?.signatures);
      if (moved) changed.add(`${event.payload.bucket_id}/${current?.id ?? old?.id}`);
    }
  }
  return changed.size > 0 || bucketDeleted ? changed : null;
}

/**
 * With `changes.static_export_path`, every new signature is exported once committed, and
 * the file of a deleted collection removed (the export sweeps what it no longer publishes).
 */
function exportAfterSignatures(app: FastifyInstance, core: KintoCore): void {
  const folder = core.settings.str('changes.static_export_path', '');
  if (!folder) return;
  core.events.subscribe({
    phase: 'commit',
    resources: ['collection', 'bucket'],
    async handle(events) {
      const changed = resigned(events);
      if (changed === null) return;
      try {
        await exportStatic(core, folder, changed);
      } catch (error) {
        // The write is committed: a failed export is logged, not turned into an error response.
        app.log.error({ err: error }, 'static export failed');
      }
    },
  });
}

/** Logged once at start-up (core/app.ts logs `config.warnings`). */
export const PROCESS_CACHE_WARNING =
  'changes: the cache is an in-process memory cache, so each process keeps its own __broadcasts__ debounce: ' +
  'this is only correct for a single process (not `kinto start --workers N`, not several servers). ' +
  'Set kinto.cache_backend = kinto.core.cache.postgresql (with a database user that may write the cache table) to share it.';

/**
 * The `__broadcasts__` debounce is shared through the cache; a memory one silently gives
 * each worker or node its own, and Push is woken up more often than the interval allows.
 * Plugins are not told how many workers run (core/cli/cluster.ts keeps the count), so any
 * memory cache is warned about, including the one a read-only cache user falls back to.
 */
function warnAboutProcessCache(core: KintoCore): void {
  if (core.cache.name === 'memory') addWarning(core.config, PROCESS_CACHE_WARNING);
}

export function registerChanges(app: FastifyInstance, core: KintoCore): void {
  if (registered.has(core)) return;
  registered.add(core);
  warnAboutProcessCache(core);
  core.capabilities.add('changes', {
    description: 'Track modifications of records in Kinto and store the collection timestamps into a specific bucket and collection.',
    url: 'http://kinto.readthedocs.io/en/latest/tutorials/synchronisation.html#polling-for-remote-changes',
    version: core.version,
    collections: core.settings.list('changes.resources'),
  });
  registerMonitorRecords(app, core);
  registerChangesets(app, core);
  registerBroadcasts(app, core);
  exportAfterSignatures(app, core);
}

/**
 * Remote Settings' changes feed: the `monitor/changes` virtual collection, the
 * `/changeset` endpoints Firefox polls through a CDN, and `/__broadcasts__` for Push.
 */
export default definePlugin({
  name: 'changes',
  aliases: ['kinto_changes', 'kinto_remote_settings.changes'],
  cli: [EXPORT_COMMAND],
  register: registerChanges,
});
