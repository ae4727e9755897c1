// The distribution (dist/), its Docker image recipe and docker-compose.yml. No Docker engine
// runs here: the files are parsed and checked, and the image's own start command is run on
// this machine, from a folder laid out as the image's /app, against the local PostgreSQL.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { BUILTIN_PLUGINS } from '../../plugins/catalog.ts';
import { loadConfig } from '../../core/settings/load.ts';
import { createTestDatabase } from '../helpers/databases.ts';
import { childPids, cleanEnv, freePort, NODE, ROOT, sleep, waitUntilServing } from '../helpers/processes.ts';

vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerfile(): Instruction[] {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

/** The instructions of the last stage (what the image is). */
function finalStage(instructions: Instruction[]): Instruction[] {
  const start = instructions.map((i) => i.keyword).lastIndexOf('FROM');
  return instructions.slice(start);
}

function envOf(stage: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { args } of stage.filter((i) => i.keyword === 'ENV')) {
    for (const [, name, value] of args.matchAll(/(\w+)=(\S+)/g)) env[name] = value;
  }
  return env;
}

function execForm(stage: Instruction[], keyword: string): string[] {
  const instruction = stage.find((i) => i.keyword === keyword);
  if (!instruction) throw new Error(`no ${keyword}`);
  return JSON.parse(instruction.args.replace(/^.*?CMD\s+/, '')) as string[];
}

/** Packages imported by the files the image runs: its entry points and what they import. */
function runtimePackages(entries: string[]): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const pending = entries.map((entry) => join(ROOT, entry));
  while (pending.length) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    const statics = [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gm)];
    const dynamics = [...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)];
    for (const [, specifier] of [...statics, ...dynamics]) {
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier));
      else if (!specifier.startsWith('node:') && !builtinModules.includes(specifier)) {
        packages.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
      }
    }
  }
  return packages;
}

describe('Dockerfile', () => {
  const instructions = dockerfile();
  const image = finalStage(instructions);

  it('is multi-stage: production dependencies are installed apart and copied in', () => {
    const stages = instructions.filter((i) => i.keyword === 'FROM');
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(instructions.some((i) => i.keyword === 'RUN' && /npm ci --omit=dev/.test(i.args))).toBe(true);
    expect(image.some((i) => i.keyword === 'COPY' && /^--from=dependencies \/app\/node_modules/.test(i.args))).toBe(true);
    expect(image.some((i) => /npm/.test(i.args) && i.keyword === 'RUN')).toBe(false);
    const arg = instructions.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))!;
    expect(arg.args).toMatch(/^NODE_IMAGE=node:24-[a-z]+-slim$/);
  });

  it('gets every package the server imports: none is a devDependency left out of the image', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const used = runtimePackages(['core/cli.ts', 'core/cli/worker.ts', 'dist/healthcheck.ts', 'dist/write-version.ts']);
    expect([...used]).toEqual(expect.arrayContaining(['fastify', 'pg', '@electric-sql/pglite', 'commander', 'yaml', 'bcryptjs']));
    for (const name of used) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry, name).toBeDefined();
      expect(entry.dev ?? false, `${name} is only installed for development`).toBe(false);
    }
  });

  it('runs as the non-root user 10001, from /app, on $PORT (8888, exposed)', () => {
    expect(image.find((i) => i.keyword === 'USER')?.args).toBe('10001');
    expect(image.some((i) => i.keyword === 'RUN' && /useradd .*--uid 10001/.test(i.args))).toBe(true);
    expect(image.find((i) => i.keyword === 'WORKDIR')?.args).toBe('/app');
    expect(envOf(image).PORT).toBe('8888');
    expect(image.find((i) => i.keyword === 'EXPOSE')?.args).toBe(envOf(image).PORT);
    expect(envOf(image).KINTO_INI).toBe('/app/dist/kinto.ini');
  });

  it('caps V8’s young generation and the growth of its old one, as `npm start` and the benchmark do', () => {
    const [node, ...rest] = execForm(image, 'ENTRYPOINT');
    const flags = rest.slice(0, -1);
    expect(node).toBe('node');
    expect(flags).toEqual([expect.stringMatching(/^--max-semi-space-size=\d+$/), expect.stringMatching(/^--heap-growing-percent=\d+$/)]);
    // NODE_OPTIONS would refuse --heap-growing-percent: the flags are on the command line.
    expect(envOf(image).NODE_OPTIONS).toBeUndefined();
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`node ${flags.join(' ')} core/cli.ts start`);
  });

  it('starts the distribution, checks its health on __lbheartbeat__, and writes /app/version.json', () => {
    expect(execForm(image, 'ENTRYPOINT')).toEqual(['node', expect.any(String), expect.any(String), 'core/cli.ts']);
    expect(execForm(image, 'CMD')).toEqual(['start']);
    expect(execForm(image, 'HEALTHCHECK')).toEqual(['node', 'dist/healthcheck.ts']);
    expect(readFileSync(join(ROOT, 'dist/healthcheck.ts'), 'utf8')).toContain('/v1/__lbheartbeat__');
    expect(image.some((i) => i.keyword === 'RUN' && i.args.includes('node dist/write-version.ts /app/version.json'))).toBe(true);
  });

  it('copies files that exist, and the build context leaves out dependencies, data and tests', () => {
    for (const { args } of image.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))) {
      const sources = args.split(/\s+/).slice(0, -1);
      for (const source of sources) expect(existsSync(join(ROOT, source)), source).toBe(true);
    }
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'data', 'test', '**/test', '.git']));
  });
});

describe('docker-compose.yml', () => {
  const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  const compose = parse(text, { merge: true }) as { services: Record<string, any> };

  it('runs the server on PostgreSQL, migrated first', () => {
    const { db, migrate, web } = compose.services;
    expect(db.image).toMatch(/^postgres:\d+/);
    expect(db.healthcheck.test).toContain('pg_isready');
    expect(migrate.build).toBe('.');
    expect(migrate.command).toEqual(['migrate']);
    expect(migrate.depends_on.db.condition).toBe('service_healthy');
    expect(web.image).toBe(migrate.image);
    expect(web.depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(web.ports).toEqual(['8888:8888']);
  });

  it('configures the distribution through the environment variables it reads', () => {
    // Compose's `${NAME:-default}` interpolation, with nothing set in the shell.
    const env = Object.fromEntries(
      Object.entries(compose.services.web.environment as Record<string, string>).map(([name, value]) => [
        name,
        value.replace(/\$\{\w+:-([^}]*)\}/g, '$1'),
      ]),
    );
    const settings = loadConfig({ iniPath: join(ROOT, 'dist/kinto.ini'), env }).settings;
    for (const kind of ['storage', 'permission', 'cache']) {
      expect(settings.str(`${kind}_url`)).toBe('postgresql://kinto:kinto@db/kinto');
    }
    expect(settings.str('userid_hmac_secret')).toBe('change-me-in-production');
  });

  it('holds the optional services, commented, ready to be switched on', () => {
    const [before, rest] = text.split('# --- optional services');
    const [block, after] = rest.split('# --- end of optional services ---');
    const uncommented = block
      .split('\n')
      .slice(1)
      .map((line) => line.replace(/^(\s*)# ?/, '$1'))
      .join('\n');
    const enabled = parse(`${before}${uncommented}\n${after}`, { merge: true }) as { services: Record<string, { image: string }> };
    expect(Object.keys(enabled.services)).toEqual(expect.arrayContaining(['elasticsearch', 's3', 'ldap', 'autograph']));
    for (const name of ['elasticsearch', 's3', 'ldap', 'autograph']) expect(enabled.services[name].image).toMatch(/\S+:\S+/);
    expect(Object.keys(compose.services).sort()).toEqual(['db', 'migrate', 'web']);
  });
});

describe('dist/kinto.ini', () => {
  it('includes only plugins this repository ships, and names the others in comments', () => {
    const settings = loadConfig({ iniPath: join(ROOT, 'dist/kinto.ini'), env: {} }).settings;
    const shipped = BUILTIN_PLUGINS.flatMap((plugin) => [plugin.name, ...plugin.aliases]);
    const included = settings.list('includes');
    expect(included.length).toBeGreaterThanOrEqual(4);
    for (const entry of included) expect(shipped, entry).toContain(entry);
    const text = readFileSync(join(ROOT, 'dist/kinto.ini'), 'utf8');
    for (const other of ['kinto_elasticsearch', 'kinto_fxa', 'kinto_ldap']) expect(text).toMatch(new RegExp(`#\\s+${other}`));
  });
});

describe('the image’s start command, run here', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let app: string;
  let env: Record<string, string>;
  const image = finalStage(dockerfile());

  /** The image's environment, `/app` being this folder, and the database of this test. */
  function imageEnv(port: number): Record<string, string> {
    const declared = Object.fromEntries(Object.entries(envOf(image)).map(([k, v]) => [k, v.replace(/^\/app\b/, app)]));
    return cleanEnv({
      ...declared,
      PORT: String(port),
      LOG_LEVEL: 'info',
      KINTO_STORAGE_URL: database.url,
      KINTO_PERMISSION_URL: database.url,
      KINTO_CACHE_URL: database.url,
      KINTO_USERID_HMAC_SECRET: 'distribution-test',
    });
  }

  function run(command: string[], extraEnv: Record<string, string>) {
    const [program, ...args] = command;
    return spawn(program === 'node' ? NODE : program, args, { cwd: app, env: extraEnv, stdio: 'pipe' });
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    // The image's /app: the copied folders, and version.json written as the build does.
    app = mkdtempSync(join(tmpdir(), 'kinto-image-app-'));
    for (const entry of ['core', 'plugins', 'dist', 'package.json', 'node_modules']) {
      symlinkSync(join(ROOT, entry), join(app, entry));
    }
    execFileSync(NODE, ['dist/write-version.ts', join(app, 'version.json')], {
      cwd: app,
      env: { ...process.env, VERSION_COMMIT: 'abc1234', VERSION_BUILD: 'https://ci.example/build/7' },
    });
    env = imageEnv(await freePort());
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('migrates, starts with 2 workers, serves version.json and passes its health check', async () => {
    const entrypoint = execForm(image, 'ENTRYPOINT');
    const migrate = run([...entrypoint, ...(parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')).services.migrate.command as string[])], env);
    const migrated = await new Promise<number | null>((done) => migrate.once('exit', done));
    expect(migrated).toBe(0);

    const server = run([...entrypoint, ...execForm(image, 'CMD')], env);
    let stdout = '';
    let stderr = '';
    server.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    server.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => server.once('exit', done));
    const base = `http://127.0.0.1:${env.PORT}/v1`;
    try {
      await waitUntilServing(`${base}/__lbheartbeat__`, undefined, 120_000).catch((error: Error) => {
        throw new Error(`${error.message}\n${stderr}`);
      });
      const version = await (await fetch(`${base}/__version__`)).json();
      const declared = JSON.parse(readFileSync(join(ROOT, 'dist/version.json'), 'utf8'));
      expect(version).toEqual({ ...declared, commit: 'abc1234', build: 'https://ci.example/build/7' });
      const hello = (await (await fetch(`${base}/`)).json()) as { capabilities: Record<string, unknown>; config: { path: string } };
      expect(Object.keys(hello.capabilities)).toEqual(expect.arrayContaining(['accounts', 'history', 'attachments', 'admin', 'emailer', 'slack']));
      expect(hello.config.path).toBe(join(app, 'dist/kinto.ini'));
      expect(await (await fetch(`${base}/__heartbeat__`)).json()).toMatchObject({ storage: true, permission: true, cache: true, attachments: true });
      expect(childPids(server.pid!)).toHaveLength(Number(env.WEB_CONCURRENCY));

      const healthy = await new Promise<number | null>((done) => run(execForm(image, 'HEALTHCHECK'), env).once('exit', done));
      expect(healthy).toBe(0);
      // Logs are JSON lines on stdout (not a terminal).
      const lines = stdout.split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    await sleep(200);
    const unhealthy = await new Promise<number | null>((done) => run(execForm(image, 'HEALTHCHECK'), env).once('exit', done));
    expect(unhealthy).toBe(1);
  });
});
