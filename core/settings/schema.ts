/**
 * Declared settings: each setting is written once, with its type, default,
 * description and visibility, by the core or by the plugin that reads it.
 * The loader uses the declarations to fill defaults, convert INI/environment
 * text, refuse bad values at start-up, and hand out typed values, so plugin
 * code never parses `settings.get('x') ?? '-1'` itself.
 */
import type { Settings, SettingValue } from './settings.ts';

export type SettingType = 'string' | 'int' | 'number' | 'bool' | 'list' | 'url' | 'enum';

export interface SettingSpec<T = unknown> {
  readonly type: SettingType;
  /** The default as stored in `Settings` (lists as whitespace-separated text). */
  readonly default: SettingValue;
  readonly description: string;
  /** Shown in the hello view's `settings`. */
  readonly public: boolean;
  /** What a valid value looks like, for error messages ("an integer"). */
  readonly expected: string;
  /** INI or environment text → the value to check (JSON-decoded like Kinto when it makes sense). */
  fromText(text: string): SettingValue;
  /** The value as stored, or throws `InvalidSettingValue`. */
  normalize(value: SettingValue): SettingValue;
  /** A stored (normalized) value as the typed value plugin code reads. */
  parse(value: SettingValue): T;
}

/** Thrown by `normalize`; the loader turns it into a `SettingsError` naming the setting. */
export class InvalidSettingValue extends Error {
  override readonly name = 'InvalidSettingValue';
}

export type SpecMap = Record<string, SettingSpec<unknown>>;

export type SettingsOf<S extends SpecMap> = { readonly [K in keyof S]: S[K] extends SettingSpec<infer T> ? T : never };

/** Settings whose names vary (`{bucket}.record_cache_expires_seconds`), matched on the full name. */
export interface SettingPattern {
  readonly pattern: RegExp;
  /** A name that matches, shown in documentation and warnings. */
  readonly example: string;
  readonly spec: SettingSpec;
}

export interface SettingsGroup<S extends SpecMap = SpecMap> {
  /** Prefix of every name in the group (`history.`), or '' for names used as written. */
  readonly namespace: string;
  readonly specs: Readonly<S>;
  readonly patterns: readonly SettingPattern[];
  /** The full (unprefixed) setting name of a declared setting. */
  key(name: keyof S & string): string;
  /** Declared settings by full name. */
  entries(): [string, SettingSpec][];
  /** The declaration that governs a full setting name (declared or pattern), if any. */
  specFor(fullName: string): SettingSpec | undefined;
  /** Typed values of the group, read from settings that were validated at start-up. */
  read(settings: Settings): SettingsOf<S>;
}

const TRUTHY = new Set(['t', 'true', 'y', 'yes', 'on', '1']);
const FALSY = new Set(['f', 'false', 'n', 'no', 'off', '0']);
const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

interface CommonOptions {
  description: string;
  public?: boolean;
}

function isBlank(value: SettingValue): value is null | '' {
  return value === null || (typeof value === 'string' && value.trim() === '');
}

function shown(value: SettingValue): string {
  return JSON.stringify(value);
}

/**
 * Kinto's `native_value`: a string that is valid JSON becomes its value, any
 * other string stays as is. Arrays/objects have no setting type, and integers
 * beyond float precision would be corrupted, so both stay raw strings.
 */
export function nativeValue(value: SettingValue): SettingValue {
  if (typeof value !== 'string') return value;
  let decoded: unknown;
  try {
    decoded = JSON.parse(value);
  } catch {
    return value;
  }
  if (typeof decoded === 'number' && INTEGER.test(value.trim()) && !Number.isSafeInteger(decoded)) return value;
  if (decoded === null || typeof decoded === 'string' || typeof decoded === 'number' || typeof decoded === 'boolean') {
    return decoded;
  }
  return value;
}

/** Text settings keep what the operator wrote (`1.0` stays `1.0`), minus JSON quotes. */
function textFromText(text: string): SettingValue {
  const decoded = nativeValue(text);
  return typeof decoded === 'string' || decoded === null ? decoded : text;
}

function spec<T>(fields: Omit<SettingSpec<T>, 'public' | 'fromText'> & CommonOptions & { textual?: boolean }): SettingSpec<T> {
  const { textual, ...rest } = fields;
  return Object.freeze({ ...rest, public: fields.public ?? false, fromText: textual ? textFromText : nativeValue });
}

function checkRange(value: number, options: { min?: number; max?: number }, expected: string): number {
  if ((options.min !== undefined && value < options.min) || (options.max !== undefined && value > options.max)) {
    throw new InvalidSettingValue(`must be ${expected}, got ${value}`);
  }
  return value;
}

function rangeText(kind: string, options: { min?: number; max?: number }): string {
  if (options.min !== undefined && options.max !== undefined) return `${kind} between ${options.min} and ${options.max}`;
  if (options.min !== undefined) return `${kind} >= ${options.min}`;
  if (options.max !== undefined) return `${kind} <= ${options.max}`;
  return kind;
}

function toInteger(value: SettingValue, expected: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && INTEGER.test(value.trim()) && Number.isSafeInteger(Number(value.trim()))) {
    return Number(value.trim());
  }
  throw new InvalidSettingValue(`must be ${expected}, got ${shown(value)}`);
}

interface RangeOptions extends CommonOptions {
  min?: number;
  max?: number;
}

function int(options: RangeOptions & { default: number }): SettingSpec<number> {
  const expected = rangeText('an integer', options);
  return spec<number>({
    ...options,
    type: 'int',
    expected,
    normalize: (value) => (isBlank(value) ? options.default : checkRange(toInteger(value, expected), options, expected)),
    parse: (value) => value as number,
  });
}

function optionalInt(options: RangeOptions & { default?: number | null }): SettingSpec<number | null> {
  const expected = `${rangeText('an integer', options)} or nothing`;
  return spec<number | null>({
    ...options,
    type: 'int',
    default: options.default ?? null,
    expected,
    normalize: (value) => (isBlank(value) ? null : checkRange(toInteger(value, expected), options, expected)),
    parse: (value) => value as number | null,
  });
}

function number(options: RangeOptions & { default: number }): SettingSpec<number> {
  const expected = rangeText('a number', options);
  const toNumber = (value: SettingValue): number => {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    if (typeof value === 'string' && NUMBER.test(value.trim())) return Number(value.trim());
    throw new InvalidSettingValue(`must be ${expected}, got ${shown(value)}`);
  };
  return spec<number>({
    ...options,
    type: 'number',
    expected,
    normalize: (value) => (isBlank(value) ? options.default : checkRange(toNumber(value), options, expected)),
    parse: (value) => value as number,
  });
}

/** Pyramid's `asbool` words, but anything else is refused instead of silently false. */
function bool(options: CommonOptions & { default: boolean }): SettingSpec<boolean> {
  const expected = 'a boolean (true/false, yes/no, on/off, 1/0)';
  return spec<boolean>({
    ...options,
    type: 'bool',
    expected,
    normalize: (value) => {
      if (isBlank(value)) return options.default;
      if (typeof value === 'boolean') return value;
      const word = String(value).trim().toLowerCase();
      if (TRUTHY.has(word)) return true;
      if (FALSY.has(word)) return false;
      throw new InvalidSettingValue(`must be ${expected}, got ${shown(value)}`);
    },
    parse: (value) => value as boolean,
  });
}

function string(options: CommonOptions & { default?: string }): SettingSpec<string> {
  const fallback = options.default ?? '';
  return spec<string>({
    ...options,
    type: 'string',
    default: fallback,
    expected: 'a text',
    textual: true,
    normalize: (value) => (value === null ? fallback : String(value)),
    parse: (value) => value as string,
  });
}

function optionalString(options: CommonOptions): SettingSpec<string | null> {
  return spec<string | null>({
    ...options,
    type: 'string',
    default: null,
    expected: 'a text or nothing',
    textual: true,
    normalize: (value) => (isBlank(value) ? null : String(value)),
    parse: (value) => value as string | null,
  });
}

/** Pyramid's `aslist`: stored as the text written, read as whitespace-separated items. */
function list(options: CommonOptions & { default?: readonly string[] }): SettingSpec<string[]> {
  const fallback = (options.default ?? []).join(' ');
  return spec<string[]>({
    ...options,
    type: 'list',
    default: fallback,
    expected: 'a list separated by spaces or new lines',
    textual: true,
    normalize: (value) => (value === null ? fallback : String(value)),
    parse: (value) => String(value).split(/\s+/).filter((item) => item !== ''),
  });
}

function url(options: CommonOptions & { default?: string | null; schemes?: readonly string[]; example: string }): SettingSpec<string | null> {
  const schemes = options.schemes?.map((scheme) => `${scheme}:`);
  const expected = `a URL like ${options.example}`;
  const fallback = options.default ?? null;
  return spec<string | null>({
    ...options,
    type: 'url',
    default: fallback,
    expected,
    textual: true,
    normalize: (value) => {
      if (isBlank(value)) return fallback;
      const text = String(value).trim();
      let parsed: URL;
      try {
        parsed = new URL(text);
      } catch {
        throw new InvalidSettingValue(`must be ${expected}, got ${shown(value)}`);
      }
      if (schemes && !schemes.includes(parsed.protocol)) {
        throw new InvalidSettingValue(`must be ${expected} (${options.schemes!.join(', ')}), got ${shown(value)}`);
      }
      return text;
    },
    parse: (value) => value as string | null,
  });
}

function oneOf<const V extends readonly string[]>(
  values: V,
  options: CommonOptions & { default: V[number] },
): SettingSpec<V[number]> {
  const expected = `one of ${values.join(', ')}`;
  return spec<V[number]>({
    ...options,
    type: 'enum',
    expected,
    textual: true,
    normalize: (value) => {
      if (isBlank(value)) return options.default;
      const text = String(value).trim();
      if (!values.includes(text)) throw new InvalidSettingValue(`must be ${expected}; got ${shown(value)}`);
      return text;
    },
    parse: (value) => value as V[number],
  });
}

/** Free-form options (of a listener, a policy): any value, JSON-decoded like Kinto, unchecked. */
function native(options: CommonOptions): SettingSpec<SettingValue> {
  return spec<SettingValue>({
    ...options,
    type: 'string',
    default: null,
    expected: 'any value',
    normalize: (value) => value,
    parse: (value) => value,
  });
}

/** Builders of setting declarations. */
export const setting = { int, optionalInt, number, bool, string, optionalString, list, url, oneOf, native };

function checkNamespace(namespace: string): string {
  const plain = namespace.startsWith('kinto.') ? namespace.slice('kinto.'.length) : namespace;
  if (plain !== '' && !/[._]$/.test(plain)) {
    throw new Error(`Settings namespace '${namespace}' must end with '.' or '_' (e.g. 'history.')`);
  }
  return plain;
}

/** Declares the settings a component reads, under `namespace` (e.g. `history.`). */
export function defineSettings<S extends SpecMap>(
  namespace: string,
  specs: S,
  patterns: readonly SettingPattern[] = [],
): SettingsGroup<S> {
  const prefix = checkNamespace(namespace);
  const byName = new Map<string, SettingSpec>(Object.entries(specs).map(([name, s]) => [prefix + name, s]));
  const cache = new WeakMap<Settings, SettingsOf<S>>();
  const read = (settings: Settings): SettingsOf<S> => {
    const known = cache.get(settings);
    if (known !== undefined) return known;
    const values: Record<string, unknown> = {};
    for (const [name, s] of Object.entries(specs)) {
      const stored = settings.get(prefix + name);
      values[name] = s.parse(stored === undefined ? s.default : s.normalize(stored));
    }
    const typed = Object.freeze(values) as SettingsOf<S>;
    cache.set(settings, typed);
    return typed;
  };
  return Object.freeze({
    namespace: prefix,
    specs,
    patterns,
    key: (name: keyof S & string) => prefix + name,
    entries: () => [...byName],
    specFor: (fullName: string) => byName.get(fullName) ?? patterns.find((p) => p.pattern.test(fullName))?.spec,
    read,
  });
}

/** Defaults of several groups, keyed by full name. */
export function defaultsOf(groups: readonly SettingsGroup[]): Record<string, SettingValue> {
  const defaults: Record<string, SettingValue> = {};
  for (const group of groups) {
    for (const [name, s] of group.entries()) defaults[name] = s.default;
  }
  return defaults;
}

/** The declaration governing a setting among several groups. */
export function specIn(groups: readonly SettingsGroup[], fullName: string): SettingSpec | undefined {
  for (const group of groups) {
    const found = group.specFor(fullName);
    if (found !== undefined) return found;
  }
  return undefined;
}
