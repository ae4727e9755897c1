import type { KintoCore } from '../../core/context.ts';
import { definePlugin } from '../../core/plugin.ts';

/** The resource types Kinto 26 counts, whichever plugins store them. */
const COUNTED_RESOURCES = ['account', 'bucket', 'group', 'collection', 'record', 'history', 'attachments'];

interface Counters {
  objects: Record<string, number>;
  tombstones: Record<string, number>;
}

/** Objects and tombstones per resource type, over every parent; zeros are left out (as Kinto). */
async function countEverything(core: KintoCore): Promise<Counters> {
  const counters: Counters = { objects: {}, tombstones: {} };
  for (const resource of COUNTED_RESOURCES) {
    const [live, withTombstones] = await Promise.all([
      core.storage.count(resource, '*'),
      core.storage.count(resource, '*', [], { includeDeleted: true }),
    ]);
    if (live > 0) counters.objects[resource] = live;
    if (withTombstones - live > 0) counters.tombstones[resource] = withTombstones - live;
  }
  return counters;
}

/** Kinto's counters plugin: `GET /v1/__counters__`, public, how many objects are stored. */
export default definePlugin({
  name: 'counters',
  aliases: ['kinto.plugins.counters'],
  register(app, core) {
    core.capabilities.add('counters_endpoint', {
      description: 'The __counters__ endpoint exposes how many objects are stored.',
      url: 'https://kinto.readthedocs.io/en/latest/api/1.x/counters.html',
    });
    app.get('/v1/__counters__', () => countEverything(core));
  },
});
