import type { IdGenerator, ResourceDefinition } from '../resource/definition.ts';
import { ID_GENERATORS, nameGenerator, relaxedUuidGenerator } from '../resource/id-generators.ts';
import type { Settings } from '../settings/load.ts';
import { SettingsError } from '../settings/ini.ts';
import { bucketResource } from './buckets.ts';
import { collectionResource } from './collections.ts';
import { groupResource } from './groups.ts';
import { recordResource } from './records.ts';

function generator(settings: Settings, resource: string, fallback: IdGenerator): IdGenerator {
  const name = settings.str(`${resource}_id_generator`, '');
  if (!name) return fallback;
  const found = ID_GENERATORS[name];
  if (!found) throw new SettingsError(`Unknown ${resource}_id_generator '${name}'`);
  return found;
}

/** The four resources of Kinto's tree: buckets, collections, groups, records. */
export function kintoResources(settings: Settings): ResourceDefinition[] {
  return [
    bucketResource(generator(settings, 'bucket', nameGenerator)),
    collectionResource(generator(settings, 'collection', nameGenerator)),
    groupResource(generator(settings, 'group', nameGenerator)),
    recordResource(generator(settings, 'record', relaxedUuidGenerator)),
  ];
}
