import { SettingsError } from '../../core/settings/ini.ts';
import type { Settings } from '../../core/settings/load.ts';
import { defineSettings, setting, type SettingsOf } from '../../core/settings/schema.ts';
import { filenamePatternProblem, folderPatternProblem, parseMimetypes, resolveExtensions } from './filenames.ts';
import { LocalFileStore } from './stores/local.ts';
import { S3FileStore } from './stores/s3.ts';
import type { FileStore } from './stores/types.ts';

const text = (description: string) => setting.optionalString({ description });

export const ATTACHMENT_SETTINGS = defineSettings('attachment.', {
  base_path: text('Folder of the local file store (selects the local backend).'),
  base_url: setting.string({ default: '', description: 'Prefix of attachment locations (e.g. the CDN serving the files).' }),
  'extra.base_url': text('Base URL advertised in the capability, when locations are relative.'),
  folder: setting.string({ default: '', description: 'Sub-folder of each file: `{bucket_id}`, `{collection_id}`, `{id}`.' }),
  keep_old_files: setting.bool({ default: false, description: 'Keep files when records or attachments are deleted or replaced.' }),
  randomize: setting.bool({ default: true, description: 'Store files under a random UUID keeping the extension.' }),
  filename_pattern: text('Stored name pattern: `{datetime}`, `{rid}`, `{filename}`.'),
  extensions: setting.string({ default: 'default', description: 'Allowed extensions: groups joined by `+` (`default`, `any`, `images`...) or names.' }),
  mimetypes: setting.string({ default: '', description: 'Mimetype overrides, `.ext:type;.other:type`.' }),
  max_size_bytes: setting.optionalInt({ min: 0, description: 'Largest accepted file, in bytes (unset or 0: no limit).' }),
  'aws.access_key': text('S3 access key (IAM credentials of the environment when unset).'),
  'aws.secret_key': text('S3 secret key.'),
  'aws.bucket_name': text('S3 bucket of the files (selects the S3 backend).'),
  'aws.acl': text('Canned ACL of uploaded files (e.g. `public-read`).'),
  'aws.host': text('Host of an S3-compatible endpoint (AWS when unset).'),
  'aws.port': setting.optionalInt({ min: 1, max: 65535, description: 'Port of the S3-compatible endpoint.' }),
  'aws.is_secure': setting.bool({ default: true, description: 'HTTPS to the S3-compatible endpoint.' }),
  'aws.use_path_style': setting.bool({ default: false, description: 'Path-style bucket addressing (most S3-compatible stores).' }),
  'aws.region': text('S3 region.'),
  'gcloud.credentials': text('Google Cloud Storage credentials (not supported by this server).'),
  'gcloud.bucket_name': text('Google Cloud Storage bucket (not supported by this server).'),
  'gcloud.acl': text('Google Cloud Storage ACL (not supported by this server).'),
  'gcloud.auto_create_acl': text('Google Cloud Storage ACL creation (not supported by this server).'),
}, [
  {
    pattern: /^attachment\.resources\..+$/,
    example: 'attachment.resources.main-workspace.keep_old_files',
    spec: setting.string({ description: 'Per bucket or collection: randomize, keep_old_files, filename_pattern, max_size_bytes.' }),
  },
]);

export type AttachmentSettings = SettingsOf<typeof ATTACHMENT_SETTINGS.specs>;

/** What may vary per bucket or collection (`attachment.resources.{bid}[.{cid}].{name}`). */
export interface ResourceOptions {
  randomize: boolean;
  keepOldFiles: boolean;
  filenamePattern: string | null;
  maxSizeBytes: number | null;
}

export interface AttachmentConfig {
  readonly defaults: ResourceOptions;
  /** Keyed by `/buckets/{bid}` or `/buckets/{bid}/collections/{cid}`. */
  readonly overrides: ReadonlyMap<string, Partial<ResourceOptions>>;
  readonly folder: string;
  readonly extensions: ReadonlySet<string>;
  readonly mimetypes: Readonly<Record<string, string>>;
  readonly baseUrl: string;
  /** The capability's `base_url`, with a trailing slash. */
  readonly advertisedBaseUrl: string | null;
}

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, yes: true, on: true, '1': true, false: false, no: false, off: false, '0': false };

function overrideValue(fullName: string, name: string, raw: string): Partial<ResourceOptions> {
  switch (name) {
    case 'randomize':
    case 'keep_old_files': {
      const value = BOOLEAN_WORDS[raw.trim().toLowerCase()];
      if (value === undefined) throw new SettingsError(`${fullName}: must be true or false, got '${raw}'`);
      return name === 'randomize' ? { randomize: value } : { keepOldFiles: value };
    }
    case 'filename_pattern': {
      const problem = filenamePatternProblem(raw);
      if (problem) throw new SettingsError(`${fullName}: ${problem}`);
      return { filenamePattern: raw };
    }
    case 'max_size_bytes': {
      if (!/^\s*\d+\s*$/.test(raw)) throw new SettingsError(`${fullName}: must be an integer >= 0, got '${raw}'`);
      return { maxSizeBytes: Number(raw) };
    }
    default:
      throw new SettingsError(`\`${name}\` is not a supported setting name. Read \`${fullName}\``);
  }
}

/** Kinto-attachment's per-resource rules; a malformed name stops the server as it did. */
function readOverrides(settings: Settings): Map<string, Partial<ResourceOptions>> {
  const overrides = new Map<string, Partial<ResourceOptions>>();
  for (const [rest, value] of Object.entries(settings.withPrefix('attachment.resources.'))) {
    const fullName = `attachment.resources.${rest}`;
    const parts = rest.split('.');
    if (parts.length !== 2 && parts.length !== 3) throw new SettingsError(`Configuration rule malformed: \`${fullName}\``);
    const name = parts.pop()!;
    const uri = parts.length === 2 ? `/buckets/${parts[0]}/collections/${parts[1]}` : `/buckets/${parts[0]}`;
    overrides.set(uri, { ...overrides.get(uri), ...overrideValue(fullName, name, String(value ?? '')) });
  }
  return overrides;
}

export function readAttachmentConfig(values: AttachmentSettings, settings: Settings): AttachmentConfig {
  for (const [name, problem] of [
    ['attachment.filename_pattern', values.filename_pattern ? filenamePatternProblem(values.filename_pattern) : null],
    ['attachment.folder', folderPatternProblem(values.folder)],
  ] as const) {
    if (problem) throw new SettingsError(`${name}: ${problem}`);
  }
  let mimetypes: Record<string, string>;
  try {
    mimetypes = parseMimetypes(values.mimetypes);
  } catch (error) {
    throw new SettingsError(`attachment.mimetypes: ${(error as Error).message}`);
  }
  const advertised = values['extra.base_url'] ?? (values.base_url || null);
  return {
    defaults: {
      randomize: values.randomize,
      keepOldFiles: values.keep_old_files,
      filenamePattern: values.filename_pattern,
      maxSizeBytes: values.max_size_bytes,
    },
    overrides: readOverrides(settings),
    folder: values.folder,
    extensions: resolveExtensions(values.extensions),
    mimetypes,
    baseUrl: values.base_url,
    advertisedBaseUrl: advertised && !advertised.endsWith('/') ? `${advertised}/` : advertised,
  };
}

/** The options of one record's collection: collection rules over bucket rules over the global ones. */
export function optionsFor(config: AttachmentConfig, bucketId: string, collectionId: string): ResourceOptions {
  return {
    ...config.defaults,
    ...config.overrides.get(`/buckets/${bucketId}`),
    ...config.overrides.get(`/buckets/${bucketId}/collections/${collectionId}`),
  };
}

/** The backend: `base_path` → local disk, `aws.bucket_name` → S3; none is a configuration error. */
export function createFileStore(values: AttachmentSettings): { store: FileStore; defaultBaseUrl: string } {
  if (values.base_path) return { store: new LocalFileStore(values.base_path), defaultBaseUrl: '' };
  if (values['aws.bucket_name']) {
    const host = values['aws.host'];
    const scheme = values['aws.is_secure'] ? 'https' : 'http';
    const port = values['aws.port'];
    const store = new S3FileStore({
      bucket: values['aws.bucket_name'],
      accessKey: values['aws.access_key'],
      secretKey: values['aws.secret_key'],
      region: values['aws.region'],
      endpoint: host ? `${scheme}://${host}${port ? `:${port}` : ''}` : null,
      pathStyle: values['aws.use_path_style'],
      acl: values['aws.acl'],
    });
    return { store, defaultBaseUrl: store.defaultBaseUrl() };
  }
  if (values['gcloud.credentials']) {
    throw new SettingsError('attachment.gcloud.credentials: Google Cloud Storage is not supported by this server; use `attachment.base_path` (local) or `attachment.aws.bucket_name` (S3)');
  }
  throw new SettingsError(
    'Attachment backend is not configured. Set either `attachment.base_path` (local) or `attachment.aws.bucket_name` (S3).',
  );
}
