import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { CliError, progress } from '../common.ts';
import { dumpTree } from './dump.ts';
import { loadTree } from './load.ts';
import { openApi, type ApiOptions } from './transport.ts';
import { selectionFrom, type SelectionFlags, type Tree } from './tree.ts';

interface SourceOptions extends SelectionFlags, ApiOptions {
  ini?: string;
}

async function withApi<T>(options: SourceOptions, work: (api: Awaited<ReturnType<typeof openApi>>) => Promise<T>): Promise<T> {
  const api = await openApi({ server: options.server, iniPath: options.ini, auth: options.auth });
  try {
    return await work(api);
  } finally {
    await api.close();
  }
}

/** `kinto dump`: the server's structure as kinto-wizard YAML, on stdout or in `--output`. */
export async function runDump(options: SourceOptions & { output?: string }): Promise<void> {
  const selection = selectionFrom(options, 'dump');
  const tree = await withApi(options, async (api) => {
    const bar = progress('Objects read');
    const result = await dumpTree(api, selection, bar);
    bar.done();
    return result;
  });
  const text = stringify(tree, { sortMapEntries: true });
  if (options.output) writeFileSync(options.output, text);
  else process.stdout.write(text);
}

function readTree(file: string): Tree {
  let parsed: unknown;
  try {
    parsed = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`Cannot read ${file}: ${(error as Error).message}`);
  }
  const buckets = (parsed as Partial<Tree> | null)?.buckets;
  if (typeof buckets !== 'object' || buckets === null || Array.isArray(buckets)) {
    throw new CliError(`${file} has no 'buckets' mapping (kinto-wizard format expected)`);
  }
  return parsed as Tree;
}

/** `kinto load FILE`: creates or updates what the file describes; loading it again changes nothing. */
export async function runLoad(
  file: string,
  options: SourceOptions & { force?: boolean; dryRun?: boolean; deleteRecords?: boolean },
): Promise<void> {
  const tree = readTree(file);
  const summary = await withApi(options, (api) =>
    loadTree(api, tree, {
      selection: selectionFrom(options, 'load'),
      force: Boolean(options.force),
      dryRun: Boolean(options.dryRun),
      deleteRecords: Boolean(options.deleteRecords),
    }),
  );
  const verb = options.dryRun ? 'Would have' : 'Loaded:';
  console.log(`${verb} ${summary.created} created, ${summary.updated} updated, ${summary.deleted} deleted, ${summary.unchanged} unchanged.`);
}
