/**
 * An independent verifier, as a Firefox client checks a collection: its own canonical
 * JSON, the `x5u` chain checked up to a trusted root, the leaf's name against
 * `signer_id`, then ECDSA P-384 / SHA-384 over `Content-Signature:\0` + payload.
 */
import { X509Certificate, verify } from 'node:crypto';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Sorted keys (code points), no spaces, non-ASCII as lowercase \uXXXX (surrogates for astral). */
export function firefoxCanonicalJson(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(firefoxCanonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort((a, b) => {
      const [x, y] = [[...a].map((c) => c.codePointAt(0)!), [...b].map((c) => c.codePointAt(0)!)];
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
      return x.length - y.length;
    });
    return `{${keys.map((k) => `${firefoxCanonicalJson(k)}:${firefoxCanonicalJson(value[k])}`).join(',')}}`;
  }
  if (typeof value === 'number' && !Number.isInteger(value)) throw new Error('floats are not signed');
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export interface SignatureEntry {
  signature: string;
  x5u: string;
  signer_id?: string;
  mode?: string;
}

export function signedMessage(records: { id: string; deleted?: boolean }[], timestamp: number): Buffer {
  const data = records.filter((r) => !r.deleted).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const payload = firefoxCanonicalJson({ data, last_modified: String(timestamp) } as unknown as Json);
  return Buffer.concat([Buffer.from('Content-Signature:\x00'), Buffer.from(payload, 'utf8')]);
}

export function verifyWithKey(message: Buffer, signature: string, publicKeyPem: string): boolean {
  const raw = Buffer.from(signature, 'base64url');
  return raw.length === 96 && verify('sha384', message, { key: publicKeyPem, dsaEncoding: 'ieee-p1363' }, raw);
}

/** The chain's leaf public key, once the chain is verified up to `rootPem` and the leaf is named `signerId`. */
export function verifiedLeafKey(chainPem: string, rootPem: string, signerId: string | undefined): string {
  const pems = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const certificates = pems.map((pem) => new X509Certificate(pem));
  const root = new X509Certificate(rootPem);
  if (certificates.length < 2 || certificates.at(-1)!.fingerprint256 !== root.fingerprint256) throw new Error('untrusted root');
  for (let i = 0; i < certificates.length - 1; i++) {
    if (!certificates[i].verify(certificates[i + 1].publicKey)) throw new Error(`certificate ${i} not signed by its issuer`);
  }
  const leaf = certificates[0];
  if (!signerId || !(leaf.subjectAltName ?? '').split(', ').includes(`DNS:${signerId}`)) throw new Error('leaf does not match signer_id');
  const codeSigning = '1.3.6.1.5.5.7.3.3';
  if (!(leaf.toLegacyObject().ext_key_usage ?? []).includes(codeSigning)) throw new Error('not a code signing certificate');
  return leaf.publicKey.export({ format: 'pem', type: 'spki' }) as string;
}
