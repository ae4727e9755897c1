import { Command, Option } from 'commander';
import { PACKAGE_VERSION } from '../app.ts';
import { closeBackends, openBackends, type Backends } from '../backends.ts';
import { pluginCommands } from '../plugins.ts';
import { runDeleteCollection, runFlushCache, runMigrate, runPurgeDeleted } from './admin.ts';
import { runCluster } from './cluster.ts';
import { DEFAULT_INI, loadPluginConfig, nonNegativeInteger, resolveIniPath } from './common.ts';
import { runCreateUser } from './create-user.ts';
import { runInit } from './init.ts';
import { serveSingleProcess, type ServerOptions } from './server.ts';
import { runWithReload } from './watch.ts';
import { runDump, runLoad } from './wizard/commands.ts';

const INI_HELP = `configuration file (default: $KINTO_INI, else ${DEFAULT_INI} when present)`;

function withIni(command: Command): Command {
  return command.option('--ini <file>', INI_HELP);
}

function addStart(program: Command): void {
  withIni(program.command('start'))
    .description('run the server (the default command)')
    .option('--port <port>', 'listening port (default: [server:main] port, or $PORT)', nonNegativeInteger('--port'))
    .option('--host <host>', 'listening address (default: [server:main] host)')
    .addOption(
      new Option('--workers <count>', 'run this many worker processes; SIGHUP reloads the configuration')
        .env('WEB_CONCURRENCY')
        .argParser(nonNegativeInteger('--workers')),
    )
    .option('--graceful-timeout <seconds>', 'how long a stopping worker may finish its requests', nonNegativeInteger('--graceful-timeout'), 30)
    .option('--reload', 'restart when the code or the configuration changes (development)')
    .option('-q, --quiet', 'log only critical errors')
    .option('-v, --debug', 'log everything, debug messages included')
    .action(async (options) => {
      const server: ServerOptions = {
        iniPath: resolveIniPath(options.ini),
        port: options.port,
        host: options.host,
        logLevel: options.quiet ? 'fatal' : options.debug ? 'debug' : undefined,
      };
      const gracefulTimeoutMs = options.gracefulTimeout * 1000;
      if (options.reload) return runWithReload(process.argv.slice(2), server.iniPath);
      if (options.workers) return runCluster({ ...server, workers: options.workers, gracefulTimeoutMs });
      return serveSingleProcess(server, gracefulTimeoutMs);
    });
}

function addMaintenance(program: Command): void {
  withIni(program.command('migrate'))
    .description('create or upgrade the database schema of every backend')
    .option('--dry-run', 'show the pending migrations without applying them')
    .action((options) => runMigrate(options.ini, Boolean(options.dryRun)));

  withIni(program.command('purge-deleted'))
    .description('remove tombstones: [resource ...] [max-retained], e.g. `record 10000` (all resources by default)')
    .argument('[args...]', 'resource names, then the number of tombstones to keep per parent')
    .option('--max-age-days <days>', 'only tombstones older than this', nonNegativeInteger('--max-age-days'))
    .option('--max-count <count>', 'keep this many tombstones per parent and resource', nonNegativeInteger('--max-count'))
    .action((args: string[], options) => runPurgeDeleted(options.ini, { args, maxAgeDays: options.maxAgeDays, maxCount: options.maxCount }));

  withIni(program.command('flush-cache'))
    .description('empty the cache backend')
    .action((options) => runFlushCache(options.ini));

  withIni(program.command('delete-collection'))
    .description('delete a collection, its records and their permissions, without tombstones')
    .requiredOption('-b, --bucket <id>', 'bucket id')
    .requiredOption('-c, --collection <id>', 'collection id')
    .action((options) => runDeleteCollection(options.ini, options.bucket, options.collection));

  withIni(program.command('create-user'))
    .description('create an account (accounts plugin), or reset its password')
    .option('-u, --username <name>', 'account id (asked when missing)')
    .option('-p, --password <password>', 'password (asked when missing)')
    .action((options) => runCreateUser(options.ini, options.username, options.password));
}

function addSetup(program: Command): void {
  program
    .command('init')
    .description('write a commented configuration file (asks on a terminal when --backend is missing)')
    .option('--ini <file>', 'file to create', process.env.KINTO_INI || DEFAULT_INI)
    .addOption(new Option('--backend <backend>', 'storage and permission backend').choices(['embedded', 'postgresql', 'memory']))
    .addOption(new Option('--cache-backend <backend>', 'cache backend (default: as --backend)').choices(['embedded', 'postgresql', 'memory']))
    .option('--database-url <url>', 'PostgreSQL URL for the postgresql backends')
    .option('--host <host>', 'listening address written in [server:main]', '127.0.0.1')
    .action((options) => runInit(options));

  program
    .command('version')
    .description('print the version')
    .action(() => console.log(PACKAGE_VERSION));
}

function withSource(command: Command): Command {
  return withIni(command)
    .option('-s, --server <url>', 'a running server (e.g. https://kinto.example.com/v1) instead of the INI file')
    .option('-a, --auth <user:password>', 'Basic credentials')
    .option('-b, --bucket <id>', 'only this bucket')
    .option('-c, --collection <id>', 'only this collection')
    .option('--full', 'everything: data, permissions, collections, groups and records')
    .option('--buckets', 'buckets')
    .option('--collections', 'collections')
    .option('--groups', 'groups')
    .option('--records', 'records')
    .option('--data', 'attributes')
    .option('--permissions', 'permissions');
}

function addWizard(program: Command): void {
  withSource(program.command('dump'))
    .description("write buckets, collections, groups and permissions (--records: and records) as YAML (kinto-wizard's format)")
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action((options) => runDump(options));

  withSource(program.command('load'))
    .description('create or update what a YAML file describes (idempotent)')
    .argument('<file>', 'YAML file (kinto-wizard format)')
    .option('--force', 'write without comparing with the server (client wins)')
    .option('--dry-run', 'print the writes instead of doing them')
    .option('--delete-records', 'delete the records the file does not list')
    .action((file: string, options) => runLoad(file, options));
}

interface CommandLine {
  /** The sub-command named on the command line, if any. */
  name?: string;
  iniPath?: string;
  /** The arguments after the sub-command, `--ini` taken out. */
  rest: string[];
  help: boolean;
}

function scan(args: readonly string[]): CommandLine {
  const line: CommandLine = { rest: [], help: false };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === '--ini') line.iniPath = args[++index];
    else if (arg.startsWith('--ini=')) line.iniPath = arg.slice('--ini='.length);
    else if (line.name !== undefined) line.rest.push(arg);
    else if (arg === '-h' || arg === '--help') line.help = true;
    else if (!arg.startsWith('-')) line.name = arg;
  }
  return line;
}

/**
 * The sub-commands of the plugins the INI file includes (core/plugin.ts `cli`). The file is
 * only read for a command that is not built in, or to list them in the help.
 */
async function addPluginCommands(program: Command, args: readonly string[]): Promise<void> {
  const line = scan(args);
  const builtin = program.commands.some((command) => command.name() === line.name);
  const listing = line.name === undefined ? line.help : line.name === 'help';
  if (builtin || (line.name === undefined && !listing)) return;
  let loaded;
  try {
    loaded = await loadPluginConfig(line.iniPath);
  } catch (error) {
    if (listing) return; // The help stays available with a broken configuration.
    throw error;
  }
  const { config, plan, migrations } = loaded;
  for (const [name, command] of pluginCommands(plan)) {
    program
      .command(name)
      .description(command.description)
      .helpOption(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .argument('[args...]')
      .action(async () => {
        const opened: Backends[] = [];
        try {
          const open = async () => {
            const backends = await openBackends(config.settings, migrations);
            opened.push(backends);
            return backends;
          };
          const code = await command.run(line.rest, { config, openBackends: open });
          process.exitCode = typeof code === 'number' ? code : 0;
        } finally {
          await Promise.all(opened.map(closeBackends));
        }
      });
  }
}

/**
 * Runs the `kinto` command line (`args` without node and the script). Without a sub-command
 * it starts the server, as `npm start` does; plugins may add sub-commands.
 */
export async function runCli(args: readonly string[]): Promise<void> {
  const program = buildProgram();
  await addPluginCommands(program, args);
  const line = scan(args);
  const asksVersion = args.includes('-V') || args.includes('--version');
  const argv = line.name === undefined && !line.help && !asksVersion ? ['start', ...args] : [...args];
  await program.parseAsync(argv, { from: 'user' });
}

export function buildProgram(): Command {
  const program = new Command('kinto')
    .description('Kinto-compatible storage server')
    .version(PACKAGE_VERSION, '-V, --version')
    .showHelpAfterError();
  addStart(program);
  addSetup(program);
  addMaintenance(program);
  addWizard(program);
  return program;
}
