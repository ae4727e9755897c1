/**
 * Once the included plugins are known: which settings of the INI file nothing
 * reads. Settings of a known plugin that is not included get one warning per
 * plugin; other unknown names get one warning each (usually a typo).
 */
import { BUILTIN_PLUGINS } from '../../plugins/catalog.ts';
import { PLANNED_PLUGINS, pluginsOwning } from '../../plugins/known.ts';
import { coreSpecFor } from './catalog/index.ts';
import { isPythonOnly } from './python-only.ts';
import type { SettingSources } from './resolve.ts';
import type { SettingsGroup } from './schema.ts';

export interface IncludedPlugin {
  readonly name: string;
  readonly settings?: SettingsGroup;
}

type Verdict = { kind: 'known' } | { kind: 'unknown' } | { kind: 'not-included'; plugin: string } | { kind: 'undeclared'; plugin: string };

/** Namespaces an included plugin claims without declaring: its catalogue ones, `<name>.`. */
function claims(plugin: IncludedPlugin, key: string): boolean {
  return key.startsWith(`${plugin.name}.`) || pluginsOwning(key).includes(plugin.name);
}

function verdict(key: string, included: readonly IncludedPlugin[]): Verdict {
  const owners = pluginsOwning(key);
  const names = new Set(included.map((plugin) => plugin.name));
  if (owners.length > 0 && !owners.some((owner) => names.has(owner))) return { kind: 'not-included', plugin: owners[0] };
  if (coreSpecFor(key) !== undefined) return { kind: 'known' };
  for (const plugin of included) {
    if (plugin.settings?.specFor(key) !== undefined) return { kind: 'known' };
  }
  for (const plugin of included) {
    const declaredNamespace = plugin.settings?.namespace;
    if (declaredNamespace && key.startsWith(declaredNamespace)) return { kind: 'undeclared', plugin: plugin.name };
    if (claims(plugin, key)) return { kind: 'known' };
  }
  return { kind: 'unknown' };
}

/** `'history' (kinto.plugins.history)`: the plugin as operators write it in kinto.includes. */
function describePlugin(name: string): string {
  const known = [...BUILTIN_PLUGINS, ...PLANNED_PLUGINS].find((plugin) => plugin.name === name);
  return known?.aliases.length ? `'${name}' (${known.aliases[0]})` : `'${name}'`;
}

/** Warnings about INI settings nothing reads, given the included plugins. */
export function auditSettings(sources: SettingSources, included: readonly IncludedPlugin[]): string[] {
  const warnings: string[] = [];
  const notIncluded = new Map<string, string[]>();
  for (const [key, entry] of sources.ini) {
    if (isPythonOnly(key)) continue;
    const found = verdict(key, included);
    if (found.kind === 'not-included') {
      notIncluded.set(found.plugin, [...(notIncluded.get(found.plugin) ?? []), entry.written]);
    } else if (found.kind === 'undeclared') {
      warnings.push(`Setting '${entry.written}' is ignored: plugin '${found.plugin}' has no such setting (check its spelling).`);
    } else if (found.kind === 'unknown') {
      warnings.push(`Setting '${entry.written}' is ignored: neither the core nor an included plugin reads it (check its spelling).`);
    }
  }
  for (const [plugin, written] of notIncluded) {
    const list = written.map((name) => `'${name}'`).join(', ');
    const subject = written.length > 1 ? `Settings ${list} are` : `Setting ${list} is`;
    warnings.push(`${subject} ignored: plugin ${describePlugin(plugin)} is not included (kinto.includes).`);
  }
  return warnings;
}
