import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KintoCore } from '../context.ts';
import { KintoError } from '../errors.ts';
import { identify } from './identity.ts';
import { absoluteUrl } from './urls.ts';
import { cacheHeaders } from '../resource/call.ts';

const CONTRIBUTE = {
  name: 'Kinto',
  description: 'A generic JSON document store with sharing and synchronisation capabilities.',
  repository: { url: 'https://github.com/Kinto/kinto', license: 'Apache License 2.0' },
  participate: { home: 'https://github.com/Kinto/kinto', docs: 'https://kinto.readthedocs.io/' },
  bugs: { list: 'https://github.com/Kinto/kinto/issues', report: 'https://github.com/Kinto/kinto/issues/new' },
  keywords: ['python', 'json', 'storage', 'sync', 'permissions'],
};

async function hello(core: KintoCore, request: FastifyRequest) {
  const s = core.settings;
  const body: Record<string, unknown> = {
    project_name: s.str('project_name', 'kinto'),
    project_version: s.str('project_version', '') || core.version,
    http_api_version: s.str('http_api_version', '1.23'),
    project_docs: s.str('project_docs', 'https://kinto.readthedocs.io/'),
    url: absoluteUrl(s, request, '/'),
    config: core.config.iniPath
      ? { path: core.config.iniPath, hash: core.config.iniHash, modified: core.config.iniModified }
      : null,
  };
  if (s.get('eos')) body.eos = s.get('eos');
  body.settings = Object.fromEntries(core.publicSettings.all().map(([name]) => [name, s.get(name)]));
  const identity = await identify(core, request, core.permission);
  if (identity.userId !== null) {
    const user: Record<string, unknown> = { id: identity.userId, principals: identity.principals };
    for (const [, provider] of core.userInfo.all()) Object.assign(user, await provider(identity));
    body.user = user;
  }
  body.capabilities = Object.fromEntries(core.capabilities.all());
  return body;
}

/** Runs every heartbeat concurrently, each bounded by `heartbeat_timeout_seconds`. */
async function heartbeat(core: KintoCore): Promise<Record<string, boolean | null>> {
  const timeoutMs = Number(core.settings.get('heartbeat_timeout_seconds') ?? 10) * 1000;
  const entries = await Promise.all(
    core.heartbeats.all().map(async ([name, check]) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((done) => (timer = setTimeout(() => done(false), timeoutMs)));
      const result = await Promise.race([check().catch(() => false), timeout]);
      clearTimeout(timer);
      return [name, result] as const;
    }),
  );
  return Object.fromEntries(entries);
}

function readVersionFile(core: KintoCore): unknown {
  const configured = core.settings.str('version_json_path', 'version.json');
  const candidates = [resolve(configured), resolve(import.meta.dirname, '../..', 'version.json')];
  for (const path of candidates) {
    try {
      return JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      continue;
    }
  }
  return null;
}

export function registerUtilityViews(app: FastifyInstance, core: KintoCore): void {
  app.get('/v1/', async (request, reply) => {
    const readonly = core.settings.bool('readonly', false);
    const seconds = readonly ? core.settings.int('root_cache_expires_seconds', 86400) : null;
    if (readonly) reply.headers(cacheHeaders(seconds, true));
    return hello(core, request);
  });
  app.get('/v1/__heartbeat__', async (_request, reply) => {
    const status = await heartbeat(core);
    const failing = Object.values(status).some((v) => v === false);
    return reply.code(failing ? 503 : 200).send(status);
  });
  app.get('/v1/__lbheartbeat__', async () => ({}));
  app.get('/v1/contribute.json', async () => CONTRIBUTE);
  let version: unknown;
  app.get('/v1/__version__', async () => {
    version ??= readVersionFile(core);
    if (version === null) {
      throw new KintoError('UNDEFINED', { message: 'version.json file not found', info: core.settings.str('error_info_link', '') });
    }
    return version;
  });
}
