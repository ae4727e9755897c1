import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Authorizer } from './auth/authorization.ts';
import { defaultInheritanceTree } from './auth/inheritance.ts';
import { basicAuthPolicy, type AuthenticationPolicy, type PolicyFactory } from './auth/policies.ts';
import { adaptToReadOnlyUser, openBackends, type Backends } from './backends.ts';
import { Registry, type Capability, type Heartbeat, type KintoCore, type UserInfoProvider } from './context.ts';
import { registerEventListeners } from './event-listeners.ts';
import { EventBus } from './events.ts';
import { registerBatch } from './http/batch.ts';
import { registerContentTypes } from './http/content.ts';
import { frameworkErrorHandler, registerErrorHandler } from './http/error-handler.ts';
import { registerGlobalHooks } from './http/hooks.ts';
import { requestLoggingOptions } from './http/logging.ts';
import { registerMonitoring } from './http/monitoring.ts';
import { registerNotFound } from './http/not-found.ts';
import { collectOpenApiRoutes, registerOpenApi } from './http/openapi.ts';
import { registerReadonlyGuard, registerVary } from './http/public-cache.ts';
import { registerPermissionsEndpoint } from './http/permissions-endpoint.ts';
import { registerUserData } from './http/user-data.ts';
import { registerUtilityViews } from './http/utility.ts';
import { Metrics, instrumentCore } from './metrics.ts';
import { pluginMigrations, registerPlugins, resolvePlugins } from './plugins.ts';
import type { ResourceDefinition } from './resource/definition.ts';
import { registerResource } from './resource/routes.ts';
import { ListingCache } from './resource/listing-cache.ts';
import { kintoResources } from './resources/index.ts';
import { corePublicSettings } from './settings/catalog/index.ts';
import { addWarning, type LoadedConfig } from './settings/load.ts';
import { SettingsError } from './settings/ini.ts';

declare module 'fastify' {
  interface FastifyInstance {
    kinto: KintoCore;
  }
}

export const PACKAGE_VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

export interface BuildOptions {
  /** Backends to use instead of those named in the settings (tests). */
  backends?: Backends;
  logger?: FastifyServerOptions['logger'];
}

const CORE_POLICIES: Record<string, PolicyFactory> = {
  'kinto.core.authentication.BasicAuthAuthenticationPolicy': basicAuthPolicy,
};

function createCore(config: LoadedConfig, backends: Backends): KintoCore {
  const settings = config.settings;
  const tree = defaultInheritanceTree();
  const policyFactories = new Registry<PolicyFactory>('authentication policy');
  for (const [name, factory] of Object.entries(CORE_POLICIES)) policyFactories.add(name, factory);
  return {
    config,
    settings,
    version: PACKAGE_VERSION,
    ...backends,
    events: new EventBus(),
    tree,
    authorizer: new Authorizer(settings, tree),
    policies: [],
    policyFactories,
    capabilities: new Registry<Capability>('capability'),
    heartbeats: new Registry<Heartbeat>('heartbeat'),
    resources: new Registry<ResourceDefinition>('resource'),
    publicSettings: new Registry<true>('public setting'),
    userInfo: new Registry<UserInfoProvider>('user info provider'),
    metrics: new Metrics(),
    listings: new ListingCache(settings.int('listing_cache_max_size_bytes', 16 * 1024 * 1024)),
  };
}

/** `multiauth.policies` in order, each built by the factory its `.use` names. */
function buildPolicies(core: KintoCore): AuthenticationPolicy[] {
  return core.settings.list('multiauth.policies').map((name) => {
    const use = core.settings.str(`multiauth.policy.${name}.use`, '');
    const factory = core.policyFactories.get(use);
    if (!factory) {
      throw new SettingsError(`Unknown authentication policy '${use}' for multiauth.policy.${name}.use`);
    }
    return factory(name, core.settings);
  });
}

function registerCoreCapabilities(core: KintoCore): void {
  const s = core.settings;
  for (const name of corePublicSettings()) core.publicSettings.add(name, true);
  if (s.bool('experimental_collection_schema_validation', false)) {
    core.capabilities.add('schema', {
      description: 'Validates collection records with JSON schemas.',
      url: 'https://kinto.readthedocs.io/en/latest/api/1.x/collections.html#collection-json-schema',
    });
  }
  if (core.policies.some((p) => s.str(`multiauth.policy.${p.name}.use`, '') in CORE_POLICIES)) {
    core.capabilities.add('basicauth', {
      description: 'Very basic authentication sessions. Not for production use.',
      url: 'http://kinto.readthedocs.io/en/stable/api/1.x/authentication.html',
    });
  }
  core.heartbeats.add('storage', () => core.storage.heartbeat());
  core.heartbeats.add('permission', () => core.permission.heartbeat());
  core.heartbeats.add('cache', () => core.cache.heartbeat());
}

export async function buildApp(loaded: LoadedConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  // Plugins are checked (and their settings resolved) before any backend is opened.
  const plan = await resolvePlugins(loaded);
  const opened = options.backends ?? (await openBackends(plan.settings, pluginMigrations(plan)));
  const adapted = await adaptToReadOnlyUser(plan.settings, opened, (warning) => addWarning(loaded, warning));
  const config: LoadedConfig = { ...loaded, settings: adapted.settings };
  const backends = adapted.backends;
  const core = createCore(config, backends);
  const app = Fastify({
    logger: options.logger ?? false,
    // Any id a client can create must be reachable by its URL: Node caps the request line
    // with the headers at 16 KiB, so no path segment can be longer than that.
    routerOptions: { maxParamLength: 16 * 1024 },
    bodyLimit: 8 * 1024 * 1024,
    frameworkErrors: frameworkErrorHandler(config.settings),
    ...requestLoggingOptions(),
  });
  app.decorate('kinto', core);
  await registerMonitoring(app, core);
  const apiRoutes = collectOpenApiRoutes(app);
  registerContentTypes(app);
  registerErrorHandler(app, core.settings);
  registerNotFound(app, core.settings);
  registerGlobalHooks(app, core.settings);
  registerReadonlyGuard(app, core.settings);
  registerVary(app, core.settings);

  for (const definition of kintoResources(core.settings)) core.resources.add(definition.name, definition);
  await registerPlugins(app, core, plan);
  await registerEventListeners(app, core);
  // Plugins have chosen the metrics service: backends get timed from here on.
  instrumentCore(core);
  (core.policies as AuthenticationPolicy[]).push(...buildPolicies(core));
  registerCoreCapabilities(core);

  for (const [, definition] of core.resources.all()) registerResource(app, core, definition);
  registerUtilityViews(app, core);
  registerOpenApi(app, core, apiRoutes);
  registerBatch(app, core);
  registerPermissionsEndpoint(app, core);
  registerUserData(app, core);

  for (const warning of config.warnings) app.log.warn(warning);
  app.addHook('onReady', async () => {
    for (const registry of [core.capabilities, core.heartbeats, core.resources, core.publicSettings, core.userInfo]) {
      registry.close();
    }
    core.events.close();
  });
  app.addHook('onClose', async () => {
    await Promise.all([core.storage.close(), core.permission.close(), core.cache.close()]);
  });
  return app;
}
