import type { Capability } from '../../core/context.ts';
import type { Settings } from '../../core/settings/load.ts';
import { SettingsError } from '../../core/settings/ini.ts';

/** The `history.*` settings, read once at start-up. */
export interface HistorySettings {
  /** Bucket, collection, group or record URIs whose changes are not tracked. */
  readonly excludedResources: ReadonlySet<string>;
  readonly excludedUserIds: ReadonlySet<string>;
  /** Entries kept per bucket and resource type (and user, see `trimUserIds`); 0 or less: no trimming. */
  readonly trimMaxCount: number;
  /** Only these users' entries are trimmed, each separately; empty: everybody's, together. */
  readonly trimUserIds: readonly string[];
  /** Trim only once this many entries above the maximum have piled up. */
  readonly trimThreshold: number;
  readonly explicitPermissions: boolean;
}

export function readHistorySettings(settings: Settings): HistorySettings {
  return {
    excludedResources: new Set(settings.list('history.exclude_resources')),
    excludedUserIds: new Set(settings.list('history.exclude_user_ids')),
    trimMaxCount: settings.int('history.auto_trim_max_count', -1),
    trimUserIds: settings.list('history.auto_trim_user_ids'),
    trimThreshold: settings.int('history.auto_trim_threshold', 100),
    explicitPermissions: settings.bool('explicit_permissions', true),
  };
}

/** Kinto's `uri_to_dict`: `/buckets/b/collections/c` → `{bucket: 'b', collection: 'c'}`. */
function uriToDict(uri: string): Record<string, string> {
  const parts = uri.split('/');
  if (parts.length === 3 && parts[1] === 'buckets') return { bucket: parts[2] };
  if (parts.length === 5 && parts[1] === 'buckets') {
    return parts[3] === 'collections' ? { bucket: parts[2], collection: parts[4] } : { bucket: parts[2], group: parts[4] };
  }
  if (parts.length === 7 && parts[1] === 'buckets' && parts[3] === 'collections') {
    return { bucket: parts[2], collection: parts[4], record: parts[6] };
  }
  throw new SettingsError(`history.exclude_resources: invalid URI '${uri}'`);
}

/** The `history` capability, with the trimming and exclusion settings when set (as Kinto). */
export function historyCapability(settings: HistorySettings): Capability {
  const capability: Capability = {
    description: 'Track changes on data.',
    url: 'http://kinto.readthedocs.io/en/latest/api/1.x/history.html',
  };
  if (settings.trimMaxCount > 0) capability.auto_trim_max_count = settings.trimMaxCount;
  if (settings.trimUserIds.length) capability.auto_trim_user_ids = [...settings.trimUserIds];
  if (settings.excludedResources.size) capability.excluded_resources = [...settings.excludedResources].map(uriToDict);
  return capability;
}
