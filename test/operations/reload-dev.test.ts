// `kinto start --reload` (development): the server restarts when its configuration changes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { childPids, eventually, freePort, isAlive, spawnKinto, waitUntilServing } from '../helpers/processes.ts';

vi.setConfig({ testTimeout: 180_000 });

const ini = (name: string) => `[app:main]
kinto.project_name = ${name}
kinto.storage_backend = kinto.core.storage.memory
kinto.permission_backend = kinto.core.permission.memory
kinto.cache_backend = kinto.core.cache.memory

[server:main]
host = 127.0.0.1
`;

async function projectName(base: string): Promise<string | null> {
  try {
    return ((await (await fetch(`${base}/`)).json()) as { project_name: string }).project_name;
  } catch {
    return null; // Restarting.
  }
}

describe('kinto start --reload', () => {
  it('restarts the server with the new settings when the INI file changes, and stops it on exit', async () => {
    const iniPath = join(mkdtempSync(join(tmpdir(), 'kinto-reload-')), 'dev.ini');
    writeFileSync(iniPath, ini('before'));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/v1`;
    const watcher = spawnKinto(['start', '--reload', '--ini', iniPath, '--port', String(port)]);
    try {
      await waitUntilServing(`${base}/__lbheartbeat__`, watcher);
      expect(await projectName(base)).toBe('before');
      const [first] = childPids(watcher.pid);

      writeFileSync(iniPath, ini('after'));
      await eventually(async () => (await projectName(base)) === 'after', 'the restarted server', 120_000);
      expect(watcher.stderr()).toContain('changed, restarting');
      const [second] = childPids(watcher.pid);
      expect(second).not.toBe(first);
      expect(isAlive(first)).toBe(false);

      expect(await watcher.stop()).toBe(0);
      expect(isAlive(second)).toBe(false);
    } finally {
      await watcher.stop();
    }
  });
});
