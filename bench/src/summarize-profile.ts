/** Summarises a V8 .cpuprofile (from node --cpu-prof): where the time went, by function and by source file. */
import { readFileSync } from 'node:fs';
import { isMainModule } from '../../tools/dist/main-module.js';

/** The parts of a V8 CPU profile this summary reads. */
interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Time attributed to one function or file, in milliseconds. */
export interface ProfileEntry {
  readonly name: string;
  /** Time with this function on top of the stack. */
  readonly selfMs: number;
  /** Time with this function anywhere on the stack (recursion counted once). */
  readonly totalMs: number;
}

/** A profile summary: the sampled wall time and the heaviest functions and files. */
export interface ProfileSummary {
  readonly sampledMs: number;
  readonly functions: readonly ProfileEntry[];
  readonly files: readonly ProfileEntry[];
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const marker = url.lastIndexOf('/node_modules/');
  if (marker >= 0) return url.slice(marker + '/node_modules/'.length);
  const dist = url.search(/\/(server|protocol|client)\/dist\//);
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

/**
 * Summarises a profile: self and total time per function (name and source line) and per file. Total
 * time counts a sample once per function even when the function recurses. With `window`, only the
 * samples from the first to the last one whose stack holds a function of that name count, whatever
 * their stack (so garbage collection and idle time inside that span are included).
 */
export function summarizeProfile(profile: CpuProfile, window?: string): ProfileSummary {
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  let first = 0;
  let last = profile.samples.length - 1;
  if (window !== undefined) {
    const inside = (id: number): boolean => {
      for (let current: number | undefined = id; current !== undefined; current = parent.get(current))
        if (byId.get(current)!.callFrame.functionName === window) return true;
      return false;
    };
    first = profile.samples.findIndex(inside);
    if (first < 0) throw new Error(`no sample has ${window} on its stack`);
    while (!inside(profile.samples[last]!)) last--;
  }
  const selfTime = new Map<number, number>();
  let sampledMs = 0;
  for (let index = first; index <= last; index++) {
    // A sample's delta is the time since the previous sample, so it belongs to this sample.
    const milliseconds = (profile.timeDeltas[index] ?? 0) / 1000;
    sampledMs += milliseconds;
    const id = profile.samples[index]!;
    selfTime.set(id, (selfTime.get(id) ?? 0) + milliseconds);
  }
  const functions = new Map<string, { self: number; total: number }>();
  const files = new Map<string, { self: number; total: number }>();
  for (const [id, milliseconds] of selfTime) {
    const seenFunctions = new Set<string>();
    const seenFiles = new Set<string>();
    let top = true;
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const frame = byId.get(current)!.callFrame;
      const file = shortUrl(frame.url);
      const name = `${frame.functionName || '(anonymous)'} ${file}${frame.url !== '' ? `:${frame.lineNumber + 1}` : ''}`;
      for (const [table, key, seen] of [
        [functions, name, seenFunctions],
        [files, file, seenFiles],
      ] as const) {
        const entry = table.get(key) ?? { self: 0, total: 0 };
        if (top) entry.self += milliseconds;
        if (!seen.has(key)) entry.total += milliseconds;
        seen.add(key);
        table.set(key, entry);
      }
      top = false;
    }
  }
  const sorted = (table: Map<string, { self: number; total: number }>): ProfileEntry[] =>
    [...table]
      .map(([name, entry]) => ({ name, selfMs: entry.self, totalMs: entry.total }))
      .sort((a, b) => b.selfMs - a.selfMs);
  return { sampledMs, functions: sorted(functions), files: sorted(files) };
}

function render(title: string, entries: readonly ProfileEntry[], sampledMs: number, limit: number): string {
  const lines = [`${title}`, `${'self ms'.padStart(9)} ${'self %'.padStart(7)} ${'total ms'.padStart(9)}  name`];
  for (const entry of entries.slice(0, limit)) {
    lines.push(
      `${entry.selfMs.toFixed(1).padStart(9)} ${((entry.selfMs / sampledMs) * 100).toFixed(1).padStart(6)}% ${entry.totalMs.toFixed(1).padStart(9)}  ${entry.name}`,
    );
  }
  return lines.join('\n');
}

if (isMainModule(import.meta.url)) {
  const args = process.argv.slice(2);
  const windowAt = args.indexOf('--window');
  const window = windowAt >= 0 ? args.splice(windowAt, 2)[1] : undefined;
  const [file, limitText] = args;
  if (file === undefined) {
    process.stderr.write('Usage: node bench/dist/summarize-profile.js FILE.cpuprofile [LIMIT] [--window FUNCTION]\n');
    process.exitCode = 2;
  } else {
    const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, window);
    const limit = Number(limitText ?? '25');
    process.stdout.write(
      `sampled ${summary.sampledMs.toFixed(0)} ms${window !== undefined ? ` from the first to the last sample inside ${window}` : ''}\n\n`,
    );
    process.stdout.write(
      `${render('by function', summary.functions, summary.sampledMs, limit)}\n\n${render('by file', summary.files, summary.sampledMs, limit)}\n`,
    );
  }
}
