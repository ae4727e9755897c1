import type { FastifyInstance } from 'fastify';
import type { KintoCore } from '../../core/context.ts';
import type { ResourceEvent } from '../../core/events.ts';
import { definePlugin } from '../../core/plugin.ts';
import { isExcluded, recordEvent, targetsOf, TRACKED_RESOURCES } from './entries.ts';
import { historyResource } from './resource.ts';
import { historyCapability, readHistorySettings, type HistorySettings } from './settings.ts';
import { registerSnapshot } from './snapshot.ts';
import { HistoryTrimmer } from './trim.ts';

const trimmers = new WeakMap<KintoCore, HistoryTrimmer>();

/** The history trimmer of an app (tests wait for it with `idle()`). */
export function historyTrimmer(core: KintoCore): HistoryTrimmer | undefined {
  return trimmers.get(core);
}

/** After commit, tells the trimmer how many entries each scope received. */
function noteCommittedEntries(trimmer: HistoryTrimmer, settings: HistorySettings, events: ResourceEvent[]): void {
  for (const event of events) {
    const userId = event.payload.user_id;
    if (userId !== null && settings.excludedUserIds.has(userId)) continue;
    const added = new Map<string, { bucketUri: string; count: number }>();
    for (const target of targetsOf(event)) {
      if (isExcluded(target, settings)) continue;
      const counted = added.get(target.bucketUri) ?? { bucketUri: target.bucketUri, count: 0 };
      counted.count += 1;
      added.set(target.bucketUri, counted);
    }
    for (const { bucketUri, count } of added.values()) {
      const scope = trimmer.scopeFor(bucketUri, event.payload.resource_name, userId);
      if (scope) trimmer.noteEntries(scope, count);
    }
  }
}

function subscribe(app: FastifyInstance, core: KintoCore, settings: HistorySettings): void {
  core.events.subscribe({
    phase: 'transaction',
    resources: TRACKED_RESOURCES,
    async handle(events, scope) {
      const started = performance.now();
      for (const event of events) await recordEvent(event, scope, settings);
      core.metrics.timer('plugins.history.seconds', (performance.now() - started) / 1000);
    },
  });
  const trimmer = new HistoryTrimmer(core, settings, (error) => app.log.error({ err: error }, 'History trimming failed'));
  if (!trimmer.enabled) return;
  trimmers.set(core, trimmer);
  core.events.subscribe({
    phase: 'commit',
    resources: TRACKED_RESOURCES,
    async handle(events) {
      noteCommittedEntries(trimmer, settings, events);
    },
  });
  app.addHook('preClose', async () => {
    await trimmer.stop();
  });
}

/**
 * Kinto's history plugin: every change below a bucket is recorded as an entry of
 * `/buckets/{bid}/history`, readable by those who can read the changed object.
 */
export default definePlugin({
  name: 'history',
  aliases: ['kinto.plugins.history'],
  register(app, core) {
    const settings = readHistorySettings(core.settings);
    core.capabilities.add('history', historyCapability(settings));
    core.tree.history = {
      read: { bucket: ['write', 'read'], history: ['write', 'read'] },
      write: { bucket: ['write'], history: ['write'] },
    };
    core.resources.add('history', historyResource());
    subscribe(app, core, settings);
    registerSnapshot(app, core);
  },
});
