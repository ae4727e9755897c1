/** Plugins shipped in this repository, with the Python names operators know them by. */
export interface CatalogEntry {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly load: () => Promise<{ default?: unknown }>;
}

export const BUILTIN_PLUGINS: readonly CatalogEntry[] = [
  { name: 'admin', aliases: ['kinto.plugins.admin'], load: () => import('./admin/index.ts') },
  { name: 'accounts', aliases: ['kinto.plugins.accounts'], load: () => import('./accounts/index.ts') },
  { name: 'default_bucket', aliases: ['kinto.plugins.default_bucket'], load: () => import('./default_bucket/index.ts') },
  { name: 'flush', aliases: ['kinto.plugins.flush'], load: () => import('./flush/index.ts') },
  { name: 'statsd', aliases: ['kinto.plugins.statsd'], load: () => import('./statsd/index.ts') },
  { name: 'prometheus', aliases: ['kinto.plugins.prometheus'], load: () => import('./prometheus/index.ts') },
  { name: 'history', aliases: ['kinto.plugins.history'], load: () => import('./history/index.ts') },
  { name: 'counters', aliases: ['kinto.plugins.counters'], load: () => import('./counters/index.ts') },
  { name: 'quotas', aliases: ['kinto.plugins.quotas'], load: () => import('./quotas/index.ts') },
  { name: 'changes', aliases: ['kinto_changes', 'kinto_remote_settings.changes'], load: () => import('./changes/index.ts') },
  { name: 'signer', aliases: ['kinto_signer', 'kinto_remote_settings.signer'], load: () => import('./signer/index.ts') },
  { name: 'openid', aliases: ['kinto.plugins.openid'], load: () => import('./openid/index.ts') },
  { name: 'ldap', aliases: ['kinto_ldap'], load: () => import('./ldap/index.ts') },
  { name: 'elasticsearch', aliases: ['kinto_elasticsearch'], load: () => import('./elasticsearch/index.ts') },
  { name: 'fxa', aliases: ['kinto_fxa'], load: () => import('./fxa/index.ts') },
  { name: 'attachment', aliases: ['kinto_attachment'], load: () => import('./attachment/index.ts') },
  { name: 'slack', aliases: ['kinto_slack'], load: () => import('./slack/index.ts') },
  { name: 'remote_settings', aliases: ['kinto_remote_settings'], load: () => import('./remote_settings/index.ts') },
  { name: 'emailer', aliases: ['kinto_emailer'], load: () => import('./emailer/index.ts') },
];
