import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { PluginCommand } from '../../core/plugin.ts';
import { CERT_CHAINS_PATH } from './backends/index.ts';
import { ChainError, checkChainOptions, DEFAULT_CHAIN_DAYS, DEFAULT_SIGNER_ID, generateChain } from './chain.ts';

/** The reference's `generate_keypair`: an ECDSA P-384 key pair as PEM files (SEC1 private, SPKI public). */
export function generateKeyPair(privatePath: string, publicPath: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  writeFileSync(privatePath, privateKey.export({ format: 'pem', type: 'sec1' }), { mode: 0o600 });
  writeFileSync(publicPath, publicKey.export({ format: 'pem', type: 'spki' }));
}

const USAGE =
  'Usage: kinto signer-generate-keypair [--chain[=<chain.pem>]] [--signer-id=<dns name>] [--days=<n>] <private.pem> <public.pem>\n';

export interface KeypairArguments {
  privatePath: string;
  publicPath: string;
  /** Where to write the certificate chain; null without `--chain`. */
  chainPath: string | null;
  signerId: string;
  days: number;
}

/**
 * `--chain` alone names the chain after the signer, next to the private key: the file name
 * is public (it ends the x5u URL), so it must not be derived from the private key's name.
 */
export function parseKeypairArguments(argv: readonly string[]): KeypairArguments | null {
  const positional: string[] = [];
  let chain: string | null | true = null;
  let signerId = DEFAULT_SIGNER_ID;
  let days = DEFAULT_CHAIN_DAYS;
  for (const arg of argv) {
    const equals = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const [name, value] = equals > 0 ? [arg.slice(0, equals), arg.slice(equals + 1)] : [arg, undefined];
    if (name === '--chain') chain = value ?? true;
    else if (name === '--signer-id' && value) signerId = value;
    else if (name === '--days' && value) days = Number(value);
    else if (arg.startsWith('-')) return null;
    else positional.push(arg);
  }
  if (positional.length !== 2 || chain === '') return null;
  const [privatePath, publicPath] = positional.map((path) => resolve(path));
  const chainPath = chain === true ? join(dirname(privatePath), `${signerId}.chain.pem`) : chain === null ? null : resolve(chain);
  return { privatePath, publicPath, chainPath, signerId, days };
}

/** The settings to paste in the INI file, and what Firefox needs to trust the chain. */
function settingLines(args: KeypairArguments, rootHash: string | null): string {
  const lines = [
    '# Local signer settings, for the [app:main] section:',
    `kinto.signer.ecdsa.private_key = ${args.privatePath}`,
    `kinto.signer.ecdsa.public_key = ${args.publicPath}`,
  ];
  if (args.chainPath !== null) {
    lines.push(
      `kinto.signer.ecdsa.certificate_chain = ${args.chainPath}`,
      `# x5u: {http_scheme}://{http_host}${CERT_CHAINS_PATH}${encodeURIComponent(basename(args.chainPath))} (set kinto.http_host to the public host)`,
      `# Firefox checks the leaf against signer_id ${args.signerId}; trust the root with`,
      `# security.content.signature.root_hash = ${rootHash}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** `kinto signer-generate-keypair [--chain] private.pem public.pem` */
export const KEYPAIR_COMMAND: PluginCommand = {
  name: 'signer-generate-keypair',
  description: 'Write a new ECDSA P-384 key pair for the local signer (--chain: and a certificate chain for its x5u)',
  run(argv) {
    const args = parseKeypairArguments(argv);
    if (args === null) {
      process.stderr.write(USAGE);
      return 2;
    }
    let rootHash: string | null = null;
    try {
      // Options and openssl are checked first, so that a failure leaves no half-made key pair.
      if (args.chainPath !== null) checkChainOptions(args);
      generateKeyPair(args.privatePath, args.publicPath);
      if (args.chainPath !== null) {
        const chain = generateChain(args.privatePath, args);
        writeFileSync(args.chainPath, chain.pem);
        rootHash = chain.rootHash;
      }
    } catch (error) {
      if (!(error instanceof ChainError)) throw error;
      process.stderr.write(`signer-generate-keypair: ${error.message}\n`);
      return 1;
    }
    process.stdout.write(settingLines(args, rootHash));
    return 0;
  },
};
