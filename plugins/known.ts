/**
 * Plugins operators name in Kinto INI files that this server does not ship yet, and
 * the settings namespaces of every known plugin (shipped or not). The namespaces let
 * the loader say "these settings are ignored: plugin X is not included" instead of
 * treating them as typos. When a plugin ships, move its entry to catalog.ts.
 */
export interface KnownPlugin {
  readonly name: string;
  readonly aliases: readonly string[];
}

export const PLANNED_PLUGINS: readonly KnownPlugin[] = [
  // Mozilla's deployments also load these (kinto-dist, Remote Settings).
  { name: 'megaphone', aliases: ['kinto_megaphone'] },
  { name: 'amo', aliases: ['kinto_amo'] },
];

/** Setting name prefixes (unprefixed; a full name for single settings) read by each plugin. */
export const PLUGIN_NAMESPACES: Readonly<Record<string, readonly string[]>> = {
  accounts: ['account_'],
  flush: ['flush_endpoint_enabled'],
  history: ['history.'],
  changes: ['changes.', 'push_broadcast_'],
  admin: ['admin_assets_path'],
  quotas: ['quotas.'],
  prometheus: ['prometheus_'],
  statsd: ['statsd_url', 'statsd_prefix'],
  remote_settings: ['signer.', 'changes.', 'push_broadcast_'],
  signer: ['signer.'],
  attachment: ['attachment.'],
  elasticsearch: ['elasticsearch.'],
  ldap: ['ldap.'],
  fxa: ['fxa-oauth.'],
  emailer: ['mail.'],
  slack: ['slack.'],
};

/** The known plugins whose namespaces hold `key`. */
export function pluginsOwning(key: string): string[] {
  return Object.entries(PLUGIN_NAMESPACES)
    .filter(([, prefixes]) => prefixes.some((prefix) => key.startsWith(prefix)))
    .map(([name]) => name);
}
