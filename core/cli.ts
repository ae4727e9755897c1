#!/usr/bin/env node
/**
 * The `kinto` command (package.json `bin`): Kinto's sub-commands, on commander. Each command
 * lives in core/cli/; this file only reports failures the way operators expect: one line on
 * stderr and Kinto's exit code.
 */
import { runCli } from './cli/program.ts';
import { CliError } from './cli/common.ts';
import { SettingsError } from './settings/ini.ts';

runCli(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof CliError) {
    console.error(error.message);
    process.exit(error.exitCode);
  }
  if (error instanceof SettingsError) console.error(`Configuration error: ${error.message}`);
  else console.error(error);
  process.exit(1);
});
