import type { ComponentMigrations } from '../../sql/migrations.ts';

/**
 * Objects and tombstones share a table, with partial indexes so that listings of live
 * objects never walk tombstones. Text columns use the "C" collation so ids and parent
 * prefixes compare byte-wise, as the memory backend does.
 */
export const STORAGE_MIGRATIONS: ComponentMigrations = {
  component: 'storage',
  migrations: [
    {
      version: 1,
      name: 'initial',
      sql: `
CREATE TABLE IF NOT EXISTS objects (
  parent_id TEXT COLLATE "C" NOT NULL,
  resource_name TEXT COLLATE "C" NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  last_modified BIGINT NOT NULL,
  deleted BOOLEAN NOT NULL DEFAULT FALSE,
  data JSONB NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (parent_id, resource_name, id)
);
CREATE INDEX IF NOT EXISTS objects_live_by_time ON objects (parent_id, resource_name, last_modified DESC) WHERE NOT deleted;
CREATE INDEX IF NOT EXISTS objects_tombstones_by_time ON objects (parent_id, resource_name, last_modified DESC) WHERE deleted;
CREATE INDEX IF NOT EXISTS objects_data ON objects USING GIN (data jsonb_path_ops);
CREATE TABLE IF NOT EXISTS timestamps (
  parent_id TEXT COLLATE "C" NOT NULL,
  resource_name TEXT COLLATE "C" NOT NULL,
  last_modified BIGINT NOT NULL,
  PRIMARY KEY (parent_id, resource_name)
);
`,
    },
    {
      version: 2,
      name: 'live objects by id',
      // `_sort=id`, id ranges and their keyset pages walk live objects only, in index order.
      sql: `CREATE INDEX IF NOT EXISTS objects_live_by_id ON objects (parent_id, resource_name, id) WHERE NOT deleted;`,
    },
  ],
};
