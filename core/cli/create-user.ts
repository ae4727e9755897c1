import { BUILTIN_PLUGINS } from '../../plugins/catalog.ts';
import { forgetAccount, hashPassword } from '../../plugins/accounts/authentication.ts';
import { ACCOUNT_ID_PATTERN } from '../../plugins/accounts/resource.ts';
import { buildApp } from '../app.ts';
import type { Settings } from '../settings/load.ts';
import { inUnitOfWork } from '../unit-of-work.ts';
import { CliError, EndOfInput, isInteractive, loadCliConfig, readStdinLines, withPrompts, type Prompts } from './common.ts';

/** Kinto's exit codes for `create-user`. */
const EXIT = { readonly: 51, noAccountsPlugin: 52, aborted: 53 } as const;

function accountsIncluded(settings: Settings): boolean {
  const accounts = BUILTIN_PLUGINS.find((plugin) => plugin.name === 'accounts')!;
  const names = [accounts.name, ...accounts.aliases];
  return settings.list('includes').some((entry) => names.includes(entry));
}

interface Credentials {
  username: string;
  password: string;
}

async function askPassword(prompts: Prompts, username: string): Promise<string> {
  for (;;) {
    const password = await prompts.ask(`Please enter a password for ${username}: `, { hidden: true });
    const confirm = await prompts.ask('Please confirm the password: ', { hidden: true });
    if (password === confirm) return password;
    console.error('Sorry, passwords do not match, please try again.');
  }
}

async function askCredentials(prompts: Prompts, username: string | undefined, password: string | undefined): Promise<Credentials> {
  let name = username ?? (await prompts.ask('Username: '));
  while (!ACCOUNT_ID_PATTERN.test(name)) {
    console.error(`${name} is not a valid username. Username should match ${ACCOUNT_ID_PATTERN.source}, please try again.`);
    name = await prompts.ask('Username: ');
  }
  return { username: name, password: password ?? (await askPassword(prompts, name)) };
}

/** Without a terminal, missing answers are read from stdin: the username line, then the password line. */
async function pipedCredentials(username: string | undefined, password: string | undefined): Promise<Credentials> {
  const lines = username !== undefined && password !== undefined ? [] : await readStdinLines();
  const name = username ?? lines.shift();
  const secret = password ?? lines.shift();
  if (!name || secret === undefined || secret === '') throw new CliError('User creation aborted', EXIT.aborted);
  if (!ACCOUNT_ID_PATTERN.test(name)) {
    throw new CliError(`${name} is not a valid username (it should match ${ACCOUNT_ID_PATTERN.source}).`, EXIT.aborted);
  }
  return { username: name, password: secret };
}

async function credentials(username: string | undefined, password: string | undefined): Promise<Credentials> {
  if (!isInteractive() || (username !== undefined && password !== undefined && ACCOUNT_ID_PATTERN.test(username))) {
    return pipedCredentials(username, password);
  }
  try {
    return await withPrompts((prompts) => askCredentials(prompts, username, password));
  } catch (error) {
    if (error instanceof EndOfInput) throw new CliError('User creation aborted', EXIT.aborted);
    throw error;
  }
}

/**
 * `kinto create-user -u NAME -p PASSWORD`: creates the account, or resets its password, with
 * the write permission on itself, as Kinto's command. The server's accounts checks run first
 * (the whole app is built), and a remembered login with the old password is forgotten.
 */
export async function runCreateUser(iniPath: string | undefined, username?: string, password?: string): Promise<void> {
  const config = loadCliConfig(iniPath);
  if (config.settings.bool('readonly', false)) throw new CliError('Cannot create a user with a readonly server.', EXIT.readonly);
  if (!accountsIncluded(config.settings)) {
    throw new CliError('Cannot create a user when the accounts plugin is not installed.', EXIT.noAccountsPlugin);
  }
  const user = await credentials(username, password);
  const app = await buildApp(config);
  try {
    await app.ready();
    const core = app.kinto;
    console.log(`Creating user '${user.username}'`);
    const hash = await hashPassword(user.password);
    await inUnitOfWork(core, { readonly: false }, async ({ storage, permission }) => {
      await storage.update('account', user.username, user.username, { id: user.username, password: hash });
      await permission.addPrincipalToAce(`/accounts/${user.username}`, 'write', `account:${user.username}`);
    });
    await forgetAccount(core, user.username);
  } finally {
    await app.close();
  }
}
