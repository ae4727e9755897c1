import { spawn, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI_ENTRY = fileURLToPath(new URL('../cli.ts', import.meta.url));
/** Editors write a file in several steps: one restart per burst of changes. */
const DEBOUNCE_MS = 250;

function log(message: string): void {
  console.error(`kinto --reload: ${message}`);
}

/** Source folders and the INI file: what a developer edits. */
function watchChanges(iniPath: string | undefined, onChange: (path: string) => void): FSWatcher[] {
  const watchers: FSWatcher[] = [];
  for (const folder of ['core', 'plugins']) {
    const root = resolve(PROJECT_ROOT, folder);
    watchers.push(watch(root, { recursive: true }, (_event, name) => onChange(resolve(root, String(name)))));
  }
  if (iniPath) {
    // The folder is watched, not the file: editors replace the file, which ends a file watch.
    const file = resolve(iniPath);
    watchers.push(
      watch(dirname(file), (_event, name) => {
        if (name === basename(file)) onChange(file);
      }),
    );
  }
  return watchers;
}

function stopChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });
}

/**
 * `kinto start --reload` (development): runs the server in a child process with the same
 * arguments, and restarts it whenever a source file or the INI file changes.
 */
export function runWithReload(argv: readonly string[], iniPath: string | undefined): Promise<void> {
  const childArgs = argv.filter((arg) => arg !== '--reload');
  let child: ChildProcess | null = null;
  let timer: NodeJS.Timeout | undefined;
  let restarting = Promise.resolve();

  const launch = () => {
    const current = spawn(process.execPath, [...process.execArgv, CLI_ENTRY, ...childArgs], { stdio: 'inherit' });
    current.once('exit', (code, signal) => {
      if (child === current) log(`server exited (${signal ?? `code ${code}`}); waiting for a change to restart it`);
    });
    child = current;
  };
  const restart = (path: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      restarting = restarting.then(async () => {
        log(`${path} changed, restarting`);
        const previous = child;
        child = null;
        await stopChild(previous);
        launch();
      });
    }, DEBOUNCE_MS);
  };

  const watchers = watchChanges(iniPath, restart);
  launch();
  return new Promise((resolveDone) => {
    const stop = async () => {
      clearTimeout(timer);
      for (const watcher of watchers) watcher.close();
      await restarting;
      await stopChild(child);
      resolveDone();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
