/**
 * Test keys and certificates, made once per test file in a temporary folder: a P-384
 * root CA and a leaf certificate for the signing key (SAN and code-signing usage as
 * Firefox expects), with the OpenSSL command line.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SIGNER_ID = 'remote-settings.content-signature.mozilla.org';

export interface SignerFixtures {
  dir: string;
  privateKey: string;
  publicKey: string;
  chain: string;
  rootPem: string;
  remove(): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A P-384 key pair in PEM files (SEC1 private key, as Python's ecdsa writes them). */
export function writeKeyPair(dir: string, name: string): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const privatePath = join(dir, `${name}.private.pem`);
  const publicPath = join(dir, `${name}.public.pem`);
  writeFileSync(privatePath, privateKey.export({ format: 'pem', type: 'sec1' }));
  writeFileSync(publicPath, publicKey.export({ format: 'pem', type: 'spki' }));
  return { privateKey: privatePath, publicKey: publicPath };
}

export function makeSignerFixtures(): SignerFixtures {
  const dir = mkdtempSync(join(tmpdir(), 'kinto-signer-'));
  const { privateKey, publicKey } = writeKeyPair(dir, 'ecdsa');
  openssl(dir, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', 'root.key');
  openssl(dir, 'req', '-x509', '-new', '-key', 'root.key', '-subj', '/CN=Test Root CA', '-days', '30', '-sha384', '-out', 'root.pem',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  openssl(dir, 'req', '-new', '-key', privateKey, '-subj', `/CN=${SIGNER_ID}`, '-out', 'leaf.csr');
  writeFileSync(join(dir, 'leaf.ext'), `subjectAltName=DNS:${SIGNER_ID}\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n`);
  openssl(dir, 'x509', '-req', '-in', 'leaf.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial', '-days', '30',
    '-sha384', '-extfile', 'leaf.ext', '-out', 'leaf.pem');
  const rootPem = readFileSync(join(dir, 'root.pem'), 'utf8');
  const chain = join(dir, 'test-chain.pem');
  writeFileSync(chain, readFileSync(join(dir, 'leaf.pem'), 'utf8') + rootPem);
  return { dir, privateKey, publicKey, chain, rootPem, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
