/**
 * A certificate chain for the local signer, shaped as Firefox checks content signatures:
 * a leaf for the signing key (subjectAltName = the signer's DNS name, code-signing usage)
 * issued by a self-signed P-384 root, which Firefox is told to trust by its SHA-256
 * fingerprint (`security.content.signature.root_hash`). Node's crypto reads X.509 but
 * cannot write it, so the OpenSSL command line does, as the test fixtures do.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The name Firefox expects on the leaf of Remote Settings' main collections. */
export const DEFAULT_SIGNER_ID = 'remote-settings.content-signature.mozilla.org';
export const DEFAULT_CHAIN_DAYS = 365;

export interface ChainOptions {
  signerId: string;
  days: number;
}

export interface GeneratedChain {
  /** Leaf then root, PEM. */
  pem: string;
  /** The root's SHA-256 fingerprint, `AB:CD:…` as Firefox's root_hash preference takes it. */
  rootHash: string;
}

/** A chain cannot be made (no openssl, a bad option); the message is for the operator. */
export class ChainError extends Error {}

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

function openssl(cwd: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: 'pipe' });
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: Buffer };
    if (failure.code === 'ENOENT') {
      throw new ChainError('--chain needs the openssl command line, which is not on PATH: install OpenSSL, or make the chain yourself');
    }
    throw new ChainError(`openssl ${args[0]} failed: ${String(failure.stderr ?? failure.message).trim()}`);
  }
}

/**
 * Our own OpenSSL configuration files, so the system's `openssl.cnf` (default extensions,
 * prompts) cannot change what is issued. The signer id is checked first: it is written in them.
 */
function writeConfigs(dir: string, signerId: string): void {
  writeFileSync(join(dir, 'root.cnf'), [
    '[req]', 'distinguished_name = dn', 'prompt = no', 'x509_extensions = root',
    '[dn]', 'CN = Kinto local signer root',
    '[root]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash', '',
  ].join('\n'));
  writeFileSync(join(dir, 'leaf.cnf'), [
    '[req]', 'distinguished_name = dn', 'prompt = no',
    '[dn]', `CN = ${signerId}`,
    '[leaf]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature', 'extendedKeyUsage = codeSigning',
    `subjectAltName = DNS:${signerId}`, 'subjectKeyIdentifier = hash', 'authorityKeyIdentifier = keyid', '',
  ].join('\n'));
}

/** Fails before anything is written: a bad option, or no openssl to issue the chain with. */
export function checkChainOptions(options: ChainOptions): void {
  if (!DNS_NAME.test(options.signerId)) throw new ChainError(`--signer-id must be a DNS name, not '${options.signerId}'`);
  if (!Number.isInteger(options.days) || options.days < 1) throw new ChainError('--days must be a positive number of days');
  openssl(tmpdir(), ['version']);
}

/**
 * Issues the chain of the P-384 key in `privateKeyPath`. The root's private key lives in a
 * temporary folder only: nothing can be signed with it later, a new chain means a new root.
 */
export function generateChain(privateKeyPath: string, options: ChainOptions): GeneratedChain {
  checkChainOptions(options);
  const days = String(options.days);
  const dir = mkdtempSync(join(tmpdir(), 'kinto-signer-chain-'));
  try {
    writeConfigs(dir, options.signerId);
    const rootKey = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    writeFileSync(join(dir, 'root.key'), rootKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    openssl(dir, ['req', '-x509', '-new', '-config', 'root.cnf', '-key', 'root.key', '-days', days, '-sha384', '-out', 'root.pem']);
    openssl(dir, ['req', '-new', '-config', 'leaf.cnf', '-key', privateKeyPath, '-out', 'leaf.csr']);
    // Positive 127-bit serial: RFC 5280 wants it unique per issuer and at most 20 bytes.
    const serial = `0x${(randomBytes(16)[0] & 0x7f).toString(16).padStart(2, '0')}${randomBytes(15).toString('hex')}`;
    openssl(dir, ['x509', '-req', '-in', 'leaf.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', serial, '-days', days,
      '-sha384', '-extfile', 'leaf.cnf', '-extensions', 'leaf', '-out', 'leaf.pem']);
    const [leaf, root] = ['leaf.pem', 'root.pem'].map((name) => readFileSync(join(dir, name), 'utf8'));
    assertIssued(new X509Certificate(leaf), new X509Certificate(root), privateKeyPath);
    return { pem: leaf + root, rootHash: new X509Certificate(root).fingerprint256 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A last check before writing: the leaf holds the signing key and the root issued it. */
function assertIssued(leaf: X509Certificate, root: X509Certificate, privateKeyPath: string): void {
  const signing = createPrivateKey(readFileSync(privateKeyPath, 'utf8'));
  if (!leaf.checkPrivateKey(signing) || !leaf.verify(root.publicKey) || !root.verify(root.publicKey)) {
    throw new ChainError('openssl issued a chain that does not match the signing key');
  }
}
