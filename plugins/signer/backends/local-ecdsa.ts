/**
 * The local signer: an ECDSA P-384 key in a PEM file signs with SHA-384, the signature
 * being the raw r‖s pair, base64url-encoded: what Autograph returns and Firefox checks.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { base64Url, SIGN_PREFIX, type SignatureInfo, type SignerBackend } from './types.ts';

export interface LocalEcdsaOptions {
  privateKey: KeyObject | null;
  publicKey: KeyObject;
  /** URL of the certificate chain (`signer.ecdsa.x5u` or the served chain), '' without one. */
  x5u: string;
  /** The subject name of the chain's leaf certificate, when a chain is configured. */
  signerId?: string;
}

function assertP384(key: KeyObject, location: string): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw new Error(`${location} is not an ECDSA P-384 key`);
  }
}

export function loadPrivateKey(pem: string, location: string): KeyObject {
  const key = createPrivateKey(pem);
  assertP384(key, location);
  return key;
}

export function loadPublicKey(pem: string, location: string): KeyObject {
  const key = createPublicKey(pem);
  assertP384(key, location);
  return key;
}

export class LocalEcdsaSigner implements SignerBackend {
  private readonly options: LocalEcdsaOptions;

  constructor(options: LocalEcdsaOptions) {
    this.options = options;
  }

  async sign(payload: string): Promise<SignatureInfo[]> {
    if (this.options.privateKey === null) throw new Error('Please, specify the private_key location.');
    const message = Buffer.from(SIGN_PREFIX + payload, 'utf8');
    const signature = sign('sha384', message, { key: this.options.privateKey, dsaEncoding: 'ieee-p1363' });
    const info: SignatureInfo = { signature: base64Url(signature), x5u: this.options.x5u, mode: 'p384ecdsa' };
    if (this.options.signerId) info.signer_id = this.options.signerId;
    return [info];
  }

  /** True when `signature` (base64url of r‖s) signs `payload` with this key. */
  verify(payload: string, signature: string): boolean {
    const message = Buffer.from(SIGN_PREFIX + payload, 'utf8');
    const bytes = Buffer.from(signature.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
    return verify('sha384', message, { key: this.options.publicKey, dsaEncoding: 'ieee-p1363' }, bytes);
  }
}
