/** The benchmark entry point (`npm run bench`): generates or reuses workspaces, measures the packer server against its floors, prints the table. */
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCount } from '../../tools/dist/generate-workspace.js';
import {
  measureColdOpen,
  measureIdleResident,
  measureReads,
  type ColdOpenResult,
  type ReadsResult,
} from './measurements.js';
import {
  atSize,
  lazyCopies,
  runLaneSuite,
  runPackSuite,
  runWatchSuite,
  type SuiteContext,
  type SuiteOutput,
} from './issue-suites.js';
import { confinementRows, measureConfinement } from './confinement-benchmark.js';
import { editorsAlongColdOpens, runEditorsSuite } from './editor-benchmark.js';
import { formatGrowthMarkdown, formatGrowthTable, tagRows } from './growth.js';
import { formatMarkdownTable, formatTable, type ReportRow } from './report.js';
import { measureStartup, startupRow } from './startup-benchmark.js';
import { runStudioSuite } from './studio-benchmark.js';
import {
  continuedWaits,
  idleWaitMs,
  idleWaitSites,
  packerServerCommand,
  setWaitScope,
  type ServerCommand,
} from './server-process.js';
import { formatBytes, formatCount, formatMilliseconds, mean, median, percentile } from './statistics.js';
import { ensureWorkspace, type BenchWorkspace } from './workspaces.js';
import { installCopyPool, PrivateCopyPool } from './private-copy.js';
import { formatWaitSites, TimeBudget } from './time-budget.js';

const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: npm run bench -- [options]

Measures the packer server against floors that do the least work possible (see docs/performance.md).
  --suite LIST       comma-separated suites: core (start-up, open, reads, memory), lane (applies, reads during a
                     pack, event throughput), watch (divergence latency, watcher readiness, memory,
                     missed changes), pack (full and incremental pack of 200 MB, and a pack of each
                     size), editors (keystroke diagnostics, publishing at open), studio (the panel's
                     navigator against parsing its answers), or all (default). Each suite measures its
                     size-dependent rows at every size, and a "how it grows" table follows the main one.
  --quick            only the 1k and 10k workspaces, with fewer repetitions (for development)
  --sizes LIST       comma-separated sizes in asset roots, such as 1k,10k or 100000 (default 1k,10k,100k)
  --seed N           workspace and asset-id seed (default 1)
  --workspaces DIR   where generated workspaces are cached (default bench/workspaces)
  --profile DIR      run the packer servers with --cpu-prof, writing .cpuprofile files into DIR
  --server FILE      the packer server entry script to measure (default: the workspace's packer-server)
  --node-option OPT  pass OPT to node when starting packer servers (repeatable), e.g. --max-semi-space-size=64
  --delete-copies    delete the private copies at the end instead of keeping them for the next run (in
                     the system's temporary folder, prometeu-bench-copies/)
  --json FILE        also write every raw sample as JSON
  --markdown         also print both tables as Markdown
`;

/** The suites a run can measure. */
type Suite = 'core' | 'lane' | 'watch' | 'pack' | 'editors' | 'studio';
const SUITES: readonly Suite[] = ['core', 'watch', 'lane', 'pack', 'editors', 'studio'];

/** The options of one run. */
interface RunOptions {
  readonly suites: readonly Suite[];
  readonly quick: boolean;
  readonly sizes: readonly number[];
  readonly seed: number;
  readonly workspaces: string;
  readonly profile?: string;
  readonly server?: string;
  readonly nodeOptions: readonly string[];
  readonly json?: string;
  readonly markdown: boolean;
  readonly deleteCopies: boolean;
}

function parseOptions(argv: readonly string[]): RunOptions | undefined {
  let sizes: number[] | undefined;
  let suites: readonly Suite[] = SUITES;
  let quick = false;
  let seed = 1;
  let workspaces = resolve(BENCH_DIR, 'workspaces');
  let profile: string | undefined;
  let json: string | undefined;
  let server: string | undefined;
  const nodeOptions: string[] = [];
  let markdown = false;
  let deleteCopies = false;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    const value = (): string => {
      const next = argv[++index];
      if (next === undefined) throw new RangeError(`${argument} needs a value`);
      return next;
    };
    switch (argument) {
      case '--help':
        process.stdout.write(USAGE);
        return undefined;
      case '--quick':
        quick = true;
        break;
      case '--suite': {
        const named = value()
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part !== '');
        if (named.length === 0 || named.some((part) => part !== 'all' && !SUITES.includes(part as Suite)))
          throw new RangeError(`--suite takes ${SUITES.join(', ')} or all, got ${argv[index]}`);
        suites = named.includes('all') ? SUITES : SUITES.filter((suite) => named.includes(suite));
        break;
      }
      case '--sizes':
        sizes = value()
          .split(',')
          .filter((part) => part.trim() !== '')
          .map((part) => parseCount(part, '--sizes'));
        if (sizes.length === 0) throw new RangeError('--sizes needs at least one size');
        break;
      case '--seed':
        seed = Number(value());
        if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffffffff)
          throw new RangeError(`--seed must be an integer in [0, 2^32), got ${argv[index]}`);
        break;
      case '--workspaces':
        workspaces = resolve(value());
        break;
      case '--profile':
        profile = resolve(value());
        break;
      case '--server':
        server = resolve(value());
        break;
      case '--node-option':
        nodeOptions.push(value());
        break;
      case '--json':
        json = resolve(value());
        break;
      case '--markdown':
        markdown = true;
        break;
      case '--delete-copies':
        deleteCopies = true;
        break;
      default:
        throw new RangeError(`unknown option ${argument}\n\n${USAGE}`);
    }
  }
  // An explicit --sizes wins over --quick's, in either order.
  sizes = [...new Set(sizes ?? (quick ? [1_000, 10_000] : [1_000, 10_000, 100_000]))].sort((a, b) => a - b);
  return {
    suites,
    quick,
    sizes,
    seed,
    workspaces,
    markdown,
    deleteCopies,
    nodeOptions,
    ...(profile !== undefined ? { profile } : {}),
    ...(json !== undefined ? { json } : {}),
    ...(server !== undefined ? { server } : {}),
  };
}

/** Cold-open repetitions by size: enough for a stable median, few enough at 100k to stay within the time budget (docs/performance-history.md, "How it grows"). */
function coldOpenRepetitions(roots: number): number {
  // 1k: goal 6 is set at 10k and 100k only; 7 still covers the editors' 5 publishing opens it pairs with.
  // 10k: 7, the editors' 5 publishing opens and 2 more; the median of the first 7 of 9 was within 5 % of all 9.
  if (roots <= 20_000) return 7;
  return 3;
}

const runStarted = performance.now();

function log(message: string): void {
  process.stderr.write(`[bench ${((performance.now() - runStarted) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);
}

function coldOpenRows(result: ColdOpenResult): ReportRow[] {
  // Issue 13, goal 6: at 10k and 100k, no slower than the single-threaded floor (the server has two cores).
  const goal = result.roots >= 10_000 ? 1 : undefined;
  const subject = median(result.subjectMs);
  const floor = median(result.floorMs);
  const untilIdle = median(result.untilIdleMs);
  return [
    {
      metric: `cold open ${formatCount(result.roots)} (median of ${result.subjectMs.length})`,
      subject: formatMilliseconds(subject),
      floor: formatMilliseconds(floor),
      ratio: subject / floor,
      ...(goal !== undefined ? { goal } : {}),
    },
    {
      metric: `  … until the server is idle ${formatCount(result.roots)}`,
      subject: formatMilliseconds(untilIdle),
      floor: formatMilliseconds(floor),
      ratio: untilIdle / floor,
    },
  ];
}

function memoryRow(result: ColdOpenResult, idle: readonly number[]): ReportRow {
  const opened = median(result.openedResidentBytes);
  const baseline = median(idle);
  return {
    metric: `resident memory per asset ${formatCount(result.roots)} (median of ${result.openedResidentBytes.length})`,
    subject: `${formatBytes((opened - baseline) / result.roots)}/asset`,
    floor: `idle ${formatBytes(baseline)}, open ${formatBytes(opened)}`,
  };
}

function readRows(result: ReadsResult): ReportRow[] {
  const size = formatCount(result.roots);
  const listSubject = median(result.listSubjectMs);
  const listFloor = median(result.listFloorMs);
  const rows: ReportRow[] = [
    {
      metric: `listAssets ${size} (median of ${result.listSubjectMs.length}, ${formatBytes(result.listBytes)})`,
      subject: formatMilliseconds(listSubject),
      floor: formatMilliseconds(listFloor),
      ratio: listSubject / listFloor,
      goal: 1.3,
    },
    {
      metric: `  … mean of the same samples`,
      subject: formatMilliseconds(mean(result.listSubjectMs)),
      floor: formatMilliseconds(mean(result.listFloorMs)),
      ratio: mean(result.listSubjectMs) / mean(result.listFloorMs),
    },
  ];
  for (const percent of [50, 99]) {
    const subject = percentile(result.detailSubjectMs, percent);
    const floor = percentile(result.detailFloorMs, percent);
    rows.push({
      metric: `getAssetDetails ${size} p${percent} (${result.detailSubjectMs.length} calls, ~${formatBytes(result.detailBytesMedian)})`,
      subject: formatMilliseconds(subject),
      floor: formatMilliseconds(floor),
      ratio: subject / floor,
      goal: 1.2,
    });
  }
  const firstSubject = percentile(result.detailFirstSubjectMs, 50);
  const firstFloor = percentile(result.detailFirstFloorMs, 50);
  rows.push({
    metric: `  … p50 of the first read of each asset (${result.detailFirstSubjectMs.length}, details built; not interleaved)`,
    subject: formatMilliseconds(firstSubject),
    floor: formatMilliseconds(firstFloor),
    ratio: firstSubject / firstFloor,
  });
  return rows;
}

/** What the core suite measured for the editors suite: its rows by size, and the time that took. */
interface CarriedEditors {
  readonly outputs: Map<number, { rows: ReportRow[]; samples: Record<string, unknown> }>;
  seconds: number;
  waitSeconds: number;
}

/** Wall time and idle-wait time since `from` (see {@link clock}), in seconds. */
function elapsed(from: { wall: number; waits: number }): { seconds: number; waitSeconds: number } {
  return { seconds: (performance.now() - from.wall) / 1000, waitSeconds: (idleWaitMs() - from.waits) / 1000 };
}

function clock(): { wall: number; waits: number } {
  return { wall: performance.now(), waits: idleWaitMs() };
}

/**
 * The core suite: start-up (once), then at every size a cold open and the reads (31 listAssets pairs and
 * 2,000 getAssetDetails pairs, 7 and 1,000 above 20k roots), then the resident memory per asset of the
 * sizes from 10k up. Each size's rows are tagged with it. With `editors`, the editors suite's measurements
 * of each size ride on the cold opens (editorsAlongColdOpens: a cold open is the editors' open without
 * publishing, so it is not measured twice); their rows wait in `editors` for the editors suite, and their
 * time is booked to it.
 */
async function runCoreSuite(
  options: RunOptions,
  workspaces: ReadonlyMap<number, BenchWorkspace>,
  server: ServerCommand,
  rows: ReportRow[],
  samples: Record<string, unknown>,
  failed: string[],
  spent: (suite: string, roots: number | undefined, seconds: number, waitSeconds?: number) => void,
  editors?: CarriedEditors,
): Promise<void> {
  const memorySizes = options.sizes.some((roots) => roots >= 10_000)
    ? options.sizes.filter((roots) => roots >= 10_000)
    : options.sizes;
  const coreStarted = performance.now();
  log('start-up: spawn → initialize result, against a no-op server');
  const startup = await measureStartup(server, options.quick ? 11 : 15);
  rows.push(startupRow(startup));
  samples['startup'] = startup;
  log('idle server resident memory');
  const idle = await measureIdleResident({ repetitions: 5, server });
  samples['idleResidentBytes'] = idle;
  const openRows: ReportRow[] = [];
  const readsRows: ReportRow[] = [];
  const confinementRowsBySize: ReportRow[] = [];
  const memoryRows: ReportRow[] = [];
  for (const roots of options.sizes) {
    const sizeStarted = clock();
    const editorsSpent = { seconds: 0, waitSeconds: 0 };
    // Runs one editors step, booking its time to the editors suite; a failure leaves the size to that suite.
    let editorsFailed = false;
    const editorsStep = async <T>(step: () => Promise<T>): Promise<T | undefined> => {
      if (editorsFailed) return undefined;
      const started = clock();
      const scopeBefore = setWaitScope(`editors ${formatCount(roots)}`);
      try {
        return await step();
      } catch (error) {
        editorsFailed = true;
        log(
          `editors at ${formatCount(roots)} beside the cold opens failed (the editors suite measures it again): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
        return undefined;
      } finally {
        setWaitScope(scopeBefore);
        const spentHere = elapsed(started);
        editorsSpent.seconds += spentHere.seconds;
        editorsSpent.waitSeconds += spentHere.waitSeconds;
      }
    };
    const scopeBefore = setWaitScope(`core ${formatCount(roots)}`);
    try {
      const workspace = workspaces.get(roots)!;
      const repetitions = coldOpenRepetitions(roots);
      const along =
        editors !== undefined
          ? editorsAlongColdOpens({ quick: options.quick, seed: options.seed, server, log }, workspace)
          : undefined;
      log(
        `cold open ${formatCount(roots)}: ${repetitions} repetitions${along !== undefined ? `, the first ${along.repetitions} with an open publishing diagnostics (editors)` : ''}`,
      );
      const coldOpen = await measureColdOpen(workspace, {
        repetitions,
        measureMemory: memorySizes.includes(roots),
        server,
        keepLast: true,
        ...(along !== undefined
          ? { interleave: async (repetition: number) => void (await editorsStep(() => along.interleave(repetition))) }
          : {}),
      });
      // The reads take over the cold open's last server (and stop it); nothing runs between the two.
      const { kept, ...coldOpenSamples } = coldOpen;
      const listRepetitions = atSize(roots, 31, 7);
      const detailCalls = atSize(roots, 2000, 1000);
      log(
        `reads on ${formatCount(roots)}: ${listRepetitions} listAssets, ${detailCalls} getAssetDetails (on the last cold open's server)`,
      );
      const reads = await measureReads(workspace, {
        listRepetitions,
        detailCalls,
        seed: options.seed,
        server,
        ...(kept !== undefined ? { opened: kept } : {}),
      });
      if (along !== undefined && editors !== undefined) {
        const output = await editorsStep(() =>
          Promise.resolve().then(() =>
            along.finish({
              ms: coldOpen.subjectMs,
              untilIdleMs: coldOpen.untilIdleMs,
              cpuMs: coldOpen.cpuMs,
              mainCpuMs: coldOpen.mainCpuMs,
            }),
          ),
        );
        if (output !== undefined) editors.outputs.set(roots, output);
      }
      openRows.push(...tagRows(coldOpenRows(coldOpen), roots));
      if (coldOpen.openedResidentBytes.length > 0) memoryRows.push(...tagRows([memoryRow(coldOpen, idle)], roots));
      readsRows.push(...tagRows(readRows(reads), roots));
      log(`confinement checks ${formatCount(roots)}: the crawl through ProjectFs against a plain one`);
      const confinement = measureConfinement(workspace, roots >= 100_000 ? 3 : 9);
      confinementRowsBySize.push(...tagRows(confinementRows(confinement), roots));
      (samples['sizes'] as Record<string, unknown>)[formatCount(roots)] = {
        summary: workspace.summary,
        coldOpen: coldOpenSamples,
        reads,
        confinement,
      };
    } catch (error) {
      // As in eachSize: the other sizes still run, and the table says which one failed.
      const message = error instanceof Error ? error.message : String(error);
      log(`core at ${formatCount(roots)} failed: ${error instanceof Error ? (error.stack ?? message) : message}`);
      failed.push(`core at ${formatCount(roots)}`);
      openRows.push({
        metric: `core ${formatCount(roots)}: FAILED (${message.slice(0, 160)})`,
        subject: '—',
        floor: '—',
      });
    } finally {
      setWaitScope(scopeBefore);
    }
    const size = elapsed(sizeStarted);
    spent('core', roots, size.seconds - editorsSpent.seconds, size.waitSeconds - editorsSpent.waitSeconds);
    if (editors !== undefined) {
      spent('editors', roots, editorsSpent.seconds, editorsSpent.waitSeconds);
      editors.seconds += editorsSpent.seconds;
      editors.waitSeconds += editorsSpent.waitSeconds;
    }
    log(
      `core at ${formatCount(roots)}: ${(size.seconds - editorsSpent.seconds).toFixed(0)} s${editors !== undefined ? ` (and ${editorsSpent.seconds.toFixed(0)} s of the editors suite)` : ''}`,
    );
  }
  rows.push(...openRows, ...readsRows, ...confinementRowsBySize, ...memoryRows);
  log(`core suite: ${((performance.now() - coreStarted) / 1000).toFixed(0)} s`);
}

async function main(argv: readonly string[]): Promise<void> {
  const options = parseOptions(argv);
  if (options === undefined) return;
  if ((globalThis as { gc?: unknown }).gc === undefined)
    log('warning: run with node --expose-gc (npm run bench does) so floors start from a collected heap');
  const started = performance.now();
  const loadBefore = loadavg();
  if (options.profile !== undefined) mkdirSync(options.profile, { recursive: true });
  const server = packerServerCommand(
    [
      ...options.nodeOptions,
      ...(options.profile !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${options.profile}`] : []),
    ],
    options.server,
  );

  const workingSize = options.sizes.includes(10_000) ? 10_000 : options.sizes[0]!;
  const has = (suite: Suite): boolean => options.suites.includes(suite);

  // Every suite measures at every size, so every size's generated workspace is needed (the pack suite also
  // makes its 2,000-blob workspace, the studio suite checks its own).
  const budget = new TimeBudget();
  // The same cells, counting only the time spent waiting for a server to go idle (server-process.ts).
  const waits = new TimeBudget();
  const spent = (suite: string, roots: number | undefined, seconds: number, waitSeconds = 0): void => {
    budget.add(suite, roots, seconds);
    waits.add(suite, roots, waitSeconds);
  };
  mkdirSync(options.workspaces, { recursive: true });
  const workspaces = new Map<number, BenchWorkspace>();
  for (const roots of options.sizes) {
    const checkStarted = performance.now();
    workspaces.set(roots, ensureWorkspace(options.workspaces, roots, options.seed, log));
    spent('workspaces', roots, (performance.now() - checkStarted) / 1000);
  }
  // One private copy per workspace for the whole run, handed to every suite that writes and restored
  // between them (private-copy.ts); kept for the next run at the end (which then restores instead of
  // copying: at 100k, about 25 s to copy and 10-40 s to delete), or deleted with --delete-copies.
  const pool = new PrivateCopyPool(log, options.deleteCopies ? undefined : join(tmpdir(), 'prometeu-bench-copies'));
  installCopyPool(pool);

  const rows: ReportRow[] = [];
  const samples: Record<string, unknown> = { options, sizes: {} };
  const suiteSeconds: Record<string, number> = {};
  // A suite that fails (a watcher budget another process exhausted, say) is reported and the others still
  // run, so one failure late in a long run does not lose every figure before it; the run then exits with 1.
  const failed: string[] = [];
  const failure = (suite: string, error: unknown): void => {
    failed.push(suite);
    log(`${suite} suite failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  };
  // Where both run, the editors' opens and keystrokes of each size are measured beside the core's cold opens.
  const carried =
    has('core') && has('editors')
      ? {
          outputs: new Map<number, { rows: ReportRow[]; samples: Record<string, unknown> }>(),
          seconds: 0,
          waitSeconds: 0,
        }
      : undefined;
  if (has('core')) {
    const coreStarted = clock();
    // Waits outside a size (start-up, idle memory) are the suite's once-per-run part; each size sets its own scope.
    const scopeBefore = setWaitScope('core once');
    try {
      await runCoreSuite(options, workspaces, server, rows, samples, failed, spent, carried);
    } catch (error) {
      failure('core', error);
    } finally {
      setWaitScope(scopeBefore);
    }
    const core = elapsed(coreStarted);
    suiteSeconds['core'] = core.seconds - (carried?.seconds ?? 0);
    budget.settle('core', suiteSeconds['core']);
    waits.settle('core', core.waitSeconds - (carried?.waitSeconds ?? 0));
  }
  const copies = lazyCopies((roots) => workspaces.get(roots)!, pool);
  try {
    const context: SuiteContext = {
      sizes: options.sizes,
      workspaces,
      workingSize,
      workspacesDir: options.workspaces,
      seed: options.seed,
      quick: options.quick,
      server,
      log,
      workingCopy: (roots = workingSize) => copies.get(roots),
      spent,
      measuredEarlier: (suite, roots) => (suite === 'editors' ? carried?.outputs.get(roots) : undefined),
    };
    const suites: [Suite, (context: SuiteContext) => Promise<SuiteOutput>][] = [
      ['watch', runWatchSuite],
      ['lane', runLaneSuite],
      ['pack', runPackSuite],
      ['editors', runEditorsSuite],
      ['studio', runStudioSuite],
    ];
    for (const [suite, run] of suites) {
      if (!has(suite)) continue;
      const suiteStarted = clock();
      const scopeBefore = setWaitScope(`${suite} once`);
      try {
        const output = await run(context);
        rows.push(...output.rows);
        samples[suite] = output.samples;
        if (output.failedSizes !== undefined)
          failed.push(`${suite} at ${output.failedSizes.map(formatCount).join(', ')}`);
      } catch (error) {
        failure(suite, error);
      } finally {
        setWaitScope(scopeBefore);
        // The suite is done with its working copies: the next one (or a copyToTemporary) gets them restored.
        copies.dispose();
      }
      const spentOnSuite = elapsed(suiteStarted);
      // The editors' sizes measured beside the core's cold opens count here too.
      const carriedSeconds = suite === 'editors' ? (carried?.seconds ?? 0) : 0;
      suiteSeconds[suite] = spentOnSuite.seconds + carriedSeconds;
      budget.settle(suite, suiteSeconds[suite]);
      waits.settle(suite, spentOnSuite.waitSeconds + (suite === 'editors' ? (carried?.waitSeconds ?? 0) : 0));
      log(`${suite} suite: ${suiteSeconds[suite].toFixed(0)} s`);
    }
  } finally {
    copies.dispose();
    installCopyPool(undefined);
    const restoreSeconds = pool.restores.reduce((sum, report) => sum + report.ms, 0) / 1000;
    const ending = options.deleteCopies ? 'delete copies' : 'keep copies';
    log(`private copies: ${pool.restores.length} restores, ${restoreSeconds.toFixed(1)} s in all; ${ending}`);
    const deleteSeconds = pool.dispose() / 1000;
    spent(ending, undefined, deleteSeconds);
    log(
      `private copies ${options.deleteCopies ? 'deleted' : 'kept for the next run'} in ${deleteSeconds.toFixed(1)} s`,
    );
  }

  const seconds = (performance.now() - started) / 1000;
  const cpu = cpus();
  const loadAfter = loadavg();
  process.stdout.write(
    `\nPrometeu packer benchmark: node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${formatBytes(totalmem())} RAM\n`,
  );
  process.stdout.write(
    `server ${server.script}${server.nodeOptions && server.nodeOptions.length > 0 ? ` (node ${server.nodeOptions.join(' ')})` : ''}\n`,
  );
  process.stdout.write(
    `load average ${loadBefore[0]!.toFixed(2)} before, ${loadAfter[0]!.toFixed(2)} after; page cache warm; ${seconds.toFixed(0)} s in all (${Object.entries(
      suiteSeconds,
    )
      .map(([suite, suiteTime]) => `${suite} ${suiteTime.toFixed(0)} s`)
      .join(', ')})\n\n`,
  );
  if (failed.length > 0) process.stdout.write(`FAILED suites (see the log above): ${failed.join(', ')}\n\n`);
  process.stdout.write(`Time budget (seconds of wall time; the goal is the whole default run under 600 s)\n\n`);
  process.stdout.write(`${budget.format(options.sizes, seconds)}\n\n`);
  const waitedSeconds = idleWaitMs() / 1000;
  const continuedSoFar = continuedWaits();
  process.stdout.write(
    `Of which waiting for a server to go idle (seconds; server-process.ts, waitForQuiet: ${waitedSeconds.toFixed(0)} s in all; ${continuedSoFar.waits} waits continued a quiet stretch, saving ${(continuedSoFar.savedMs / 1000).toFixed(0)} s at least)\n\n`,
  );
  process.stdout.write(`${waits.format(options.sizes, waitedSeconds)}\n\n`);
  const sites = idleWaitSites();
  process.stdout.write(
    `The idle waits by call site (seconds; each wait counted in full, so waits that ran together count twice; "server working" is the part before the quiet stretch began)\n\n${formatWaitSites(sites)}\n\n`,
  );
  process.stdout.write(`${formatTable(rows)}\n`);
  process.stdout.write(`\n${formatGrowthTable(rows)}\n`);
  if (options.markdown) {
    process.stdout.write(`\n${budget.format(options.sizes, seconds, true)}\n`);
    process.stdout.write(`\nOf which idle waits\n\n${waits.format(options.sizes, waitedSeconds, true)}\n`);
    process.stdout.write(`\nThe idle waits by call site\n\n${formatWaitSites(sites, true)}\n`);
    process.stdout.write(`\n${formatMarkdownTable(rows)}\n`);
    process.stdout.write(`\nHow it grows\n\n${formatGrowthMarkdown(rows)}\n`);
  }
  if (options.json !== undefined) {
    writeFileSync(
      options.json,
      `${JSON.stringify({ ...samples, rows, seconds, suiteSeconds, budget: budget.entries(), idleWaits: waits.entries(), idleWaitSites: sites, continuedWaits: continuedSoFar, loadBefore, loadAfter, node: process.version, cpus: cpu.length }, null, 2)}\n`,
    );
    log(`raw samples written to ${options.json}`);
  }
  if (failed.length > 0) process.exitCode = 1;
  if (options.profile !== undefined)
    log(`server CPU profiles in ${options.profile}; summarise one with node bench/dist/summarize-profile.js FILE`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`[bench] failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
