/**
 * kinto.plugins.admin: serves the Kinto Admin (a static web application) at `/v1/admin/`.
 *
 * Kinto's Python package bundles a build of the Admin; this server does not (the npm
 * package holds no build), so operators point `admin_assets_path` at a release of
 * Kinto/kinto-admin built with `ASSET_PATH=/v1/admin/` (its `VERSION` file gives the
 * capability's version). Without it, `/v1/admin/` explains how to get one, as Kinto's
 * help page does when its build is missing.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { definePlugin } from '../../core/plugin.ts';
import { defineSettings, setting } from '../../core/settings/schema.ts';

export const ADMIN_SETTINGS = defineSettings('', {
  admin_assets_path: setting.optionalString({ description: 'Folder of a Kinto Admin build (made with ASSET_PATH=/v1/admin/).' }),
});

/** Only the page's own origin may run scripts (Kinto's header against XSS). */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  'img-src data: *',
  "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
].join('; ');

const HELP_PAGE = `<html>
<body>
    <h1>Kinto Admin</h1>
    <section>
        <h2>What's wrong?</h2>
        The Kinto Admin UI is a <a href="https://github.com/Kinto/kinto-admin/">JavaScript project</a>
        which is not delivered with this server.
    </section>
    <section>
        <h2>Install it</h2>
        <p>Download a release of the Kinto Admin built for <code>/v1/admin/</code>, unpack it, set
        <code>kinto.admin_assets_path</code> to its folder and restart the server.</p>
    </section>
    <section>
        <h2>...or use the online version</h2>
        The Kinto Admin is a static Web application: open
        <a href="https://kinto.github.io/kinto-admin/">https://kinto.github.io/kinto-admin/</a>
        and set the server address to this server's <em>/v1</em> URL.
    </section>
</body>
</html>
`;

function readOptional(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function registerRoutes(app: FastifyInstance, assets: string | null, homePage: string): void {
  // `/v1/admin` → `/v1/admin/` (Kinto's redirect keeps the path only).
  app.get('/v1/admin', async (_request, reply) => reply.code(307).header('Location', '/v1/admin/').send());
  app.register(async (scope) => {
    scope.get('/v1/admin/', async (_request, reply) =>
      reply.header('Content-Security-Policy', CONTENT_SECURITY_POLICY).type('text/html; charset=UTF-8').send(homePage),
    );
    if (assets === null) return;
    // The build's files; anything outside the folder (`..`, symlinks out) is a 404.
    await scope.register(fastifyStatic, { root: assets, prefix: '/v1/admin/', index: false, decorateReply: false, dotfiles: 'deny' });
  });
}

export default definePlugin({
  name: 'admin',
  aliases: ['kinto.plugins.admin'],
  settings: ADMIN_SETTINGS,
  register(app, core, settings) {
    const assets = settings.admin_assets_path === null ? null : resolve(settings.admin_assets_path);
    // Read once, as Kinto's `cache_forever` home view: the build does not change under a running server.
    const homePage = (assets && readOptional(join(assets, 'index.html'))) ?? HELP_PAGE;
    const version = assets ? readOptional(join(assets, 'VERSION'))?.trim() ?? null : null;
    core.capabilities.add('admin', {
      description: 'Serves the admin console.',
      url: 'https://github.com/Kinto/kinto-admin/',
      version,
    });
    registerRoutes(app, assets, homePage);
  },
});
