/**
 * Kinto's feature and monitoring settings (kinto.core DEFAULT_SETTINGS overlaid
 * by kinto's), with Kinto's effective defaults.
 */
import { defineSettings, setting } from '../schema.ts';

const { int, optionalInt, number, bool, string, optionalString, list, url, native } = setting;

const seconds = (what: string, fallback: number) => int({ default: fallback, description: `${what}, in seconds` });

export const FEATURE_SETTINGS = defineSettings('', {
  includes: list({ description: 'Plugins to load, in order (short names, Python names, npm packages or paths).' }),
  ignored_includes: list({
    description:
      'Entries of `includes` to skip with a warning instead of refusing to start (plugins this server does not ship yet).',
  }),
  project_name: string({ default: 'kinto', description: 'Project name in the hello view, logs and metrics prefix.' }),
  project_version: string({ description: 'Version shown in the hello view; the package version when empty.' }),
  project_docs: url({
    default: 'https://kinto.readthedocs.io/',
    example: 'https://kinto.readthedocs.io/',
    description: 'Documentation link of the hello view.',
  }),
  http_api_version: string({ default: '1.23', description: 'Implemented HTTP API version (internal).' }),
  http_scheme: optionalString({ description: 'Scheme forced in generated URLs (https behind a proxy).' }),
  http_host: optionalString({ description: 'Host forced in generated URLs.' }),
  readonly: bool({ default: false, public: true, description: 'Refuse every write.' }),
  batch_max_requests: int({ default: 25, min: 0, public: true, description: 'Maximum number of requests in a batch (0: unlimited, as Kinto).' }),
  paginate_by: optionalInt({ min: 0, description: 'Default and maximum page size of lists (none when empty).' }),
  listing_cache_max_size_bytes: int({
    default: 16 * 1024 * 1024,
    min: 0,
    description: 'Budget of the listings kept by the version of their list and served again while it is unchanged, per process (0: off).',
  }),
  storage_max_fetch_size: int({ default: 10000, min: 1, description: 'Maximum number of objects read at once.' }),
  pagination_token_validity_seconds: seconds('Validity of pagination tokens', 600),
  explicit_permissions: bool({ default: true, public: true, description: 'Give creators explicit write permission.' }),
  experimental_collection_schema_validation: bool({ default: false, description: 'Validate records with collection JSON schemas.' }),
  experimental_permissions_endpoint: bool({ default: false, description: 'Enable the /permissions endpoint.' }),
  trailing_slash_redirect_enabled: bool({ default: true, description: 'Redirect URLs with a trailing slash.' }),
  trailing_slash_redirect_ttl_seconds: seconds('Cache duration of trailing slash redirects (-1: no header)', 3600),
  version_prefix_redirect_enabled: bool({ default: true, description: 'Redirect URLs without the /v1 prefix.' }),
  version_prefix_redirect_ttl_seconds: seconds('Cache duration of version prefix redirects (-1: no header)', -1),
  heartbeat_timeout_seconds: number({ default: 10, min: 0, description: 'Time limit of each heartbeat check, in seconds.' }),
  version_json_path: string({ default: 'version.json', description: 'File served by /__version__.' }),
  error_info_link: url({
    default: 'https://github.com/Kinto/kinto/issues/',
    example: 'https://github.com/Kinto/kinto/issues/',
    description: '`info` link of internal errors.',
  }),
  retry_after_seconds: seconds('Retry-After of 503 responses', 3),
  backoff: optionalInt({ min: 0, description: 'Backoff header value, in seconds (none when empty).' }),
  backoff_percentage: optionalInt({ min: 0, max: 100, description: 'Share of responses carrying the Backoff header.' }),
  eos: optionalString({ description: 'End of service date (YYYY-MM-DD).' }),
  eos_message: optionalString({ description: 'End of service message.' }),
  eos_url: optionalString({ description: 'End of service information URL.' }),
  cors_origins: list({ default: ['*'], description: 'Allowed CORS origins (fnmatch patterns).' }),
  cors_max_age_seconds: optionalInt({ default: 3600, description: 'Access-Control-Max-Age of preflight responses (none when empty).' }),
  root_cache_expires_seconds: seconds('Cache duration of the hello view in readonly mode', 86400),
  bucket_create_principals: list({ default: ['system.Authenticated'], description: 'Who may create buckets.' }),
  permissions_read_principals: list({ default: ['system.Everyone'], description: 'Who may read /permissions.' }),
  event_listeners: list({ description: 'Event listeners (Python modules in Kinto).' }),
  metrics_matchdict_fields: list({
    default: ['bucket_id', 'collection_id', 'group_id', 'record_id'],
    description: 'URL fields used as metric labels.',
  }),
  transaction_per_request: bool({ default: true, description: 'One storage transaction per request.' }),
});

// Kinto's defaults; `project_name` is used as prefix when it is set, like Kinto.
export const MONITORING_SETTINGS = defineSettings('', {
  // Checked by the statsd plugin, which reads it.
  statsd_url: optionalString({ description: 'StatsD server, udp://host:8125 (statsd plugin).' }),
  statsd_prefix: string({ default: 'kinto.core', description: 'StatsD metric prefix.' }),
  statsd_backend: string({ default: 'kinto.core.statsd', description: 'StatsD client module (Python; fixed here).' }),
  sentry_dsn: url({ example: 'https://key@o1.ingest.sentry.io/1', description: 'Sentry DSN; reporting is off when empty.' }),
  sentry_env: optionalString({ description: 'Sentry environment name.' }),
  sentry_breadcrumbs_min_level: int({ default: 10, min: 0, description: 'Lowest log level kept as Sentry breadcrumb (Python levels).' }),
  sentry_events_min_level: int({ default: 30, min: 0, description: 'Lowest log level sent as Sentry event (Python levels).' }),
});

const CACHE_EXPIRES = int({ default: 0, description: 'Cache-Control max-age of anonymous reads, in seconds.' });

/** Settings whose name embeds a resource, bucket or collection. */
export const FEATURE_PATTERNS = defineSettings('', {}, [
  {
    pattern: /^[a-z][\w-]*_(create|read|write)_principals$/,
    example: 'bucket_write_principals',
    spec: list({ description: 'Principals granted a permission on every object of a resource.' }),
  },
  {
    pattern: /^(bucket|collection|group|record)_cache_expires_seconds$/,
    example: 'record_cache_expires_seconds',
    spec: CACHE_EXPIRES,
  },
  {
    pattern: /^[\w-]+([._][\w-]+)?[._]record_cache_(minimum_|maximum_)?expires_seconds$/,
    example: 'blog.article.record_cache_expires_seconds',
    spec: CACHE_EXPIRES,
  },
  {
    pattern: /^(plural|object)_[\w-]+_(get|post|put|patch|delete|head)_enabled$/,
    example: 'plural_bucket_post_enabled',
    spec: bool({ default: true, description: 'Enable or disable one endpoint method.' }),
  },
  {
    pattern: /^event_listeners\.[^.]+\..+$/,
    example: 'event_listeners.redis.use',
    spec: native({ description: 'Option of an event listener.' }),
  },
]);
