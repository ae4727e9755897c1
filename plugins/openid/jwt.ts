import { constants, createPublicKey, verify as verifySignature, type JsonWebKey, type KeyObject } from 'node:crypto';

/** Asymmetric JWS algorithms accepted for access tokens, with their node:crypto digest. */
const ALGORITHMS: Record<string, { kty: string; digest: string | null; pss?: boolean; ecdsa?: boolean }> = {
  RS256: { kty: 'RSA', digest: 'sha256' },
  RS384: { kty: 'RSA', digest: 'sha384' },
  RS512: { kty: 'RSA', digest: 'sha512' },
  PS256: { kty: 'RSA', digest: 'sha256', pss: true },
  PS384: { kty: 'RSA', digest: 'sha384', pss: true },
  PS512: { kty: 'RSA', digest: 'sha512', pss: true },
  ES256: { kty: 'EC', digest: 'sha256', ecdsa: true },
  ES384: { kty: 'EC', digest: 'sha384', ecdsa: true },
  ES512: { kty: 'EC', digest: 'sha512', ecdsa: true },
  EdDSA: { kty: 'OKP', digest: null },
  Ed25519: { kty: 'OKP', digest: null },
};

/** Seconds between two fetches of the key set when a token names an unknown key. */
const REFRESH_SECONDS = 60;

interface Jwk extends JsonWebKey {
  kid?: string;
  use?: string;
  alg?: string;
}

function decodePart(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
  return value as Record<string, unknown>;
}

/**
 * Kinto's `_decode_jwt` (PyJWT with a `PyJWKClient`): the token must be a JWS signed by a key of
 * the provider's `jwks_uri`, with the provider's issuer, the configured audience, and be
 * neither expired nor not yet valid. Returns the claims, or null.
 */
export class JwtVerifier {
  private readonly jwksUri: string;
  private keys: Jwk[] | null = null;
  private fetchedAt = 0;

  constructor(jwksUri: string) {
    this.jwksUri = jwksUri;
  }

  private async fetchKeys(): Promise<Jwk[]> {
    const response = await fetch(this.jwksUri, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(30_000) });
    if (!response.ok) throw new Error(`${this.jwksUri} answered ${response.status}`);
    const body = (await response.json()) as { keys?: unknown };
    if (!Array.isArray(body.keys)) throw new Error(`${this.jwksUri} has no keys`);
    this.keys = body.keys as Jwk[];
    this.fetchedAt = Date.now();
    return this.keys;
  }

  private async key(kid: string | undefined, kty: string): Promise<KeyObject | null> {
    const pick = (keys: Jwk[]) =>
      keys.find((k) => k.kty === kty && (k.use === undefined || k.use === 'sig') && (kid === undefined || k.kid === kid));
    let found = this.keys ? pick(this.keys) : undefined;
    if (!found && (this.keys === null || Date.now() - this.fetchedAt > REFRESH_SECONDS * 1000)) {
      found = pick(await this.fetchKeys());
    }
    return found ? createPublicKey({ key: found, format: 'jwk' }) : null;
  }

  /** Throws on a network error (the caller logs it); returns null for a token that does not verify. */
  async verify(token: string, issuer: string, audience: string): Promise<Record<string, unknown> | null> {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = decodePart(parts[0]);
      claims = decodePart(parts[1]);
    } catch {
      return null;
    }
    const alg = typeof header.alg === 'string' ? ALGORITHMS[header.alg] : undefined;
    if (!alg) return null;
    const key = await this.key(typeof header.kid === 'string' ? header.kid : undefined, alg.kty);
    if (!key) return null;
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii');
    const signature = Buffer.from(parts[2], 'base64url');
    let valid: boolean;
    try {
      valid = verifySignature(
        alg.digest,
        signed,
        {
          key,
          ...(alg.pss ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : {}),
          ...(alg.ecdsa ? { dsaEncoding: 'ieee-p1363' as const } : {}),
        },
        signature,
      );
    } catch {
      return null;
    }
    if (!valid) return null;
    const now = Date.now() / 1000;
    if (claims.exp !== undefined && !(typeof claims.exp === 'number' && now < claims.exp)) return null;
    if (claims.nbf !== undefined && !(typeof claims.nbf === 'number' && now >= claims.nbf)) return null;
    if (claims.iat !== undefined && typeof claims.iat !== 'number') return null;
    if (claims.iss !== issuer) return null;
    const aud = claims.aud;
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.includes(audience)) return null;
    return claims;
  }
}
