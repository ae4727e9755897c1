/** One signature as stored in the destination collection's `signatures` list. */
export interface SignatureInfo {
  [field: string]: string;
  signature: string;
  x5u: string;
}

/** A signing service: the local ECDSA key or Autograph. */
export interface SignerBackend {
  /** Signs the payload (the `Content-Signature:\x00` prefix is the signer's business). */
  sign(payload: string): Promise<SignatureInfo[]>;
}

/** The prefix Autograph (and Firefox's verifier) puts before the signed bytes. */
export const SIGN_PREFIX = 'Content-Signature:\x00';

/** Python's `base64.urlsafe_b64encode`: the URL-safe alphabet, padding kept. */
export function base64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replaceAll('+', '-').replaceAll('/', '_');
}
