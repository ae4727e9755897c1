import { definePlugin } from '../../core/plugin.ts';
import { EXPORT_COMMAND, registerChanges } from '../changes/index.ts';
import { KEYPAIR_COMMAND, registerSigner } from '../signer/index.ts';

/** `kinto.includes = kinto_remote_settings`: the changes feed and the signer, as Mozilla deploys them. */
export default definePlugin({
  name: 'remote_settings',
  aliases: ['kinto_remote_settings'],
  cli: [EXPORT_COMMAND, KEYPAIR_COMMAND],
  async register(app, core) {
    registerChanges(app, core);
    await registerSigner(app, core);
  },
});
