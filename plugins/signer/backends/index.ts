/**
 * Builds the signer of a resource from its settings (`signer_backend`, `ecdsa.*`,
 * `autograph.*` under the resource's prefixes). The local signer may also serve a
 * certificate chain (our addition: `signer.ecdsa.certificate_chain`, a PEM file) that its
 * `x5u` points to, as Autograph's signatures do.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { X509Certificate, createPublicKey } from 'node:crypto';
import { SettingsError } from '../../../core/settings/ini.ts';
import type { SignerSettings } from '../config.ts';
import { AutographSigner } from './autograph.ts';
import { LocalEcdsaSigner, loadPrivateKey, loadPublicKey } from './local-ecdsa.ts';
import type { SignerBackend } from './types.ts';

export const DEFAULT_BACKEND = 'kinto_remote_settings.signer.backends.local_ecdsa';
/** Chains served under `/v1/cert-chains/{name}`. */
export const CERT_CHAINS_PATH = '/v1/cert-chains/';

export interface BackendContext {
  settings: SignerSettings;
  /** Where the server is reached, for the `x5u` of served chains (`https://host`). */
  origin: string;
  /** Certificate chains to serve, by file name. */
  chains: Map<string, string>;
}

function readSettingFile(path: string, setting: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new SettingsError(`signer: cannot read ${setting} '${path}' (${(error as Error).message})`);
  }
}

/** The chain's leaf must hold our public key; its DNS name becomes the `signer_id`. */
function leafSignerId(chainPem: string, publicKeyDer: Buffer, path: string): string | undefined {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(chainPem);
  } catch (error) {
    throw new SettingsError(`signer: '${path}' is not a PEM certificate chain (${(error as Error).message})`);
  }
  const leafKey = leaf.publicKey.export({ format: 'der', type: 'spki' });
  if (!Buffer.from(leafKey).equals(publicKeyDer)) {
    throw new SettingsError(`signer: the first certificate of '${path}' is not for the signing key`);
  }
  return /DNS:([^,\s]+)/.exec(leaf.subjectAltName ?? '')?.[1];
}

function localEcdsa(context: BackendContext, prefixes: readonly string[]): LocalEcdsaSigner {
  const privatePath = context.settings.lookup('ecdsa.private_key', prefixes);
  const publicPath = context.settings.lookup('ecdsa.public_key', prefixes);
  if (!privatePath && !publicPath) {
    throw new SettingsError('Please specify either kinto.signer.ecdsa.private_key or kinto.signer.ecdsa.public_key in the settings.');
  }
  const privateKey = privatePath ? loadPrivateKey(readSettingFile(privatePath, 'ecdsa.private_key'), privatePath) : null;
  const publicKey = publicPath ? loadPublicKey(readSettingFile(publicPath, 'ecdsa.public_key'), publicPath) : null;
  const verifyingKey = publicKey ?? createPublicKey(privateKey!);
  const chainPath = context.settings.lookup('ecdsa.certificate_chain', prefixes);
  let x5u = context.settings.lookup('ecdsa.x5u', prefixes) ?? '';
  let signerId: string | undefined;
  if (chainPath) {
    const pem = readSettingFile(chainPath, 'ecdsa.certificate_chain');
    signerId = leafSignerId(pem, verifyingKey.export({ format: 'der', type: 'spki' }), chainPath);
    const name = basename(chainPath);
    const known = context.chains.get(name);
    if (known !== undefined && known !== pem) throw new SettingsError(`signer: two different certificate chains are named '${name}'`);
    context.chains.set(name, pem);
    x5u ||= `${context.origin}${CERT_CHAINS_PATH}${encodeURIComponent(name)}`;
  }
  return new LocalEcdsaSigner({ privateKey, publicKey: verifyingKey, x5u, signerId });
}

function autograph(context: BackendContext, prefixes: readonly string[]): AutographSigner {
  const required = (name: string) => {
    const value = context.settings.lookup(`autograph.${name}`, prefixes);
    if (!value) throw new SettingsError(`signer: kinto.signer.autograph.${name} is required by the Autograph signer`);
    return value;
  };
  const keyIds = (context.settings.lookup('autograph.key_ids', prefixes) ?? 'remote-settings').split(/\s+/).filter(Boolean);
  return new AutographSigner({ serverUrl: required('server_url'), hawkId: required('hawk_id'), hawkSecret: required('hawk_secret'), keyIds });
}

export function loadSigner(context: BackendContext, prefixes: readonly string[]): SignerBackend {
  const backend = context.settings.lookup('signer_backend', prefixes) ?? DEFAULT_BACKEND;
  if (/(^|\.)local_ecdsa$/.test(backend)) return localEcdsa(context, prefixes);
  if (/(^|\.)autograph$/.test(backend)) return autograph(context, prefixes);
  throw new SettingsError(`signer: unknown signer_backend '${backend}' (local_ecdsa or autograph)`);
}
