import { EVERYONE } from '../../core/auth/authorization.ts';
import type { KintoCore } from '../../core/context.ts';
import { definePlugin } from '../../core/plugin.ts';
import { SettingsError } from '../../core/settings/ini.ts';
import { defineSettings, setting } from '../../core/settings/schema.ts';
import { accountsPolicy, forgetAccount } from './authentication.ts';
import { accountResource } from './resource.ts';

const DOCS_URL = 'https://kinto.readthedocs.io/en/stable/api/1.x/accounts.html';
/** The Python names operators write in `multiauth.policy.<name>.use`. */
const POLICY_CLASSES = [
  'kinto.plugins.accounts.AccountsPolicy',
  'kinto.plugins.accounts.authentication.AccountsAuthenticationPolicy',
];

/** The configured name of the accounts policy (`multiauth.policy.<name>.use`), or null. */
function configuredPolicyName(core: KintoCore): string | null {
  let found: string | null = null;
  for (const key of core.settings.keys()) {
    const match = /^multiauth\.policy\.(.*)\.use$/.exec(key);
    if (!match) continue;
    const use = core.settings.str(key, '');
    if (use.endsWith('AccountsPolicy') || use.endsWith('AccountsAuthenticationPolicy')) found = match[1];
  }
  return found;
}

/** Kinto's start-up checks of the accounts plugin (ConfigurationError there). */
function checkSettings(core: KintoCore): void {
  const settings = core.settings;
  const policy = configuredPolicyName(core);
  if (settings.str('storage_backend', '') === 'kinto.core.storage.memory') {
    core.config.warnings.push(
      'The account plugin works really poorly with the memory backend because accounts are flushed at each startup.',
    );
  }
  if (!policy) {
    throw new SettingsError(
      `Account policy missing the 'multiauth.policy.*.use' setting. See AccountsPolicy in docs ${DOCS_URL}.`,
    );
  }
  const policies = settings.list('multiauth.policies');
  if (policies.includes('basicauth') && policies.includes(policy) && policies.indexOf('basicauth') < policies.indexOf(policy)) {
    throw new SettingsError(`'basicauth' should not be mentioned before '${policy}' in 'multiauth.policies' setting.`);
  }
  const admins = new Set(settings.list('account_write_principals'));
  const cantCreateAnything = [...new Set(settings.list('account_create_principals'))].filter(
    (p) => !admins.has(p) && p !== EVERYONE,
  );
  if (cantCreateAnything.length) {
    throw new SettingsError(
      'Configuration has some principals in account_create_principals but not in account_write_principals. ' +
        'These principals will only be able to create their own accounts. This may not be what you want.\n' +
        'If you want these users to be able to create accounts for other users, add them to account_write_principals.\n' +
        `Affected users: [${cantCreateAnything.map((p) => `'${p}'`).join(', ')}]`,
    );
  }
}

/** Password changes and deletions forget the cached logins of the accounts involved. */
function subscribeCacheInvalidation(core: KintoCore): void {
  core.events.subscribe({
    phase: 'commit',
    resources: ['account'],
    actions: ['update', 'delete'],
    async handle(events) {
      for (const event of events) {
        for (const impacted of event.impacted) {
          if (typeof impacted.old?.id === 'string') await forgetAccount(core, impacted.old.id);
        }
      }
    },
  });
}

/**
 * Kinto's accounts plugin: the `account` resource (`/v1/accounts`), its Basic-auth
 * policy (`account:<username>`), its permissions and its start-up checks.
 */
export default definePlugin({
  name: 'accounts',
  aliases: ['kinto.plugins.accounts'],
  // `account_{create,read,write}_principals` are the core's `<resource>_<perm>_principals`.
  settings: defineSettings('', {
    account_cache_ttl_seconds: setting.int({ default: 30, min: 0, description: 'How long a successful login is remembered.' }),
  }),
  register(_app, core) {
    checkSettings(core);
    core.capabilities.add('accounts', {
      description: 'Manage user accounts.',
      url: 'https://kinto.readthedocs.io/en/latest/api/1.x/accounts.html',
      validation_enabled: false,
    });
    core.tree.account = {
      write: { account: ['write'] },
      read: { account: ['write', 'read'] },
    };
    for (const name of POLICY_CLASSES) core.policyFactories.add(name, () => accountsPolicy(core));
    core.resources.add('account', accountResource());
    subscribeCacheInvalidation(core);
  },
});
