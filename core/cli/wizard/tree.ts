/**
 * kinto-wizard's YAML layout: buckets → {data, permissions, groups, collections → records},
 * each level keyed by object id.
 */
export type Data = Record<string, unknown>;
export type Permissions = Record<string, string[]>;

export interface ObjectNode {
  data?: Data;
  permissions?: Permissions;
}

export interface CollectionNode extends ObjectNode {
  records?: Record<string, ObjectNode>;
}

export interface BucketNode extends ObjectNode {
  collections?: Record<string, CollectionNode>;
  groups?: Record<string, ObjectNode>;
}

export interface Tree {
  buckets: Record<string, BucketNode>;
}

/** What a dump includes or a load applies (kinto-wizard's flags). */
export interface Selection {
  buckets: boolean;
  collections: boolean;
  groups: boolean;
  records: boolean;
  data: boolean;
  permissions: boolean;
  /** Only this bucket / collection. */
  bucket?: string;
  collection?: string;
}

export interface SelectionFlags {
  full?: boolean;
  buckets?: boolean;
  collections?: boolean;
  groups?: boolean;
  records?: boolean;
  data?: boolean;
  permissions?: boolean;
  bucket?: string;
  collection?: string;
}

/**
 * kinto-wizard's defaults: no resource flag means buckets, collections and groups (and, for a
 * load, the records the file holds); neither --data nor --permissions means both; --full is all.
 */
export function selectionFrom(flags: SelectionFlags, mode: 'dump' | 'load'): Selection {
  const anyResource = Boolean(flags.buckets || flags.collections || flags.groups || flags.records);
  const all = Boolean(flags.full) || !anyResource;
  const both = Boolean(flags.full) || (!flags.data && !flags.permissions);
  return {
    buckets: all || Boolean(flags.buckets),
    collections: all || Boolean(flags.collections),
    groups: all || Boolean(flags.groups),
    records: Boolean(flags.full || flags.records) || (mode === 'load' && !anyResource),
    data: both || Boolean(flags.data),
    permissions: both || Boolean(flags.permissions),
    bucket: flags.bucket,
    collection: flags.collection,
  };
}

export function sortedPermissions(permissions: Permissions | undefined): Permissions {
  const sorted: Permissions = {};
  for (const key of Object.keys(permissions ?? {}).sort()) sorted[key] = [...(permissions![key] ?? [])].sort();
  return sorted;
}

/** Fields the server owns: never compared nor sent back (a dump's timestamps are history). */
export function comparableData(data: Data | undefined): Data {
  const { last_modified: _lastModified, ...rest } = data ?? {};
  return rest;
}
