import { randomUUID } from 'node:crypto';
import { extname } from 'node:path';

/** kinto-attachment's extension groups; `default` = documents + text + images + data, `any` = no restriction. */
const GROUPS: Record<string, readonly string[]> = {
  documents: 'pdf rtf odf ods gnumeric abw doc docx xls xlsx'.split(' '),
  text: ['txt'],
  images: 'jpg jpe jpeg png gif svg bmp tiff'.split(' '),
  audio: 'wav mp3 aac ogg oga flac'.split(' '),
  video: 'mpeg 3gp avi divx dvr flv mp4 wmv'.split(' '),
  data: 'csv ini json plist xml yaml yml'.split(' '),
  scripts: 'js php pl py rb sh'.split(' '),
  archives: 'gz bz2 zip tar tgz txz 7z'.split(' '),
  executables: 'so exe dll'.split(' '),
  any: [],
};
GROUPS.default = [...GROUPS.documents, ...GROUPS.text, ...GROUPS.images, ...GROUPS.data];

/** `images+pdf`, `default`, `any`, `txt json`: the allowed extensions (empty set: any). */
export function resolveExtensions(spec: string): Set<string> {
  const allowed = new Set<string>();
  for (const group of spec.split('+')) {
    const known = GROUPS[group];
    if (known) for (const ext of known) allowed.add(ext);
    else for (const ext of group.split(/\s+/).filter(Boolean)) allowed.add(ext.toLowerCase());
  }
  return allowed;
}

export function extensionAllowed(filename: string, allowed: ReadonlySet<string>): boolean {
  if (allowed.size === 0) return true;
  return allowed.has(pythonExtname(filename).replace(/^\./, '').toLowerCase());
}

/** Python's `os.path.splitext` extension: a leading dot (`.bashrc`) is not one. */
export function pythonExtname(filename: string): string {
  const base = filename.slice(filename.lastIndexOf('/') + 1);
  return /^\.+[^.]*$/.test(base) ? '' : extname(base);
}

export const DEFAULT_MIMETYPES: Readonly<Record<string, string>> = {
  '.pem': 'application/x-pem-file',
  '.geojson': 'application/geojson',
};

/** `attachment.mimetypes = .ext:type;.other:type` on top of the defaults. */
export function parseMimetypes(spec: string): Record<string, string> {
  const result: Record<string, string> = { ...DEFAULT_MIMETYPES };
  for (const entry of spec.split(';').map((e) => e.trim()).filter(Boolean)) {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new Error(`'${entry}' is not '.extension:mime/type'`);
    result[entry.slice(0, colon).trim()] = entry.slice(colon + 1).trim();
  }
  return result;
}

/** werkzeug's `secure_filename`, as kinto-attachment uses it: ASCII, no separators, no dots at the ends. */
export function secureFilename(filename: string): string {
  const ascii = filename.normalize('NFKD').replace(/[^\x00-\x7f]/g, '');
  const spaced = ascii.replace(/[/\\]/g, ' ');
  const joined = spaced.split(/\s+/).filter(Boolean).join('_');
  return joined.replace(/[^A-Za-z0-9_.-]/g, '').replace(/^[._]+|[._]+$/g, '');
}

const PATTERN_FIELDS = ['datetime', 'rid', 'filename'] as const;
const FOLDER_FIELDS = ['bucket_id', 'collection_id', 'id'] as const;

/** Python's `str.format` limited to named fields: unknown names are a configuration error, found at start. */
function formatProblem(pattern: string, fields: readonly string[]): string | null {
  for (const match of pattern.matchAll(/\{([^{}]*)\}/g)) {
    if (!fields.includes(match[1])) return `unknown placeholder {${match[1]}} (expected ${fields.map((f) => `{${f}}`).join(', ')})`;
  }
  return null;
}

export const filenamePatternProblem = (pattern: string) => formatProblem(pattern, PATTERN_FIELDS);
export const folderPatternProblem = (pattern: string) => formatProblem(pattern, FOLDER_FIELDS);

function format(pattern: string, values: Record<string, string>): string {
  return pattern.replace(/\{([^{}]*)\}/g, (whole, name: string) => values[name] ?? whole);
}

export function folderFor(pattern: string, params: { bucket_id: string; collection_id: string; id: string }): string {
  return format(pattern, params);
}

/** `YYYYmmddHHMMSS` in local time, as Python's `datetime.now().strftime`. */
function compactDatetime(now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
}

export interface NamingOptions {
  readonly randomize: boolean;
  readonly filenamePattern: string | null;
  readonly recordId: string;
}

/** The stored name: sanitised, optionally a UUID keeping the extension, then the pattern applied. */
export function storedFilename(original: string, options: NamingOptions, now = new Date()): string {
  let name = secureFilename(original.slice(Math.max(original.lastIndexOf('/'), original.lastIndexOf('\\')) + 1));
  if (options.randomize) name = randomUUID() + pythonExtname(name).toLowerCase();
  if (options.filenamePattern) {
    name = format(options.filenamePattern, { datetime: compactDatetime(now), rid: options.recordId, filename: name });
  }
  return name;
}
