/**
 * Summarises V8 CPU profiles (`--cpu-prof`): self time by function and by area
 * (our code, fastify, pg, node internals, GC, idle).
 * Usage: node bench/profile.ts FILE.cpuprofile [...] [--top N]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function area(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(program)') return 'program';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node internals';
  const ours = /\/(core|plugins|bench)\/(.+)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2].split('/')[0]}`;
  return url ? 'other' : 'native';
}

/** Self milliseconds per key over every profile. */
function tally(profiles: Profile[], keyOf: (frame: CallFrame) => string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      if (!node) return;
      const key = keyOf(node.callFrame);
      totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
  }
  return totals;
}

function print(title: string, totals: Map<string, number>, top: number): void {
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  const busy = all - (totals.get('idle') ?? 0) - (totals.get('(idle)  ') ?? 0);
  console.log(`\n${title} (total ${all.toFixed(0)} ms, busy ${busy.toFixed(0)} ms)`);
  const rows = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [key, ms] of rows) {
    console.log(`${ms.toFixed(0).padStart(8)} ms ${((ms / all) * 100).toFixed(1).padStart(5)}%  ${key}`);
  }
}

/** Self time of the functions named `name`, attributed to their call stacks (innermost first). */
function callers(profiles: Profile[], name: string, depth: number): Map<string, number> {
  const totals = new Map<string, number>();
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      if (!node || node.callFrame.functionName !== name) return;
      const stack: string[] = [];
      for (let at = parent.get(id); at !== undefined && stack.length < depth; at = parent.get(at)) {
        const frame = byId.get(at)!.callFrame;
        stack.push(`${frame.functionName || '(anonymous)'}@${frame.url.replace(/^.*\/(node_modules|core|plugins)\//, '$1/')}:${frame.lineNumber + 1}`);
      }
      const key = stack.join(' < ');
      totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
  }
  return totals;
}

/** Each sample charged to the innermost frame of our code on its stack (library time included). */
function ours(profiles: Profile[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const profile of profiles) {
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
    profile.samples.forEach((id, i) => {
      let key = area(byId.get(id)!.callFrame);
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const frame = byId.get(at)!.callFrame;
        const match = /\/((?:core|plugins)\/.+)$/.exec(frame.url);
        if (match) {
          key = `${frame.functionName || '(anonymous)'} ${match[1]}:${frame.lineNumber + 1}`;
          break;
        }
      }
      totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
  }
  return totals;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' }, callers: { type: 'string' }, depth: { type: 'string', default: '8' } },
});
const profiles = positionals.map((file) => JSON.parse(readFileSync(file, 'utf8')) as Profile);
const top = Number(values.top);
if (values.callers) {
  print(`Callers of ${values.callers}`, callers(profiles, values.callers, Number(values.depth)), top);
  process.exit(0);
}
print('Self time by area', tally(profiles, area), top);
print('Time by innermost function of ours (libraries it calls included)', ours(profiles), top);
print(
  'Self time by function',
  tally(profiles, (f) => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|core|plugins)\//, '$1/')}:${f.lineNumber + 1}`),
  top,
);
