import { constants } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { joinLocation, numberedName, type FileStore, type SaveOptions, type StagedFile } from './types.ts';

/** Most renames tried for one name before giving up (`a-1.png` ... `a-1000.png`). */
const MAX_COLLISIONS = 1000;

/** Files under `attachment.base_path`, served by the operator's web server at `attachment.base_url`. */
export class LocalFileStore implements FileStore {
  readonly kind = 'local' as const;
  private readonly root: string;

  constructor(basePath: string) {
    this.root = resolve(basePath);
  }

  /** The absolute path of a location, refusing any that would leave the root. */
  private pathOf(location: string): string {
    const path = resolve(this.root, location);
    if (path !== this.root && !path.startsWith(this.root + sep)) throw new Error(`Location '${location}' is outside the attachments folder`);
    return path;
  }

  async save(file: StagedFile, options: SaveOptions): Promise<string> {
    const folderPath = this.pathOf(options.folder || '.');
    await mkdir(folderPath, { recursive: true });
    if (options.replace) {
      const location = joinLocation(options.folder, options.name);
      await moveOver(file.path, this.pathOf(location));
      return location;
    }
    for (let counter = 0; counter <= MAX_COLLISIONS; counter += 1) {
      const name = counter === 0 ? options.name : numberedName(options.name, counter);
      const location = joinLocation(options.folder, name);
      // An exclusive create: two uploads of one name never overwrite each other.
      if (await placeExclusively(file.path, this.pathOf(location))) return location;
    }
    throw new Error(`No free name for '${options.name}' in '${options.folder}'`);
  }

  async delete(location: string): Promise<void> {
    await rm(this.pathOf(location), { force: true });
  }

  async exists(location: string): Promise<boolean> {
    return stat(this.pathOf(location)).then(() => true, () => false);
  }
}

/** Hard-links (or copies, across file systems) `source` to `target` unless it exists; removes `source` on success. */
async function placeExclusively(source: string, target: string): Promise<boolean> {
  try {
    await link(source, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw error;
    try {
      await copyFile(source, target, constants.COPYFILE_EXCL);
    } catch (copyError) {
      if ((copyError as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw copyError;
    }
  }
  await unlink(source).catch(() => {});
  return true;
}

async function moveOver(source: string, target: string): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  try {
    await rename(source, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(source, target);
    await unlink(source).catch(() => {});
  }
}
