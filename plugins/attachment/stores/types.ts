/** A file staged on local disk (streamed there while hashing), ready to be stored. */
export interface StagedFile {
  readonly path: string;
  readonly size: number;
  readonly mimetype: string;
}

export interface SaveOptions {
  /** Folder below the store's root (`bucket/collection`), or '' for the root. */
  readonly folder: string;
  /** Name wanted; a store that keeps existing files picks `name-1.ext`, `name-2.ext`... instead. */
  readonly name: string;
  /** Overwrite a file of that name (the heartbeat's probe) instead of picking another name. */
  readonly replace: boolean;
}

/** Where attachment files live: local disk or an S3 bucket. Locations are relative to the store's root. */
export interface FileStore {
  readonly kind: 'local' | 's3';
  /** Stores the staged file and returns its relative location (`folder/name`). The staged file is consumed. */
  save(file: StagedFile, options: SaveOptions): Promise<string>;
  /** Removes a file; an absent one is not an error. */
  delete(location: string): Promise<void>;
  exists(location: string): Promise<boolean>;
  /** Releases connections when the server stops. */
  close?(): void;
}

/** Python's `urljoin(base_url, location)`, as kinto-attachment builds the public URL of a file. */
export function publicUrl(baseUrl: string, location: string): string {
  if (!baseUrl) return location;
  try {
    return new URL(location, baseUrl).href;
  } catch {
    // A relative base (`/files/`): join like a path.
    return baseUrl.slice(0, baseUrl.lastIndexOf('/') + 1) + location;
  }
}

/** `name.ext` → `name-<n>.ext`, the rename of a name already taken. */
export function numberedName(name: string, counter: number): string {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return `${name}-${counter}`;
  return `${name.slice(0, dot)}-${counter}${name.slice(dot)}`;
}

export function joinLocation(folder: string, name: string): string {
  return folder ? `${folder.replace(/\/+$/, '')}/${name}` : name;
}
