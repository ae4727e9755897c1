import { definePlugin } from '../../core/plugin.ts';
import { methodNotAllowed } from '../../core/errors.ts';
import { defineSettings, setting } from '../../core/settings/schema.ts';

/**
 * `POST /v1/__flush__` empties every backend (development and tests only), when
 * `flush_endpoint_enabled` is true, as Kinto's flush plugin.
 */
export default definePlugin({
  name: 'flush',
  aliases: ['kinto.plugins.flush'],
  settings: defineSettings('', {
    flush_endpoint_enabled: setting.bool({ default: false, description: 'Serve POST /__flush__ (never in production).' }),
  }),
  register(app, core, settings) {
    if (!settings.flush_endpoint_enabled) return;
    core.capabilities.add('flush_endpoint', {
      description: 'The __flush__ endpoint can be used to remove all data from all backends.',
      url: 'https://kinto.readthedocs.io/en/latest/configuration/settings.html#activating-the-flush-endpoint',
    });
    app.post('/v1/__flush__', async (_request, reply) => {
      if (core.settings.bool('readonly', false)) throw methodNotAllowed();
      await Promise.all([core.storage.flush(), core.permission.flush(), core.cache.flush()]);
      return reply.code(202).send({});
    });
  },
});
