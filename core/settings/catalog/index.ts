/** Every setting the core declares: defaults, types and the ones shown in the hello view. */
import type { SettingsGroup, SettingSpec } from '../schema.ts';
import { defaultsOf, specIn } from '../schema.ts';
import type { SettingValue } from '../settings.ts';
import { AUTH_SETTINGS, BACKEND_SETTINGS } from './backends.ts';
import { FEATURE_PATTERNS, FEATURE_SETTINGS, MONITORING_SETTINGS } from './features.ts';

export { AUTH_SETTINGS, BACKEND_SETTINGS, POLICY_OPTIONS } from './backends.ts';
export { FEATURE_SETTINGS, MONITORING_SETTINGS } from './features.ts';

export const CORE_GROUPS: readonly SettingsGroup[] = [
  FEATURE_SETTINGS,
  FEATURE_PATTERNS,
  MONITORING_SETTINGS,
  BACKEND_SETTINGS,
  AUTH_SETTINGS,
];

export const CORE_DEFAULTS: Readonly<Record<string, SettingValue>> = Object.freeze(defaultsOf(CORE_GROUPS));

export function coreSpecFor(name: string): SettingSpec | undefined {
  return specIn(CORE_GROUPS, name);
}

/** Settings of the core shown in the hello view's `settings`. */
export function corePublicSettings(): string[] {
  return CORE_GROUPS.flatMap((group) => group.entries().filter(([, spec]) => spec.public).map(([name]) => name));
}
