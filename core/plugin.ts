import type { FastifyInstance } from 'fastify';
import type { Backends } from './backends.ts';
import type { KintoCore } from './context.ts';
import type { SettingsGroup, SettingsOf, SpecMap } from './settings/schema.ts';
import type { LoadedConfig } from './settings/load.ts';
import type { ComponentMigrations } from './sql/migrations.ts';

/** What a plugin command receives: the loaded configuration and a way to reach the backends. */
export interface PluginCommandContext {
  readonly config: LoadedConfig;
  /** Opens the configured backends (migrated); the CLI closes them after the command. */
  openBackends(): Promise<Backends>;
}

/** A `kinto <name> ...` sub-command contributed by a plugin (e.g. `create-user`). */
export interface PluginCommand {
  readonly name: string;
  /** One line, shown by `kinto --help`. */
  readonly description: string;
  /** `argv` holds the arguments after the command name; the result is the exit code (0 by default). */
  run(argv: readonly string[], context: PluginCommandContext): Promise<number | void> | number | void;
}

/**
 * The one contract every plugin (ours or a third party's) follows. `aliases` holds the
 * Python names operators already write in `kinto.includes`. Everything but `name` and
 * `register` is optional.
 */
export interface KintoPlugin<S extends SpecMap = SpecMap> {
  readonly name: string;
  readonly aliases?: readonly string[];
  /** Plugins (by name) that must be included before this one. */
  readonly dependencies?: readonly string[];
  /**
   * The settings the plugin reads (`defineSettings('history.', {...})`): checked at start-up,
   * their defaults and environment overrides applied, handed typed to `register`.
   */
  readonly settings?: SettingsGroup<S>;
  /** SQL schema of the plugin's own tables, applied on the storage database with the core's. */
  readonly migrations?: readonly ComponentMigrations[];
  /** Sub-commands of the `kinto` CLI. */
  readonly cli?: readonly PluginCommand[];
  register(app: FastifyInstance, core: KintoCore, settings: SettingsOf<S>): Promise<void> | void;
}

export function definePlugin<S extends SpecMap = SpecMap>(plugin: KintoPlugin<S>): KintoPlugin<S> {
  return Object.freeze({ ...plugin });
}

export function isKintoPlugin(value: unknown): value is KintoPlugin {
  const candidate = value as KintoPlugin | null;
  return Boolean(candidate) && typeof candidate!.name === 'string' && typeof candidate!.register === 'function';
}
