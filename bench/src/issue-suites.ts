/** The lane, watch and pack suites as `run.ts` runs them: sizes, repetitions, private copies and rows. */
import { measureEventThroughput, type EventThroughputResult } from './event-throughput.js';
import {
  applyRows,
  laneRows,
  measureApplies,
  measureLane,
  type ApplyResult,
  type LaneResult,
} from './lane-benchmark.js';
import { generateWorkspace } from '../../tools/dist/generate-workspace.js';
import { measurePack, packRows, type PackResult } from './pack-benchmark.js';
import { ensurePackWorkspace } from './pack-workspace.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyToTemporary, type PrivateCopy } from './private-copy.js';
import type { ReportRow } from './report.js';
import type { ServerCommand } from './server-process.js';
import { formatCount, formatMilliseconds } from './statistics.js';
import {
  measureMissedChanges,
  measureSnapshotHeap,
  measureWatchLatency,
  measureWatchReady,
  missedChangesRows,
  snapshotHeapRow,
  watchLatencyRows,
  watchReadyRows,
  type MissedChangesResult,
  type WatchLatencyResult,
  type WatchReadyResult,
} from './watch-benchmark.js';
import type { SnapshotProbe } from './watch-probe.js';
import type { BenchWorkspace } from './workspaces.js';

/** Above this many roots chokidar is not probed: it would exhaust the inotify budget. */
const CHOKIDAR_MAX_ROOTS = 20_000;
/** The pack workspace: 2,000 blobs of 100 KiB, about 200 MB of inputs. */
const PACK_ASSETS = 2_000;
const PACK_BYTES_PER_ASSET = 100 * 1024;

/** What every suite gets from the run. */
export interface SuiteContext {
  /** The generated workspaces by size (every size the suites need). */
  readonly workspaces: ReadonlyMap<number, BenchWorkspace>;
  /** The size the lane and the watch latency use: 10k when measured, else the smallest. */
  readonly workingSize: number;
  readonly workspacesDir: string;
  readonly seed: number;
  readonly quick: boolean;
  readonly server: ServerCommand;
  readonly log: (message: string) => void;
  /** A private copy of the working-size workspace, made on first use and shared by the watch and lane suites (the watch writes a few inputs first). */
  workingCopy(): PrivateCopy;
}

/** Rows and raw samples of one suite. */
export interface SuiteOutput {
  readonly rows: ReportRow[];
  readonly samples: Record<string, unknown>;
}

/** Makes the shared private copy lazily; `dispose` deletes it if it was made. */
export function lazyCopy(
  workspace: () => BenchWorkspace,
  log: (message: string) => void,
): { get(): PrivateCopy; dispose(): void } {
  let copy: PrivateCopy | undefined;
  return {
    get() {
      if (copy === undefined) {
        const source = workspace();
        copy = copyToTemporary(source.projectDir, formatCount(source.summary.roots));
        log(
          `private copy of ${formatCount(source.summary.roots)} in ${copy.projectDir} (${formatMilliseconds(copy.copyMs)})`,
        );
      }
      return copy;
    },
    dispose() {
      copy?.remove();
    },
  };
}

/**
 * The watch suite: readiness probes at every size (5 pairs up to 10k, 3 at 100k and above; chokidar 3 times
 * up to 20k roots, never above), the heap of one snapshot at every size, the write-to-divergence latency on the private copy of the working size
 * (15 samples), and the many-changes check with the server's memory at the largest size (once).
 */
export async function runWatchSuite(context: SuiteContext): Promise<SuiteOutput> {
  const sizes = [...context.workspaces.keys()].sort((a, b) => a - b);
  const largest = sizes[sizes.length - 1]!;
  const ready: WatchReadyResult[] = [];
  for (const roots of sizes) {
    const repetitions = roots >= 100_000 ? 3 : 5;
    const chokidarRepetitions = roots <= CHOKIDAR_MAX_ROOTS ? 3 : 0;
    context.log(
      `watch: readiness ${formatCount(roots)}: ${repetitions} host/parcel pairs, ${chokidarRepetitions} chokidar`,
    );
    ready.push(await measureWatchReady(context.workspaces.get(roots)!, { repetitions, chokidarRepetitions }));
  }
  const snapshots: SnapshotProbe[] = [];
  for (const roots of sizes) {
    context.log(`watch: the heap of one snapshot of ${formatCount(roots)}`);
    snapshots.push(await measureSnapshotHeap(context.workspaces.get(roots)!));
  }
  context.log(`watch: write → divergence.detected on ${formatCount(context.workingSize)}: 15 samples`);
  const latency: WatchLatencyResult = await measureWatchLatency(context.workingCopy().projectDir, context.workingSize, {
    samples: 15,
    seed: context.seed,
    server: context.server,
  });
  context.log(`watch: 50 changes at once on ${formatCount(largest)}`);
  const missed: MissedChangesResult = await measureMissedChanges(context.workspaces.get(largest)!, {
    count: 50,
    seed: context.seed,
    server: context.server,
  });
  const rows: ReportRow[] = [];
  for (const result of ready)
    rows.push(
      ...watchReadyRows(
        result,
        result.roots === context.workingSize && result.roots !== largest ? latency.residentWatchingBytes : undefined,
      ),
    );
  rows.push(...watchLatencyRows(latency));
  rows.push(...missedChangesRows(missed));
  rows.push(...snapshots.map(snapshotHeapRow));
  return { rows, samples: { ready, snapshots, latency, missed } };
}

/**
 * The lane suite: applies and reads on the private copy of the working size (17 timed applies of each kind,
 * 15 with --quick; 2 passes of 600 idle reads and one full pack each, one read every 4 ms), the applies
 * alone on a generated 10-root project and on a private copy of each measured size of 100k roots and above
 * (9 of each kind there, 7 with --quick), then the event throughput (100,000 events, 100 per turn, 3
 * repetitions of each sender).
 */
export async function runLaneSuite(context: SuiteContext): Promise<SuiteOutput> {
  const applies = context.quick ? 15 : 17;
  const sizes: ApplyResult[] = [];
  {
    const parent = mkdtempSync(join(tmpdir(), 'prometeu-bench-10-'));
    try {
      const projectDir = join(parent, 'project');
      // Seven registered roots and three unregistered ones to register.
      generateWorkspace(projectDir, { roots: 10, seed: context.seed, registeredShare: 0.7 });
      context.log(`lane: ${applies} register and ${applies} relocate applies on 10 roots`);
      sizes.push(await measureApplies(projectDir, 10, { applies, seed: context.seed, server: context.server }));
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  }
  context.log(
    `lane: ${applies} register and ${applies} relocate applies on ${formatCount(context.workingSize)}, reads during 2 full packs`,
  );
  const lane: LaneResult = await measureLane(context.workingCopy().projectDir, context.workingSize, {
    applies,
    readPasses: 2,
    readsPerPass: 600,
    seed: context.seed,
    server: context.server,
  });
  for (const [roots, workspace] of [...context.workspaces].sort((a, b) => a[0] - b[0])) {
    if (roots < 100_000) continue;
    const large = context.quick ? 7 : 9;
    const copy = copyToTemporary(workspace.projectDir, formatCount(roots));
    try {
      context.log(
        `lane: ${large} register and ${large} relocate applies on ${formatCount(roots)} (copied in ${formatMilliseconds(copy.copyMs)})`,
      );
      sizes.push(
        await measureApplies(copy.projectDir, roots, { applies: large, seed: context.seed, server: context.server }),
      );
    } finally {
      copy.remove();
    }
  }
  context.log('lane: event throughput, 100k events × 3 senders × 3 repetitions');
  const events: EventThroughputResult = await measureEventThroughput({ events: 100_000, chunk: 100, repetitions: 3 });
  // The apply rows by size (10, the working size, 100k), then the reads and the events.
  const laneTable = laneRows(lane, events);
  const ownApplies = applyRows(lane).length;
  const rows = [
    ...sizes.filter((result) => result.roots < lane.roots).flatMap(applyRows),
    ...laneTable.slice(0, ownApplies),
    ...sizes.filter((result) => result.roots > lane.roots).flatMap(applyRows),
    ...laneTable.slice(ownApplies),
  ];
  return { rows, samples: { lane, sizes, events } };
}

/** The pack suite: the 2,000-blob workspace (generated on first use), 3 repetitions (2 with --quick). */
export async function runPackSuite(context: SuiteContext): Promise<SuiteOutput> {
  const workspace = ensurePackWorkspace(
    context.workspacesDir,
    { assets: PACK_ASSETS, bytesPerAsset: PACK_BYTES_PER_ASSET, seed: context.seed },
    context.log,
  );
  const repetitions = context.quick ? 2 : 3;
  context.log(`pack: ${repetitions} repetitions of incremental, empty-cache, full, floor and unchanged packs`);
  const pack: PackResult = await measurePack(workspace, {
    repetitions,
    seed: context.seed,
    server: context.server,
    log: context.log,
  });
  return { rows: packRows(pack), samples: { pack } };
}
