/**
 * Static export of the read path: every watched collection's changeset, the monitor
 * changeset, `__broadcasts__` and the local signer's certificate chains, written as files
 * laid out like the API URLs (`{folder}/v1/buckets/main/collections/cfr/changeset`...), so
 * that a plain web server or CDN serves the same bodies with no database at all.
 * Querystrings (`_expected`, `_since`) are for cache busting and are ignored by a static
 * server: it serves full changesets, which clients accept as well.
 */
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Settings } from '../../core/settings/load.ts';
import type { Storage } from '../../core/storage/types.ts';
import { collectionChangeset, monitorChangeset } from './changeset.ts';
import { CHANGES_COLLECTION, MONITOR_BUCKET, changeEntries } from './monitored.ts';
import { boundLimit, type ChangesetQuery } from './query.ts';

const FULL: ChangesetQuery = { expected: '0', since: null, limit: null, bucket: null, collection: null };

export interface ExportSummary {
  collections: number;
  files: string[];
}

/** Writes next to the target then renames: a web server never serves half a file. */
function writeAtomically(path: string, body: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, body);
  renameSync(temporary, path);
}

function changesetPath(folder: string, bid: string, cid: string): string {
  return join(folder, 'v1', 'buckets', bid, 'collections', cid, 'changeset');
}

/** Certificate chains named by `signer[.…].ecdsa.certificate_chain`, served as `/v1/cert-chains/{file}`. */
function exportCertificateChains(settings: Settings, folder: string): string[] {
  const written: string[] = [];
  for (const key of settings.keys()) {
    if (!/^signer\.(.+\.)?ecdsa\.certificate_chain$/.test(key)) continue;
    const source = settings.str(key, '');
    if (!source) continue;
    const target = join(folder, 'v1', 'cert-chains', basename(source));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(source, `${target}.tmp`);
    renameSync(`${target}.tmp`, target);
    written.push(target);
  }
  return written;
}

/**
 * Exports the given watched collections (all when `only` is absent), then the monitor:
 * a client that sees a timestamp in the monitor always finds the matching changeset.
 */
export async function exportStatic(
  storage: Storage,
  settings: Settings,
  folder: string,
  only?: ReadonlySet<string>,
): Promise<ExportSummary> {
  const limit = boundLimit(null, settings.optionalInt('paginate_by'), settings.int('storage_max_fetch_size', 10000));
  const files: string[] = [];
  const entries = await changeEntries(storage, settings);
  let collections = 0;
  for (const { bucket, collection } of entries) {
    if (only && !only.has(`${bucket}/${collection}`)) continue;
    const { lastModified: _header, ...body } = await collectionChangeset(storage, bucket, collection, FULL, limit);
    const path = changesetPath(folder, bucket, collection);
    writeAtomically(path, JSON.stringify(body));
    files.push(path);
    collections += 1;
  }
  files.push(...exportCertificateChains(settings, folder));
  const { lastModified: _monitorHeader, ...monitor } = await monitorChangeset({ storage, settings }, FULL, limit);
  const monitorPath = changesetPath(folder, MONITOR_BUCKET, CHANGES_COLLECTION);
  writeAtomically(monitorPath, JSON.stringify(monitor));
  files.push(monitorPath);
  const published = entries.filter((e) => !`${e.bucket}/${e.collection}`.includes('-preview'));
  const newest = published.reduce((max, e) => Math.max(max, e.last_modified), 0);
  const broadcasts = join(folder, 'v1', '__broadcasts__');
  writeAtomically(broadcasts, JSON.stringify({ broadcasts: { 'remote-settings/monitor_changes': `"${newest}"` }, code: 200 }));
  files.push(broadcasts);
  return { collections, files };
}
