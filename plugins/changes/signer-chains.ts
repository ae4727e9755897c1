/**
 * The certificate chains the signer serves under `/v1/cert-chains/{name}`, found the way
 * its start-up finds them (plugins/signer/index.ts `buildSigners`): every signed resource,
 * regex ones expanded over existing collections, its settings read by the signer's own
 * `SignerSettings` (`KINTO_SIGNER_…` environment variables first, then the INI). The INI
 * keys alone would miss a chain an operator sets in the environment, and the exported
 * `x5u` would then point at a file that is not there.
 */
import { basename } from 'node:path';
import type { KintoCore } from '../../core/context.ts';
import type { LoadedConfig, Settings } from '../../core/settings/load.ts';
import type { Storage } from '../../core/storage/types.ts';
import { DEFAULT_BACKEND } from '../signer/backends/index.ts';
import { DEFAULT_RESOURCES, SignerSettings, prefixesOf } from '../signer/config.ts';
import { SignedResources } from '../signer/resources.ts';
import { expandExistingCollections } from '../signer/startup.ts';

/** What the signer's settings reader and start-up read of a core. */
export interface SignerSource {
  settings: Settings;
  storage: Storage;
  /** Its `sources.env` holds the `KINTO_SIGNER_…` variables; without it, `process.env`. */
  config?: LoadedConfig;
}

/** `loadSigner`'s test: only the local signer serves a chain. */
const LOCAL_ECDSA = /(^|\.)local_ecdsa$/;

/**
 * `SignerSettings` and `expandExistingCollections` take a whole core but read only its
 * configuration, settings and storage: the CLI, which has no core, hands them those.
 */
function asSignerCore(source: SignerSource): KintoCore {
  // Without sources, `SignerSettings` reads `process.env`, as a configuration loaded by default does.
  const config = source.config ?? { sources: undefined };
  return { config, settings: source.settings, storage: source.storage } as unknown as KintoCore;
}

/** The chain files, by the name they are served under (their base name, as the signer does). */
export async function servedChainFiles(source: SignerSource): Promise<Map<string, string>> {
  const core = asSignerCore(source);
  const settings = new SignerSettings(core);
  const resources = new SignedResources(settings, settings.global('resources', DEFAULT_RESOURCES));
  await expandExistingCollections(core, resources);
  const files = new Map<string, string>();
  for (const resource of resources.all.values()) {
    // A regex resource has no signer of its own: its expanded collections do.
    if (resource.source.collection?.includes('(')) continue;
    const prefixes = prefixesOf(resource);
    if (!LOCAL_ECDSA.test(settings.lookup('signer_backend', prefixes) ?? DEFAULT_BACKEND)) continue;
    const path = settings.lookup('ecdsa.certificate_chain', prefixes);
    if (path) files.set(basename(path), path);
  }
  return files;
}
