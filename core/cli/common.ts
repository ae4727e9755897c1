import { existsSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { pluginMigrations, resolvePlugins, type PluginPlan } from '../plugins.ts';
import { loadConfig, type LoadedConfig } from '../settings/load.ts';
import type { ComponentMigrations } from '../sql/migrations.ts';

export const DEFAULT_INI = 'config/kinto.ini';

/** A failure the CLI reports as one line on stderr, with Kinto's exit code for that case. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** `--ini`, else `$KINTO_INI`, else config/kinto.ini when present (Kinto's lookup order). */
export function resolveIniPath(explicit: string | undefined): string | undefined {
  if (explicit) return explicit;
  if (process.env.KINTO_INI) return process.env.KINTO_INI;
  return existsSync(DEFAULT_INI) ? DEFAULT_INI : undefined;
}

export function loadCliConfig(iniPath: string | undefined): LoadedConfig {
  return loadConfig({ iniPath: resolveIniPath(iniPath), env: process.env });
}

export interface PluginConfig {
  /** The configuration, its settings completed with the included plugins' own. */
  config: LoadedConfig;
  plan: PluginPlan;
  /** The included plugins' schemas, migrated and checked with the core's. */
  migrations: ComponentMigrations[];
}

/** The configuration as the server sees it once its plugins are resolved (their settings, their tables). */
export async function loadPluginConfig(iniPath: string | undefined): Promise<PluginConfig> {
  const loaded = loadCliConfig(iniPath);
  const plan = await resolvePlugins(loaded);
  return { config: { ...loaded, settings: plan.settings }, plan, migrations: pluginMigrations(plan) };
}

/** Prompts only make sense when a person is at the keyboard and sees the question. */
export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

export interface Prompts {
  /** Asks one question on the terminal (stderr: stdout stays clean for data); `hidden` for secrets. */
  ask(question: string, options?: { hidden?: boolean }): Promise<string>;
}

/**
 * Questions on the terminal, all read through one line reader: answers typed ahead (or pasted)
 * wait for their question instead of being lost. Ctrl-C or Ctrl-D ends with `EndOfInput`.
 */
export async function withPrompts<T>(work: (prompts: Prompts) => Promise<T>): Promise<T> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const terminal = createInterface({ input: process.stdin, output, terminal: Boolean(process.stdin.isTTY) });
  terminal.on('SIGINT', () => terminal.close());
  const lines = terminal[Symbol.asyncIterator]();
  const prompts: Prompts = {
    async ask(question, options = {}) {
      terminal.setPrompt(question);
      terminal.prompt();
      // Typed characters are echoed through `output`: muted, a secret never shows.
      muted = Boolean(options.hidden);
      try {
        const next = await lines.next();
        if (next.done) throw new EndOfInput();
        return String(next.value).trim();
      } finally {
        muted = false;
        if (options.hidden) process.stderr.write('\n');
      }
    },
  };
  try {
    return await work(prompts);
  } finally {
    terminal.close();
  }
}

export class EndOfInput extends Error {
  constructor() {
    super('end of input');
  }
}

/** The lines piped on stdin (non-interactive answers), read once. */
export async function readStdinLines(): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/);
}

export interface Progress {
  tick(count?: number): void;
  done(): void;
}

const SILENT: Progress = { tick() {}, done() {} };

/**
 * A one-line counter redrawn in place on a terminal. In logs (stderr not a TTY) it prints
 * nothing: the command's final summary line is what an operator's log needs.
 */
export function progress(label: string, total?: number): Progress {
  const stream = process.stderr;
  if (!stream.isTTY) return SILENT;
  let count = 0;
  let lastDraw = 0;
  const draw = () => {
    const of = total === undefined ? '' : `/${total}`;
    stream.write(`\r${label}: ${count}${of}\u001b[K`);
  };
  return {
    tick(step = 1) {
      count += step;
      const now = Date.now();
      // Redraw at most ten times a second: a terminal is slow to scroll.
      if (now - lastDraw >= 100 || count === total) {
        lastDraw = now;
        draw();
      }
    },
    done() {
      draw();
      stream.write('\n');
    },
  };
}

/** Parses a non-negative integer option (commander gives strings). */
export function nonNegativeInteger(name: string): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a non-negative integer.`);
    const number = Number(value);
    // Beyond, the value is rounded, and PostgreSQL refuses it as a BIGINT parameter.
    if (!Number.isSafeInteger(number)) throw new InvalidArgumentError(`${name} must be at most ${Number.MAX_SAFE_INTEGER}.`);
    return number;
  };
}
