/**
 * `signer.resources` and the per-resource settings, as Remote Settings reads them:
 * `source -> [preview ->] destination` lines of bucket or collection URIs, settings
 * looked up from the most specific prefix (`signer.{bid}.{cid}.`, `signer.{bid}_{cid}.`,
 * `signer.{bid}.`, `signer.`) with `KINTO_SIGNER_…` environment variables first.
 */
import type { KintoCore } from '../../core/context.ts';
import { SettingsError } from '../../core/settings/ini.ts';

export interface Location {
  bucket: string;
  collection: string | null;
}

/** A configured resource (per bucket when `source.collection` is null). */
export interface SignerResource {
  source: Location;
  preview?: Location;
  destination: Location;
  /** Present only when it differs from the server-wide value (as the capability shows it). */
  to_review_enabled?: boolean;
}

/** A resource applied to one collection: every location has its collection id. */
export interface ResolvedResource {
  key: string;
  source: { bucket: string; collection: string };
  preview?: { bucket: string; collection: string };
  destination: { bucket: string; collection: string };
  toReviewEnabled: boolean;
}

export const DEFAULT_RESOURCES = '/buckets/main-workspace -> /buckets/main-preview -> /buckets/main';
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]*$/;

/** Python's `repr` of a string, as the reference's messages quote it. */
export function pyRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  const escaped = text.replaceAll('\\', '\\\\').replaceAll(quote, `\\${quote}`);
  return `${quote}${escaped}${quote}`;
}

function parseLocation(uri: string): Location {
  const parts = uri.split('/');
  let bucket: string;
  let collection: string | null = null;
  if (parts.length === 2) [bucket, collection] = parts;
  else if (parts.length === 3 && parts[1] === 'buckets') bucket = parts[2];
  else if (parts.length === 5 && parts[1] === 'buckets' && parts[3] === 'collections') [, , bucket, , collection] = parts;
  else throw new Error('should be a bucket or collection URI');
  if (!NAME.test(bucket) || (collection !== null && !NAME.test(collection))) throw new Error('bucket or collection id is invalid');
  return { bucket, collection };
}

const sameLocation = (a?: Location, b?: Location) => a !== undefined && b !== undefined && a.bucket === b.bucket && a.collection === b.collection;
const keyOf = (l: Location) => `${l.bucket}\u0000${l.collection}`;

function parseLine(line: string): [string, SignerResource] {
  const malformed = (reason: string) =>
    new SettingsError(`Malformed resource: ${reason} (in ${pyRepr(line)}). See kinto-remote-settings README.`);
  if (!line.includes('->') && !line.includes(';')) throw malformed("not separated with '->'");
  const uris = line.replaceAll(';', ' ').replaceAll('->', ' ').split(/\s+/).filter(Boolean);
  if (uris.length !== 2 && uris.length !== 3) throw malformed('should be a pair or a triplet');
  let locations: Location[];
  try {
    locations = uris.map(parseLocation);
  } catch (error) {
    throw malformed((error as Error).message);
  }
  const source = locations[0];
  const destination = locations[locations.length - 1];
  const preview = locations.length === 3 ? locations[1] : undefined;
  const perBucket = locations.every((l) => l.collection === null);
  if (!perBucket && !locations.every((l) => l.collection !== null)) throw malformed('cannot mix bucket and collection URIs');
  if (sameLocation(source, destination) || sameLocation(source, preview) || sameLocation(preview, destination)) {
    throw malformed('cannot have same value for source,  preview or destination');
  }
  const key = perBucket ? `/buckets/${source.bucket}` : `/buckets/${source.bucket}/collections/${source.collection}`;
  return [key, preview ? { source, preview, destination } : { source, destination }];
}

/** Parses `signer.resources` (ConfigurationError texts of the reference as SettingsError). */
export function parseResources(raw: string): Map<string, SignerResource> {
  const resources = new Map<string, SignerResource>();
  for (const line of raw.trim().split('\n').map((l) => l.trim()).filter(Boolean)) {
    const [key, resource] = parseLine(line);
    if (resources.has(key)) throw new SettingsError(`Malformed resource: cannot repeat resource (in ${pyRepr(line)}). See kinto-remote-settings README.`);
    resources.set(key, resource);
  }
  const all = [...resources.values()];
  const sources = all.map((r) => keyOf(r.source));
  const destinations = all.map((r) => keyOf(r.destination));
  const previews = all.flatMap((r) => (r.preview ? [keyOf(r.preview)] : []));
  if (new Set(destinations).size !== destinations.length) throw new SettingsError('Resources setting has repeated destination URI');
  if (new Set(previews).size !== previews.length) throw new SettingsError('Resources setting has repeated preview URI');
  const intersects = (a: string[], b: string[]) => a.some((x) => b.includes(x));
  if (intersects(sources, previews) || intersects(sources, destinations) || intersects(destinations, previews)) {
    throw new SettingsError('cannot repeat URIs across resources');
  }
  return resources;
}

/** Reads signer settings the reference's way (`get_first_matching_setting`). */
export class SignerSettings {
  private readonly core: KintoCore;

  constructor(core: KintoCore) {
    this.core = core;
  }

  /** The value of `name` under the first prefix that has it, the environment first for each. */
  lookup(name: string, prefixes: readonly string[]): string | undefined {
    const env = this.core.config.sources?.env ?? process.env;
    for (const prefix of prefixes) {
      const key = `${prefix}${name}`;
      const fromEnv = env[`kinto.${key}`.replace(/[.-]/g, '_').toUpperCase()];
      if (fromEnv !== undefined) return fromEnv;
      const value = this.core.settings.get(key);
      if (value !== undefined && value !== null) return String(value);
    }
    return undefined;
  }

  global(name: string, fallback: string): string {
    return this.lookup(name, ['signer.']) ?? fallback;
  }

  globalBool(name: string, fallback: boolean): boolean {
    return asBool(this.lookup(name, ['signer.']), fallback);
  }

  /** Setting names under `signer.` (for per-collection and glob settings). */
  keys(): string[] {
    return this.core.settings.keys().filter((key) => key.startsWith('signer.'));
  }
}

export function asBool(value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  return ['t', 'true', 'y', 'yes', 'on', '1'].includes(value.trim().toLowerCase());
}

/** Prefixes of the settings of a resource, most specific first. */
export function prefixesOf(resource: SignerResource): string[] {
  const bid = resource.source.bucket;
  const cid = resource.source.collection;
  const common = [`signer.${bid}.`, 'signer.'];
  return cid === null ? common : [`signer.${bid}.${cid}.`, `signer.${bid}_${cid}.`, ...common];
}
