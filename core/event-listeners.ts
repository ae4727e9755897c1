/**
 * Event listeners configured in the INI file, as Kinto's `setup_listeners`:
 *
 *     kinto.event_listeners = redis
 *     kinto.event_listeners.redis.use = kinto_redis.listeners      (or our short name `redis`)
 *     kinto.event_listeners.redis.actions = create delete          (default: create update delete)
 *     kinto.event_listeners.redis.resources = record               (default: every resource)
 *     kinto.event_listeners.redis.url = redis://127.0.0.1:6379/0   (transport options)
 *
 * A name may also be the transport itself (`kinto.event_listeners = kinto_redis.listeners`),
 * its options then read under its last dotted segment (`event_listeners.listeners.*`).
 * Listeners receive events after commit, so a rolled-back write is never announced, and
 * never delay the response nor fail it: delivery errors are logged.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { KintoCore } from './context.ts';
import { ACTIONS, type Action, type ResourceEvent } from './events.ts';
import { SettingsError } from './settings/ini.ts';

/** What a transport is built from: its name, its `use` value and its own settings. */
export interface ListenerConfig {
  readonly name: string;
  readonly use: string;
  /** `event_listeners.<name>.` */
  readonly prefix: string;
  /** A transport option (`url`, `channel`...), i.e. the setting `<prefix><key>`. */
  option(key: string): string | undefined;
}

/** Sends committed events somewhere (a Redis channel, a queue, a webhook...). */
export interface EventTransport {
  /** Called in commit order; should queue synchronously and may settle later. */
  deliver(events: readonly ResourceEvent[]): Promise<void>;
  close?(): Promise<void>;
}

export type TransportFactory = (config: ListenerConfig, core: KintoCore) => EventTransport | Promise<EventTransport>;

interface BuiltinTransport {
  readonly names: readonly string[];
  readonly load: () => Promise<{ default?: unknown }>;
}

/** Transports shipped with the server, under our names and the Python modules they replace. */
const BUILTIN_TRANSPORTS: readonly BuiltinTransport[] = [
  { names: ['redis', 'kinto_redis.listeners', 'kinto_redis'], load: () => import('./listeners/redis.ts') },
];

const WRITE_ACTIONS: readonly Action[] = ['create', 'update', 'delete'];

function builtinFor(name: string): BuiltinTransport | undefined {
  return BUILTIN_TRANSPORTS.find((t) => t.names.includes(name));
}

/** A third-party transport: a path or an npm package default-exporting a `TransportFactory`. */
async function loadFactory(use: string, setting: string): Promise<TransportFactory> {
  let module: { default?: unknown };
  try {
    const builtin = builtinFor(use);
    if (builtin) module = await builtin.load();
    else if (use.startsWith('.') || use.startsWith('/')) module = await import(pathToFileURL(resolve(use)).href);
    else module = await import(use);
  } catch (error) {
    throw new SettingsError(`${setting}: cannot load event listener '${use}' (${(error as Error).message})`);
  }
  if (typeof module.default !== 'function') {
    throw new SettingsError(`${setting}: '${use}' does not export an event listener factory as default`);
  }
  return module.default as TransportFactory;
}

function configFor(core: KintoCore, name: string): ListenerConfig {
  const named = `event_listeners.${name}.`;
  const declared = core.settings.str(`${named}use`, '');
  // Without `.use`, Kinto accepts the listener module itself as the name, configured under its last segment.
  const direct = !declared && builtinFor(name) !== undefined;
  const prefix = direct ? `event_listeners.${name.split('.').at(-1)}.` : named;
  const use = direct ? name : declared;
  if (!use) throw new SettingsError(`Event listener '${name}' needs a '${named}use' setting`);
  return {
    name,
    use,
    prefix,
    option(key) {
      const value = core.settings.get(`${prefix}${key}`);
      return value === undefined || value === null || value === '' ? undefined : String(value);
    },
  };
}

function actionsOf(core: KintoCore, prefix: string): Action[] {
  const configured = core.settings.list(`${prefix}actions`);
  if (configured.length === 0) return [...WRITE_ACTIONS];
  for (const action of configured) {
    if (!(ACTIONS as readonly string[]).includes(action)) {
      throw new SettingsError(`${prefix}actions: '${action}' is not one of ${ACTIONS.join(', ')}`);
    }
  }
  return configured as Action[];
}

/** Builds and subscribes every listener of `kinto.event_listeners` (before the server starts). */
export async function registerEventListeners(app: FastifyInstance, core: KintoCore): Promise<void> {
  for (const name of core.settings.list('event_listeners')) {
    const config = configFor(core, name);
    const actions = actionsOf(core, config.prefix);
    const resources = core.settings.list(`${config.prefix}resources`);
    const factory = await loadFactory(config.use, `${config.prefix}use`);
    const transport = await factory(config, core);
    core.events.subscribe({
      phase: 'commit',
      actions,
      resources: resources.length ? resources : undefined,
      async handle(events) {
        const started = performance.now();
        // Not awaited: a slow or unreachable transport must not hold the response.
        transport.deliver(events).then(
          () => core.metrics.timer(`listeners.${name}.seconds`, (performance.now() - started) / 1000),
          (error: unknown) => app.log.error({ err: error, listener: name }, 'Event listener failed to deliver events'),
        );
      },
    });
    if (transport.close) app.addHook('onClose', () => transport.close!());
  }
}

/** The JSON an event is published as: Kinto's payload, plus the objects it changed. */
export function eventMessage(event: ResourceEvent): string {
  return JSON.stringify({ ...event.payload, impacted_objects: event.impacted });
}
