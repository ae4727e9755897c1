/**
 * Mozilla's signing service: one `POST {server}/sign/data` per configured key id, Hawk
 * authenticated, the payload base64-encoded. `signature` and `x5u` must come back; `mode`,
 * `public_key`, `type`, `signer_id` and `ref` are kept when present.
 */
import { isIP } from 'node:net';
import { connect } from 'node:tls';
import { hawkHeader } from './hawk.ts';
import type { SignatureInfo, SignerBackend } from './types.ts';

const REQUIRED_FIELDS = ['signature', 'x5u'];
const EXTRA_FIELDS = ['mode', 'public_key', 'type', 'signer_id', 'ref'];

export interface AutographOptions {
  serverUrl: string;
  hawkId: string;
  hawkSecret: string;
  keyIds: string[];
  timeoutMs?: number;
}

export class AutographError extends Error {}

export interface CertificateCheck {
  /** Percentage of the certificate lifespan under which to warn (5), bounded by the two below. */
  percentageRemainingValidity: number;
  minRemainingDays: number;
  maxRemainingDays: number;
  warn(message: string): void;
}

const DAY_MS = 24 * 3600 * 1000;

/** The validity period of the TLS certificate an HTTPS server presents. */
function serverCertificate(url: URL): Promise<{ start: number; end: number }> {
  return new Promise((resolve, reject) => {
    // Only the dates are read (as Python's `ssl.get_server_certificate`): signing requests verify TLS.
    const servername = isIP(url.hostname) ? undefined : url.hostname;
    const options = { host: url.hostname, port: Number(url.port || 443), servername, rejectUnauthorized: false };
    const socket = connect(options, () => {
      const certificate = socket.getPeerCertificate();
      socket.end();
      resolve({ start: Date.parse(certificate.valid_from), end: Date.parse(certificate.valid_to) });
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timeout')));
    socket.on('error', reject);
  });
}

export class AutographSigner implements SignerBackend {
  readonly options: AutographOptions;

  constructor(options: AutographOptions) {
    this.options = options;
  }

  /**
   * Warns when Autograph's TLS certificate expires soon: within a share of its lifespan,
   * bounded to [min, max] days (the reference's heartbeat check).
   */
  async checkCertificate(check: CertificateCheck): Promise<void> {
    const url = new URL(this.options.serverUrl);
    if (url.protocol !== 'https:') return;
    const { start, end } = await serverCertificate(url);
    const remainingDays = Math.floor((end - Date.now()) / DAY_MS);
    const lifespanDays = Math.floor((end - start) / DAY_MS);
    const relative = (lifespanDays * check.percentageRemainingValidity) / 100;
    const minimum = Math.trunc(Math.min(check.maxRemainingDays, Math.max(check.minRemainingDays, relative)));
    if (remainingDays <= minimum) {
      check.warn(`Only ${remainingDays} days before Autograph certificate expires (${new Date(end).toISOString()})`);
    }
  }

  async sign(payload: string): Promise<SignatureInfo[]> {
    const input = Buffer.from(payload, 'utf8').toString('base64');
    const signatures: SignatureInfo[] = [];
    for (const keyid of this.options.keyIds) signatures.push(await this.signWith(keyid, input));
    return signatures;
  }

  private async signWith(keyid: string, input: string): Promise<SignatureInfo> {
    const url = new URL('/sign/data', this.options.serverUrl);
    const body = JSON.stringify([{ input, keyid }]);
    const authorization = hawkHeader({
      id: this.options.hawkId,
      key: this.options.hawkSecret,
      method: 'POST',
      url,
      contentType: 'application/json',
      payload: body,
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: authorization },
      body,
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 60_000),
    });
    if (!response.ok) throw new AutographError(`Autograph answered ${response.status} for key ${keyid}`);
    const bundle = ((await response.json()) as Record<string, unknown>[] | null)?.[0];
    return pickFields(bundle, keyid);
  }
}

function pickFields(bundle: Record<string, unknown> | undefined, keyid: string): SignatureInfo {
  const info: Record<string, string> = {};
  for (const field of REQUIRED_FIELDS) {
    if (typeof bundle?.[field] !== 'string') throw new AutographError(`Autograph response for key ${keyid} lacks '${field}'`);
    info[field] = bundle[field] as string;
  }
  for (const field of EXTRA_FIELDS) if (typeof bundle?.[field] === 'string') info[field] = bundle[field] as string;
  return info as SignatureInfo;
}
