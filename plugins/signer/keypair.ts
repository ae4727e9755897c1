import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { PluginCommand } from '../../core/plugin.ts';

/** The reference's `generate_keypair`: an ECDSA P-384 key pair as PEM files (SEC1 private, SPKI public). */
export function generateKeyPair(privatePath: string, publicPath: string): void {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  writeFileSync(privatePath, privateKey.export({ format: 'pem', type: 'sec1' }), { mode: 0o600 });
  writeFileSync(publicPath, publicKey.export({ format: 'pem', type: 'spki' }));
}

/** `kinto signer-generate-keypair private.pem public.pem` */
export const KEYPAIR_COMMAND: PluginCommand = {
  name: 'signer-generate-keypair',
  description: 'Write a new ECDSA P-384 key pair for the local signer: signer-generate-keypair <private.pem> <public.pem>',
  run(argv) {
    if (argv.length !== 2) {
      process.stderr.write('Usage: kinto signer-generate-keypair <private.pem> <public.pem>\n');
      return 2;
    }
    generateKeyPair(argv[0], argv[1]);
    return 0;
  },
};
