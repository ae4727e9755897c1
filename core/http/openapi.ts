import type { FastifyInstance, RouteOptions } from 'fastify';
import type { KintoCore } from '../context.ts';
import { absoluteUrl } from './urls.ts';

interface CollectedRoute {
  path: string;
  methods: string[];
}

const DOCUMENTED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** `/v1/buckets/:bucket_id` → `/buckets/{bucket_id}`; null for routes outside the API. */
function swaggerPath(url: string): string | null {
  if (!url.startsWith('/v1/') || url.includes('*')) return null;
  const path = url.slice(3).replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
  return path === '' ? '/' : path;
}

function operation(path: string, method: string) {
  const parameters = [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({
    name, in: 'path', required: true, type: 'string',
  }));
  const tag = path.split('/').filter((p) => p && !p.startsWith('{')).at(-1) ?? 'Utilities';
  const operationId = `${method.toLowerCase()}_${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '') || 'root'}`;
  return {
    operationId,
    tags: [tag.replace(/^__|__$/g, '')],
    parameters,
    produces: ['application/json'],
    responses: { default: { description: 'A JSON body, or a Kinto error body (code, errno, error, message, details).' } },
  };
}

/**
 * `GET /v1/__api__`: an OpenAPI 2.0 description derived from the routes actually registered
 * (collected with `onRoute`), so it cannot drift from the server. Built once, on first use.
 */
export function collectOpenApiRoutes(app: FastifyInstance): CollectedRoute[] {
  const routes: CollectedRoute[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const path = swaggerPath(route.url);
    if (!path) return;
    const declared = (route.config as { apiMethods?: string[] } | undefined)?.apiMethods;
    const methods = (declared ?? (Array.isArray(route.method) ? route.method : [route.method]))
      .filter((m) => DOCUMENTED_METHODS.has(m) && m !== 'HEAD');
    routes.push({ path, methods });
  });
  return routes;
}

export function registerOpenApi(app: FastifyInstance, core: KintoCore, routes: CollectedRoute[]): void {
  let document: Record<string, unknown> | null = null;
  app.get('/v1/__api__', async (request) => {
    if (!document) {
      const paths: Record<string, Record<string, unknown>> = {};
      for (const route of routes) {
        paths[route.path] ??= {};
        for (const method of route.methods) paths[route.path][method.toLowerCase()] = operation(route.path, method);
      }
      const url = new URL(absoluteUrl(core.settings, request, '/'));
      document = {
        swagger: '2.0',
        info: { title: core.settings.str('project_name', 'kinto'), version: core.settings.str('http_api_version', '1.23') },
        host: url.host,
        basePath: '/v1',
        schemes: [url.protocol.replace(':', '')],
        securityDefinitions: Object.fromEntries(core.policies.map((p) => [p.name, p.openapi ?? { type: 'basic' }])),
        paths,
      };
    }
    return document;
  });
}
