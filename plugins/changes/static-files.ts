/**
 * The files of the static export (see static-export.ts): where each changeset lives, how
 * it is written, and how the changesets of collections no longer published are removed
 * without touching anything the export did not write.
 */
import { lstatSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CHANGES_COLLECTION, MONITOR_BUCKET } from './monitored.ts';

/** Kinto ids: a name outside this set was not written by the export (and could be `..`). */
const KINTO_ID = /^[A-Za-z0-9_-]+$/;

/**
 * A file changed this recently may come from a concurrent export (another worker) that saw
 * a newer state than ours: it is kept. The margin covers the coarse clock Linux stamps
 * files with, a tick behind `Date.now()`.
 */
export const FRESH_FILE_MARGIN_MS = 50;

let temporaries = 0;

/** Writes next to the target then renames: a web server never serves half a file. */
export function writeAtomically(path: string, body: string | Buffer): void {
  mkdirSync(dirname(path), { recursive: true });
  // Unique per write: two exports of one process may write the same file at once.
  const temporary = `${path}.${process.pid}.${(temporaries += 1)}.tmp`;
  writeFileSync(temporary, body);
  renameSync(temporary, path);
}

export function changesetPath(folder: string, bid: string, cid: string): string {
  return join(folder, 'v1', 'buckets', bid, 'collections', cid, 'changeset');
}

/** Copies the chain files (by served name, see signer-chains.ts) to `/v1/cert-chains/{name}`. */
export function exportCertificateChains(chains: ReadonlyMap<string, string>, folder: string): string[] {
  const written: string[] = [];
  for (const [name, source] of chains) {
    const target = join(folder, 'v1', 'cert-chains', name);
    writeAtomically(target, readFileSync(source));
    written.push(target);
  }
  return written;
}

/** Sub-directories with Kinto ids; `Dirent.isDirectory()` is false for symlinks, which are not followed. */
function idDirectories(folder: string): string[] {
  try {
    return readdirSync(folder, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && KINTO_ID.test(entry.name))
      .map((entry) => entry.name);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw error;
  }
}

interface ChangesetFile {
  bid: string;
  cid: string;
  path: string;
}

/** Every `v1/buckets/{bid}/collections/{cid}/changeset` of the folder but the monitor's. */
function changesetFiles(folder: string): ChangesetFile[] {
  const found: ChangesetFile[] = [];
  const buckets = join(folder, 'v1', 'buckets');
  for (const bid of idDirectories(buckets)) {
    for (const cid of idDirectories(join(buckets, bid, 'collections'))) {
      if (bid === MONITOR_BUCKET && cid === CHANGES_COLLECTION) continue;
      found.push({ bid, cid, path: changesetPath(folder, bid, cid) });
    }
  }
  return found;
}

/**
 * Whether the file is a regular file at its layout path with no symlink on the way (the
 * folder itself may be one): removing it never reaches outside the export.
 */
function ownedAndStale(folder: string, file: ChangesetFile, notAfter: number): boolean {
  try {
    const stat = lstatSync(file.path);
    if (!stat.isFile() || stat.mtimeMs >= notAfter) return false;
    return realpathSync(dirname(file.path)) === dirname(changesetPath(realpathSync(folder), file.bid, file.cid));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/** Removes the collection and bucket directories the removal left empty, up to `v1/buckets`. */
function pruneEmptyParents(path: string, levels: number): void {
  let directory = dirname(path);
  for (let level = 0; level < levels; level += 1, directory = dirname(directory)) {
    try {
      rmdirSync(directory); // never recursive: a directory holding anything else stays
    } catch {
      return;
    }
  }
}

/**
 * Removes the changeset files of collections not in `published` (deleted, no longer
 * watched, or no longer public), written before `startedAt`; returns their paths.
 */
export function removeStaleChangesets(folder: string, published: ReadonlySet<string>, startedAt: number): string[] {
  const removed: string[] = [];
  for (const file of changesetFiles(folder)) {
    if (published.has(`${file.bid}/${file.cid}`) || !ownedAndStale(folder, file, startedAt - FRESH_FILE_MARGIN_MS)) continue;
    unlinkSync(file.path);
    removed.push(file.path);
    // `{cid}`, `collections` and `{bid}`.
    pruneEmptyParents(file.path, 3);
  }
  return removed;
}
