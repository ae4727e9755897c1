/**
 * The signed resources of a server and how one collection maps onto them: explicit
 * collection resources first, then its bucket's resource (made explicit by collection
 * settings such as `signer.{bid}.{cid}.to_review_enabled`, or by a regex one such as
 * `signer.main-workspace.quicksuggest-(\w+).to_review_enabled`).
 */
import { asBool, parseResources, prefixesOf, type ResolvedResource, type SignerResource, type SignerSettings } from './config.ts';

/** Sub-keys of `signer.{bid}.` that configure a backend, not a collection. */
const BACKEND_SECTIONS = new Set(['autograph', 'ecdsa']);

interface GlobSetting {
  bucket: RegExp;
  collection: RegExp;
  value: boolean;
}

export class SignedResources {
  readonly all: Map<string, SignerResource>;
  readonly toReviewEnabled: boolean;
  private readonly globs: GlobSetting[];

  constructor(settings: SignerSettings, raw: string) {
    this.toReviewEnabled = settings.globalBool('to_review_enabled', false);
    this.globs = globSettings(settings);
    this.all = expandPerCollection(settings, parseResources(raw));
    for (const resource of this.all.values()) {
      const enabled = asBool(settings.lookup('to_review_enabled', prefixesOf(resource)), this.toReviewEnabled);
      if (enabled !== this.toReviewEnabled) resource.to_review_enabled = enabled;
    }
  }

  hasGlobs(): boolean {
    return this.globs.length > 0;
  }

  /** The resource signing this collection, with every location resolved; null when unsigned. */
  pick(bid: string, cid: string): ResolvedResource | null {
    const explicitKey = `/buckets/${bid}/collections/${cid}`;
    const explicit = this.all.get(explicitKey);
    if (explicit) return resolve(explicitKey, explicit, cid, explicit.to_review_enabled ?? this.toReviewEnabled);
    const bucketKey = `/buckets/${bid}`;
    const perBucket = this.all.get(bucketKey);
    if (!perBucket) return null;
    const glob = this.globs.find((g) => g.bucket.test(bid) && g.collection.test(cid));
    const enabled = glob ? glob.value : perBucket.to_review_enabled ?? this.toReviewEnabled;
    return resolve(glob ? explicitKey : bucketKey, perBucket, cid, enabled);
  }

  /** The source collections whose preview or destination is this collection (Kinto's `signer_impacts_resource`). */
  impacting(bid: string, cid: string): ResolvedResource | null {
    const matches = (l: { bucket: string; collection: string | null } | undefined) =>
      l !== undefined && l.bucket === bid && (l.collection === null || l.collection === cid);
    for (const [key, resource] of this.all) {
      if (resource.source.collection === null || !(matches(resource.destination) || matches(resource.preview))) continue;
      return resolve(key, resource, resource.source.collection, false);
    }
    for (const [key, resource] of this.all) {
      if (resource.source.collection !== null || !(matches(resource.destination) || matches(resource.preview))) continue;
      // A collection-specific resource of the same source bucket and id takes this collection over.
      if (this.all.has(`/buckets/${resource.source.bucket}/collections/${cid}`)) return null;
      return resolve(key, resource, cid, false);
    }
    return null;
  }

  /** The capability's list: glob resources hidden, per-collection ones listed. */
  exposed(): Record<string, unknown>[] {
    return [...this.all.values()]
      .filter((r) => !r.source.collection?.includes('('))
      .map(({ source, preview, destination, to_review_enabled }) => ({
        source,
        ...(preview ? { preview } : {}),
        destination,
        ...(to_review_enabled === undefined ? {} : { to_review_enabled }),
      }));
  }

  /** Per-collection resources for collections matched by a regex setting (shown in the capability). */
  expandGlob(bid: string, cid: string): boolean {
    const key = `/buckets/${bid}/collections/${cid}`;
    const perBucket = this.all.get(`/buckets/${bid}`);
    const glob = this.globs.find((g) => g.bucket.test(bid) && g.collection.test(cid));
    if (!perBucket || !glob || this.all.has(key)) return false;
    const specific = withCollection(perBucket, cid);
    if (glob.value !== this.toReviewEnabled) specific.to_review_enabled = glob.value;
    this.all.set(key, specific);
    return true;
  }
}

function withCollection(resource: SignerResource, cid: string): SignerResource {
  const copy: SignerResource = structuredClone(resource);
  copy.source.collection = cid;
  copy.destination.collection = cid;
  if (copy.preview) copy.preview.collection = cid;
  delete copy.to_review_enabled;
  return copy;
}

function resolve(key: string, resource: SignerResource, cid: string, toReviewEnabled: boolean): ResolvedResource {
  const at = (l: { bucket: string; collection: string | null }) => ({ bucket: l.bucket, collection: l.collection ?? cid });
  const resolved: ResolvedResource = { key, source: at(resource.source), destination: at(resource.destination), toReviewEnabled };
  if (resource.preview) resolved.preview = at(resource.preview);
  return resolved;
}

/** `signer.{bid}.{cid}.{setting}` on a per-bucket source makes that collection explicit. */
function expandPerCollection(settings: SignerSettings, parsed: Map<string, SignerResource>): Map<string, SignerResource> {
  const output = new Map(parsed);
  for (const resource of parsed.values()) {
    if (resource.source.collection !== null) continue;
    const bid = resource.source.bucket;
    const prefix = `signer.${bid}.`;
    for (const key of settings.keys()) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const dot = rest.indexOf('.');
      if (dot <= 0 || dot === rest.length - 1) continue;
      const cid = rest.slice(0, dot);
      if (BACKEND_SECTIONS.has(cid)) continue;
      const signerKey = `/buckets/${bid}/collections/${cid}`;
      if (!output.has(signerKey)) output.set(signerKey, withCollection(resource, cid));
    }
  }
  return output;
}

/** `signer.{bid-regex}.{cid-regex}.to_review_enabled` keys (4 dotted parts, with a group). */
function globSettings(settings: SignerSettings): GlobSetting[] {
  const globs: GlobSetting[] = [];
  for (const key of settings.keys()) {
    const tokens = key.split('.');
    if (!key.includes('(') || tokens.length !== 4 || tokens[3] !== 'to_review_enabled') continue;
    try {
      globs.push({
        bucket: new RegExp(`^(?:${tokens[1]})$`),
        collection: new RegExp(`^(?:${tokens[2]})$`),
        value: asBool(settings.lookup('to_review_enabled', [`${tokens[0]}.${tokens[1]}.${tokens[2]}.`]), false),
      });
    } catch {
      continue;
    }
  }
  return globs;
}
