/**
 * Plugin loading in two steps: `resolvePlugins` finds the plugins of `kinto.includes`
 * and checks them (availability, dependencies, settings) before anything is opened;
 * `registerPlugins` then runs them on the assembled core, in order.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { KintoCore } from './context.ts';
import { isKintoPlugin, type KintoPlugin, type PluginCommand } from './plugin.ts';
import { auditSettings } from './settings/audit.ts';
import { coreSpecFor } from './settings/catalog/index.ts';
import { SettingsError } from './settings/ini.ts';
import { addWarning, type LoadedConfig } from './settings/load.ts';
import { extendSettings } from './settings/resolve.ts';
import type { Settings } from './settings/settings.ts';
import type { ComponentMigrations } from './sql/migrations.ts';
import { BUILTIN_PLUGINS } from '../plugins/catalog.ts';
import { PLANNED_PLUGINS } from '../plugins/known.ts';

export interface ResolvedPlugin {
  /** The `kinto.includes` entry as written. */
  readonly entry: string;
  readonly plugin: KintoPlugin;
}

export interface PluginPlan {
  readonly plugins: readonly ResolvedPlugin[];
  /** The settings, with every included plugin's declared settings resolved and checked. */
  readonly settings: Settings;
}

const IGNORE_HINT = 'remove it from kinto.includes, or list it in kinto.ignored_includes to start without it';

function isModuleNotFound(error: unknown, entry: string): boolean {
  const { code, message } = error as { code?: string; message?: string };
  const missing = code === 'ERR_MODULE_NOT_FOUND' || /cannot find (module|package)|failed to (load|resolve)/i.test(message ?? '');
  return missing && (message ?? '').includes(entry);
}

async function importEntry(entry: string): Promise<{ default?: unknown }> {
  const builtin = BUILTIN_PLUGINS.find((p) => p.name === entry || p.aliases.includes(entry));
  if (builtin) return builtin.load();
  const planned = PLANNED_PLUGINS.find((p) => p.name === entry || p.aliases.includes(entry));
  if (planned) {
    throw new SettingsError(`kinto.includes: plugin '${entry}' is not available yet in this server; ${IGNORE_HINT}`);
  }
  const isPath = entry.startsWith('.') || entry.startsWith('/');
  try {
    return await import(isPath ? pathToFileURL(resolve(entry)).href : entry);
  } catch (error) {
    if (isModuleNotFound(error, entry)) {
      const what = isPath ? 'no such file' : 'neither shipped with this server nor an installed npm package';
      throw new SettingsError(`kinto.includes: unknown plugin '${entry}' (${what}); ${IGNORE_HINT}`);
    }
    throw new SettingsError(`kinto.includes: cannot load plugin '${entry}' (${(error as Error).message})`);
  }
}

/** Resolves one `kinto.includes` entry: a shipped plugin (short or Python name), a path, or a package. */
async function resolvePlugin(entry: string): Promise<KintoPlugin> {
  const module = await importEntry(entry);
  if (!isKintoPlugin(module.default)) {
    throw new SettingsError(`kinto.includes: '${entry}' does not export a Kinto plugin (definePlugin) as default`);
  }
  return module.default;
}

function checkDependencies(plugin: KintoPlugin, loaded: readonly ResolvedPlugin[]): void {
  const names = loaded.map((resolved) => resolved.plugin.name);
  for (const dependency of plugin.dependencies ?? []) {
    if (!names.includes(dependency)) {
      throw new SettingsError(
        `Plugin '${plugin.name}' requires plugin '${dependency}': add it to kinto.includes before '${plugin.name}'`,
      );
    }
  }
}

/** A setting is declared once: by the core or by one plugin. */
function checkDeclarations(plugins: readonly ResolvedPlugin[]): void {
  const owners = new Map<string, string>();
  for (const { plugin } of plugins) {
    for (const [name] of plugin.settings?.entries() ?? []) {
      const owner = coreSpecFor(name) !== undefined ? 'the core' : owners.get(name);
      if (owner !== undefined) {
        throw new SettingsError(`Plugin '${plugin.name}' declares the setting '${name}', already declared by ${owner}`);
      }
      owners.set(name, `plugin '${plugin.name}'`);
    }
  }
}

/**
 * The plugins of `kinto.includes`, in order, checked: available, dependencies included
 * before them, settings valid. Warnings (skipped entries, settings nothing reads) go to
 * `config.warnings`.
 */
export async function resolvePlugins(config: LoadedConfig): Promise<PluginPlan> {
  const ignored = new Set(config.settings.list('ignored_includes'));
  const plugins: ResolvedPlugin[] = [];
  for (const entry of config.settings.list('includes')) {
    if (ignored.has(entry)) {
      addWarning(config, `Plugin '${entry}' of kinto.includes is skipped: it is listed in kinto.ignored_includes.`);
      continue;
    }
    const plugin = await resolvePlugin(entry);
    if (plugins.some((resolved) => resolved.plugin.name === plugin.name)) continue;
    checkDependencies(plugin, plugins);
    plugins.push({ entry, plugin });
  }
  checkDeclarations(plugins);
  const groups = plugins.flatMap(({ plugin }) => (plugin.settings ? [plugin.settings] : []));
  const settings = extendSettings(config.settings, config.sources, groups);
  const included = plugins.map(({ plugin }) => ({ name: plugin.name, settings: plugin.settings }));
  for (const warning of auditSettings(config.sources, included)) addWarning(config, warning);
  return { plugins, settings };
}

/** Runs each plugin's `register` with its typed settings; its public settings go to the hello view. */
export async function registerPlugins(app: FastifyInstance, core: KintoCore, plan: PluginPlan): Promise<string[]> {
  for (const { plugin } of plan.plugins) {
    for (const [name, spec] of plugin.settings?.entries() ?? []) {
      if (spec.public) core.publicSettings.add(name, true);
    }
    const typed = plugin.settings ? plugin.settings.read(core.settings) : {};
    try {
      await plugin.register(app, core, typed);
    } catch (error) {
      if (error instanceof SettingsError && !error.message.includes(`'${plugin.name}'`)) {
        throw new SettingsError(`Plugin '${plugin.name}': ${error.message}`);
      }
      throw error;
    }
  }
  return plan.plugins.map(({ plugin }) => plugin.name);
}

/**
 * Loads and registers the plugins of `kinto.includes` in one go (the settings of
 * `core` must already include the plugins' ones for typed values to be checked).
 */
export async function loadPlugins(app: FastifyInstance, core: KintoCore): Promise<string[]> {
  const plan = await resolvePlugins({ ...core.config, settings: core.settings });
  return registerPlugins(app, core, plan);
}

/** Schema migrations of the included plugins, for `openBackends`/`migrateBackends`. */
export function pluginMigrations(plan: PluginPlan): ComponentMigrations[] {
  return plan.plugins.flatMap(({ plugin }) => plugin.migrations ?? []);
}

/** CLI commands of the included plugins by name; two plugins may not claim the same one. */
export function pluginCommands(plan: PluginPlan): Map<string, PluginCommand> {
  const commands = new Map<string, PluginCommand>();
  for (const { plugin } of plan.plugins) {
    for (const command of plugin.cli ?? []) {
      // The same command shared by two plugins (changes, and remote_settings which includes it) is one command.
      if (commands.has(command.name) && commands.get(command.name) !== command) {
        throw new SettingsError(`Plugin '${plugin.name}' adds the command '${command.name}', already added by another plugin`);
      }
      commands.set(command.name, command);
    }
  }
  return commands;
}
