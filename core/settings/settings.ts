/**
 * The settings a running server reads: unprefixed names (`kinto.x` is accepted as
 * `x`), native values. Declared settings (core/settings/catalog, plugins' `settings`)
 * were validated at start-up; `SettingsGroup.read` gives them typed.
 */
import { SettingsError } from './ini.ts';

export type SettingValue = string | number | boolean | null;

const SETTINGS_PREFIX = 'kinto.';
const TRUTHY = new Set(['t', 'true', 'y', 'yes', 'on', '1']);
const INTEGER = /^[+-]?\d+$/;

export function unprefixed(name: string): string {
  return name.startsWith(SETTINGS_PREFIX) ? name.slice(SETTINGS_PREFIX.length) : name;
}

/** Read-only view of the settings, keyed by unprefixed name (`kinto.x` is accepted as `x`). */
export class Settings {
  readonly #values: Readonly<Record<string, SettingValue>>;

  constructor(values: Record<string, SettingValue>) {
    const copy: Record<string, SettingValue> = Object.create(null);
    for (const [key, value] of Object.entries(values)) copy[unprefixed(key)] = value;
    this.#values = Object.freeze(copy);
    Object.freeze(this);
  }

  get(name: string): SettingValue | undefined {
    const key = unprefixed(name);
    return Object.hasOwn(this.#values, key) ? this.#values[key] : undefined;
  }

  has(name: string): boolean {
    return Object.hasOwn(this.#values, unprefixed(name));
  }

  /** The value as text; `fallback` (or '') when unset or null. */
  str(name: string, fallback = ''): string {
    const value = this.get(name);
    return value === undefined || value === null ? fallback : String(value);
  }

  int(name: string, fallback?: number): number {
    const value = this.get(name);
    if (isBlank(value)) {
      if (fallback !== undefined) return fallback;
      throw new SettingsError(`Setting '${name}' is required (an integer)`);
    }
    return toInteger(name, value);
  }

  /** The integer value, or null when unset, null or empty (e.g. `paginate_by =`). */
  optionalInt(name: string): number | null {
    const value = this.get(name);
    return isBlank(value) ? null : toInteger(name, value);
  }

  /** Pyramid's `asbool`: known truthy words are true, anything else false. */
  bool(name: string, fallback = false): boolean {
    const value = this.get(name);
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'boolean') return value;
    return TRUTHY.has(String(value).trim().toLowerCase());
  }

  /** Pyramid's `aslist`: items separated by whitespace or newlines. */
  list(name: string): string[] {
    const value = this.get(name);
    if (value === undefined || value === null) return [];
    return String(value).split(/\s+/).filter((item) => item !== '');
  }

  keys(): string[] {
    return Object.keys(this.#values).sort();
  }

  /** Settings under `prefix`, keyed by the rest of their name. */
  withPrefix(prefix: string): Record<string, SettingValue> {
    const wanted = unprefixed(prefix);
    const result: Record<string, SettingValue> = {};
    for (const key of this.keys()) {
      if (key.startsWith(wanted) && key.length > wanted.length) result[key.slice(wanted.length)] = this.#values[key];
    }
    return result;
  }

  toJSON(): Record<string, SettingValue> {
    return { ...this.#values };
  }
}

function isBlank(value: SettingValue | undefined): value is undefined | null | '' {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function toInteger(name: string, value: SettingValue): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && INTEGER.test(value.trim())) {
    const parsed = Number(value.trim());
    if (Number.isSafeInteger(parsed)) return parsed;
  }
  throw new SettingsError(`Setting '${name}' must be an integer, got ${JSON.stringify(value)}`);
}
