/**
 * The levels of Python's `logging.config.fileConfig` sections (`[loggers]`,
 * `[logger_<key>]`, `[handlers]`, `[handler_<key>]`) that Kinto INI files carry,
 * mapped to pino levels. Formatters and handler classes are Python objects: the
 * output format is chosen by the logging code, not here.
 */
import type { IniSections } from './ini.ts';
import { SettingsError } from './ini.ts';

export type PinoLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export interface LoggingLevels {
  /** Level of the root logger, or null when the file has no logging configuration. */
  readonly level: PinoLevel | null;
  /** Levels of named loggers by `qualname` (`kinto`, `request.summary`), when not inherited. */
  readonly loggers: Readonly<Record<string, PinoLevel>>;
  /** Levels of handlers by key (`console`); NOTSET lets everything through (`trace`). */
  readonly handlers: Readonly<Record<string, PinoLevel>>;
}

/** Python level names; NOTSET is handled by the callers (inherit, or everything). */
const PYTHON_LEVELS: Readonly<Record<string, PinoLevel>> = {
  CRITICAL: 'fatal',
  FATAL: 'fatal',
  ERROR: 'error',
  WARNING: 'warn',
  WARN: 'warn',
  INFO: 'info',
  DEBUG: 'debug',
};

const EXPECTED = 'one of CRITICAL, ERROR, WARNING, INFO, DEBUG, NOTSET';

function keysOf(sections: IniSections, section: string): string[] {
  const keys = sections.get(section)?.get('keys') ?? '';
  return keys.split(',').map((key) => key.trim()).filter((key) => key !== '');
}

/** The pino level of `[<section>] level`, null for NOTSET or no level. */
function levelOf(sections: IniSections, section: string): PinoLevel | null {
  const raw = sections.get(section)?.get('level');
  if (raw === undefined) return null;
  const name = raw.trim().toUpperCase();
  if (name === 'NOTSET') return null;
  const level = PYTHON_LEVELS[name];
  if (level === undefined) throw new SettingsError(`[${section}] level must be ${EXPECTED}, got '${raw.trim()}'`);
  return level;
}

function readLoggers(sections: IniSections, warnings: string[]): Record<string, PinoLevel> {
  const loggers: Record<string, PinoLevel> = {};
  for (const key of keysOf(sections, 'loggers')) {
    if (key === 'root') continue;
    const section = `logger_${key}`;
    if (!sections.has(section)) {
      warnings.push(`[loggers] lists '${key}' but there is no [${section}] section: that logger is ignored.`);
      continue;
    }
    const level = levelOf(sections, section);
    const qualname = sections.get(section)!.get('qualname')?.trim() || key;
    if (level !== null) loggers[qualname] = level;
  }
  return loggers;
}

function readHandlers(sections: IniSections): Record<string, PinoLevel> {
  const handlers: Record<string, PinoLevel> = {};
  for (const key of keysOf(sections, 'handlers')) {
    const level = sections.has(`handler_${key}`) ? levelOf(sections, `handler_${key}`) : null;
    handlers[key] = level ?? 'trace';
  }
  return handlers;
}

/** Reads the logging sections; a level Python would refuse stops the server. */
export function readLoggingLevels(sections: IniSections, warnings: string[]): LoggingLevels {
  if (!sections.has('loggers')) return Object.freeze({ level: null, loggers: {}, handlers: {} });
  // Python's root logger defaults to WARNING; NOTSET on the root means "everything".
  const rootSection = sections.get('logger_root');
  const rootLevel = rootSection === undefined ? 'warn' : (levelOf(sections, 'logger_root') ?? 'trace');
  return Object.freeze({
    level: rootLevel,
    loggers: Object.freeze(readLoggers(sections, warnings)),
    handlers: Object.freeze(readHandlers(sections)),
  });
}
