import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PACKAGE_VERSION } from '../app.ts';
import { CliError, isInteractive, withPrompts, type Prompts } from './common.ts';

export const BACKENDS = ['embedded', 'postgresql', 'memory'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

export interface InitOptions {
  ini: string;
  backend?: string;
  cacheBackend?: string;
  host: string;
  databaseUrl?: string;
}

interface Choices {
  backend: BackendChoice;
  cacheBackend: BackendChoice;
  databaseUrl: string;
}

/** Kinto's `init` default: the database a fresh PostgreSQL install has. */
const DEFAULT_DATABASE_URL = 'postgresql://postgres:postgres@localhost/postgres';

function parseChoice(name: string, value: string): BackendChoice {
  if ((BACKENDS as readonly string[]).includes(value)) return value as BackendChoice;
  throw new CliError(`--${name} must be one of ${BACKENDS.join(', ')} (got '${value}')`, 2);
}

/** Keeps asking until the answer is one of the numbered options (Kinto's prompt loop). */
async function choose(prompts: Prompts, question: string, answers: Record<string, BackendChoice>): Promise<BackendChoice> {
  for (;;) {
    const answer = await prompts.ask(question);
    if (Object.hasOwn(answers, answer)) return answers[answer];
  }
}

/** Flags win; on a terminal the missing answers are asked; otherwise the defaults apply. */
async function resolveChoices(options: InitOptions): Promise<Choices> {
  const backend = options.backend ? parseChoice('backend', options.backend) : undefined;
  const cacheBackend = options.cacheBackend ? parseChoice('cache-backend', options.cacheBackend) : undefined;
  if (!backend && isInteractive()) return withPrompts((prompts) => askChoices(prompts, options, cacheBackend));
  const chosen = backend ?? 'embedded';
  return { backend: chosen, cacheBackend: cacheBackend ?? chosen, databaseUrl: options.databaseUrl ?? DEFAULT_DATABASE_URL };
}

async function askChoices(prompts: Prompts, options: InitOptions, cacheFlag: BackendChoice | undefined): Promise<Choices> {
  const backend = await choose(prompts, 'Select the backend you would like to use: (1 - postgresql, 2 - memory, default - embedded) ', {
    '1': 'postgresql',
    '2': 'memory',
    '': 'embedded',
  });
  const cacheBackend =
    cacheFlag ??
    (await choose(
      prompts,
      `Select the cache backend you would like to use: (1 - postgresql, 2 - memory, 3 - embedded, default - ${backend}) `,
      { '1': 'postgresql', '2': 'memory', '3': 'embedded', '': backend },
    ));
  let databaseUrl = options.databaseUrl ?? DEFAULT_DATABASE_URL;
  if ((backend === 'postgresql' || cacheBackend === 'postgresql') && !options.databaseUrl) {
    databaseUrl = (await prompts.ask(`PostgreSQL URL (default - ${DEFAULT_DATABASE_URL}) `)) || DEFAULT_DATABASE_URL;
  }
  return { backend, cacheBackend, databaseUrl };
}

function backendLines(kind: 'storage' | 'permission' | 'cache', choice: BackendChoice, databaseUrl: string): string {
  const lines: Record<BackendChoice, [string, string]> = {
    embedded: ['pglite', '%(here)s/data'],
    postgresql: [`kinto.core.${kind}.postgresql`, databaseUrl],
    memory: [`kinto.core.${kind}.memory`, ''],
  };
  const [backend, url] = lines[choice];
  return `kinto.${kind}_backend = ${backend}\nkinto.${kind}_url = ${url}`;
}

function secret(): string {
  return randomBytes(32).toString('hex');
}

/** What `kinto init` writes: Kinto's kinto.tpl, for the features this server has. */
const TEMPLATE = `# Created at {{date}}
# Using kinto-ts version {{version}}
# Full list of settings: https://kinto.readthedocs.io/en/latest/configuration/settings.html

[server:main]
host = {{host}}
port = %(http_port)s

[app:main]
use = egg:kinto

# Features
# kinto.readonly = false
# kinto.batch_max_requests = 25
# kinto.paginate_by =
kinto.experimental_collection_schema_validation = true
kinto.experimental_permissions_endpoint = true
# kinto.trailing_slash_redirect_enabled = true
# kinto.heartbeat_timeout_seconds = 10

# Plugins (by short name or by Kinto's Python name)
kinto.includes = kinto.plugins.default_bucket
                 kinto.plugins.accounts
#                kinto.plugins.flush            (development only: POST /__flush__ erases everything)
#                kinto.plugins.history          (/buckets/{id}/history)
#                kinto.plugins.admin            (the Kinto Admin at /v1/admin/, with kinto.admin_assets_path)
#                kinto_attachment               (files: kinto.attachment.base_path, or kinto.attachment.aws.*)
#                kinto_remote_settings          (signer and changes feed: kinto.signer.*)
#                kinto.plugins.quotas kinto_elasticsearch kinto_emailer kinto_slack kinto_ldap kinto_fxa
#                kinto.plugins.openid kinto.plugins.statsd kinto.plugins.prometheus (see the README)

# Backends. embedded = PostgreSQL compiled into the server (PGlite), stored in a folder:
# nothing to install, one process only. For several workers or servers use PostgreSQL,
# then run \`kinto migrate\`.
{{storage}}
# kinto.storage_max_fetch_size = 10000
# kinto.listing_cache_max_size_bytes = 16777216
# kinto.storage_pool_size = 10
{{cache}}
# kinto.cache_prefix =
{{permission}}
# kinto.bucket_create_principals = system.Authenticated

# Authentication. User ids are derived from this secret: keep it, and keep it secret.
kinto.userid_hmac_secret = {{userid_secret}}
kinto.default_bucket_hmac_secret = {{bucket_secret}}
multiauth.policies = account
multiauth.policy.account.use = kinto.plugins.accounts.AccountsPolicy
# Anyone may create an account; account:admin administers them (\`kinto create-user -u admin\`).
kinto.account_create_principals = system.Everyone
kinto.account_write_principals = account:admin
kinto.bucket_create_principals = account:admin

# Production: the public origin in every URL the server writes (behind a proxy or a CDN).
# kinto.http_scheme = https
# kinto.http_host = kinto.example.com
# kinto.cors_origins = *

# Backoff and end of service
# kinto.backoff =
# kinto.backoff_percentage =
# kinto.retry_after_seconds = 3
# kinto.eos =
# kinto.eos_message =
# kinto.eos_url =

# Project information
# kinto.version_json_path = ./version.json
# kinto.project_name = kinto

# Client cache headers (anonymous reads only)
# kinto.root_cache_expires_seconds = 86400
# kinto.bucket_cache_expires_seconds = 3600
# kinto.collection_cache_expires_seconds = 3600
# kinto.group_cache_expires_seconds = 3600
# kinto.record_cache_expires_seconds = 3600
# Records of one bucket, of one collection:
# kinto.blog_record_cache_expires_seconds = 3600
# kinto.blog_article_record_cache_expires_seconds = 3600

# Enabling or disabling endpoints: kinto.{plural|object}_{resource}_{method}_enabled
# kinto.plural_bucket_post_enabled = false
`;

export function renderIni(choices: Choices, host: string): string {
  const values: Record<string, string> = {
    date: new Date().toUTCString(),
    version: PACKAGE_VERSION,
    host,
    storage: backendLines('storage', choices.backend, choices.databaseUrl),
    permission: backendLines('permission', choices.backend, choices.databaseUrl),
    cache: backendLines('cache', choices.cacheBackend, choices.databaseUrl),
    userid_secret: secret(),
    bucket_secret: secret(),
  };
  return TEMPLATE.replace(/\{\{(\w+)\}\}/g, (_match, name: string) => values[name]);
}

/** `kinto init`: writes a commented configuration, refusing to overwrite one. */
export async function runInit(options: InitOptions): Promise<void> {
  const path = resolve(options.ini);
  if (existsSync(path)) throw new CliError(`${options.ini} already exists.`);
  const choices = await resolveChoices(options);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderIni(choices, options.host), { flag: 'wx' });
  console.log(`Created config ${path}`);
  if (choices.backend === 'postgresql' || choices.cacheBackend === 'postgresql') {
    console.log(`Next: create the database, then run \`kinto migrate --ini ${options.ini}\`.`);
  }
}
