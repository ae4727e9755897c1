import { definePlugin } from '../../core/plugin.ts';
import { methodNotAllowed } from '../../core/errors.ts';
import { authenticate } from '../../core/http/identity.ts';
import { defineSettings, setting } from '../../core/settings/schema.ts';

/**
 * `POST /v1/__flush__` empties every backend (development and tests only). As in Kinto 26,
 * including the plugin is what enables the endpoint; `flush_endpoint_enabled` is still
 * accepted so that older INI files start without a warning, but no longer gates anything.
 */
export default definePlugin({
  name: 'flush',
  aliases: ['kinto.plugins.flush'],
  settings: defineSettings('', {
    flush_endpoint_enabled: setting.bool({
      default: false,
      description: 'Legacy switch of Kinto < 14; including the flush plugin is what serves POST /__flush__.',
    }),
  }),
  register(app, core) {
    core.capabilities.add('flush_endpoint', {
      description: 'The __flush__ endpoint can be used to remove all data from all backends.',
      url: 'https://kinto.readthedocs.io/en/latest/api/1.x/flush.html',
    });
    app.post('/v1/__flush__', async (request, reply) => {
      if (core.settings.bool('readonly', false)) throw methodNotAllowed();
      await Promise.all([core.storage.flush(), core.permission.flush(), core.cache.flush()]);
      const { userId } = await authenticate(core, request);
      await core.events.serverFlushed({ timestamp: Date.now(), user_id: userId });
      return reply.code(202).send({});
    });
  },
});
