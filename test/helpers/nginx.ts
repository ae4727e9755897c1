// A real nginx (Debian package) run unprivileged-style under a temporary prefix, with the
// configuration shipped in dist/nginx/kinto-cdn.conf.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, sleep } from './processes.ts';

export const CDN_CONFIG = join(ROOT, 'dist/nginx/kinto-cdn.conf');

/**
 * The nginx binary. CI installs the package (`apt-get install -y --no-install-recommends
 * nginx`); as root, a missing one is installed here the same way. No silent skip.
 */
export function nginxBinary(): string {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    if (existsSync(candidate)) return candidate;
  }
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'nginx'], { stdio: 'ignore', timeout: 300_000 });
    if (existsSync('/usr/sbin/nginx')) return '/usr/sbin/nginx';
  }
  throw new Error('nginx is required for this test: apt-get install -y --no-install-recommends nginx');
}

/** The shipped configuration with its `${...}` placeholders filled in, as envsubst would. */
export function renderCdnConfig(values: Record<'NGINX_PREFIX' | 'KINTO_LISTEN' | 'KINTO_UPSTREAM', string>): string {
  let text = readFileSync(CDN_CONFIG, 'utf8');
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`\${${name}}`, value);
  const left = /\$\{[A-Z_]+\}/.exec(text.split('\n').filter((line) => !line.trimStart().startsWith('#')).join('\n'));
  if (left) throw new Error(`Unfilled placeholder ${left[0]} in ${CDN_CONFIG}`);
  return text;
}

export interface Nginx {
  readonly prefix: string;
  stop(): Promise<void>;
  errors(): string;
}

export async function startNginx(listen: string, upstream: string): Promise<Nginx> {
  const binary = nginxBinary();
  const prefix = mkdtempSync(join(tmpdir(), 'kinto-nginx-'));
  // As root, nginx workers run as `nobody`: they must reach the cache under the prefix.
  chmodSync(prefix, 0o755);
  const config = join(prefix, 'nginx.conf');
  writeFileSync(config, renderCdnConfig({ NGINX_PREFIX: prefix, KINTO_LISTEN: listen, KINTO_UPSTREAM: upstream }));
  execFileSync(binary, ['-t', '-q', '-p', prefix, '-c', config, '-e', join(prefix, 'error.log')]);
  const child: ChildProcess = spawn(binary, ['-p', prefix, '-c', config, '-e', join(prefix, 'error.log'), '-g', 'daemon off;'], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  for (let attempt = 0; ; attempt++) {
    try {
      // Not followed: the redirect target (the hello view) would be cached by this probe.
      await fetch(`http://${listen}/`, { redirect: 'manual', signal: AbortSignal.timeout(1_000) });
      break;
    } catch (error) {
      if (attempt > 100 || child.exitCode !== null) throw new Error(`nginx did not start: ${String(error)}`);
      await sleep(100);
    }
  }
  return {
    prefix,
    errors: () => (existsSync(join(prefix, 'error.log')) ? readFileSync(join(prefix, 'error.log'), 'utf8') : ''),
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGQUIT');
      await exited;
    },
  };
}
