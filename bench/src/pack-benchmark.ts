/** The pack benchmark (issues "Deterministic pack" and 13): full, first, incremental and unchanged packs of about 200 MB against their floors. */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeSync,
  writeFileSync,
} from 'node:fs';

import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRandom } from '../../tools/dist/prng.js';
import { randomBytesOf, type PackWorkspace } from './pack-workspace.js';
import { copyToTemporary } from './private-copy.js';
import type { ReportRow } from './report.js';
import { mainThreadTicksOf, startServer, type ServerCommand, type ServerProcess } from './server-process.js';
import { formatBytes, formatCount, formatMilliseconds, median } from './statistics.js';

/** The incremental goal: at most this many times its floor (see {@link floorIncremental}). */
export const INCREMENTAL_GOAL = 1.3;

/** What the pack benchmark found. */
export interface PackResult {
  readonly assets: number;
  /** The roots of the generated workspace packed, when it was one (see scaled-pack-workspace.ts). */
  readonly roots?: number;
  readonly inputBytes: number;
  /** Size of `assets.pa`. */
  readonly artifactBytes: number;
  /** `packer/pack {incremental: false}` round trips with no `build/`, in ms. */
  readonly fullMs: readonly number[];
  /** Floor samples of the full pack (read, hash, write, fsync every input byte), in ms. */
  readonly floorMs: readonly number[];
  /** `packer/pack` (incremental, the default) round trips with an empty cache and no `build/`, in ms. */
  readonly emptyCacheMs: readonly number[];
  /** `packer/pack` round trips right after one input changed, in ms. */
  readonly incrementalMs: readonly number[];
  /** Floor samples of the incremental pack (see {@link floorIncremental}), in ms. */
  readonly incrementalFloorMs: readonly number[];
  /** Per incremental pack: payloads taken from the cache and materialised. */
  readonly incrementalCounts: readonly { readonly fromCache: number; readonly materialized: number }[];
  /** `packer/pack` round trips with nothing changed since the last pack, in ms. */
  readonly unchangedMs: readonly number[];
  /** How many of those answered `upToDate: true`. */
  readonly unchangedUpToDate: number;
  /**
   * The server's main-thread CPU over all of those packs, in ms (clock ticks of 10 ms): less disturbed by a
   * loaded machine than their wall time, and what a pack with nothing changed costs the thread reads wait for.
   */
  readonly unchangedMainCpuMs: number;
  /** Floor samples of the unchanged pack (lstat every file a pack reads), in ms. */
  readonly statFloorMs: readonly number[];
  /** Files the stat floor stats: every input, every `asset.json` and `index.json`. */
  readonly statFiles: number;
  /** Per repetition: the incremental and the empty-cache packs' `assets.pa` SHA-256 equal the clean pack's of the same inputs. */
  readonly identical: readonly boolean[];
}

interface PackAnswer {
  readonly outcome: string;
  readonly reason?: string;
  readonly artifacts: readonly { readonly name: string; readonly size: number; readonly sha256: string }[];
  readonly materialized: number;
  readonly fromCache: number;
  readonly upToDate?: boolean;
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * The floor of a pack: read every input (in pack order), SHA-256 it, write the same bytes to one new output
 * file, fsync it. Synchronous calls. Returns the elapsed ms.
 */
export function floorPack(assetsDir: string, inputs: readonly string[], output: string): number {
  rmSync(output, { force: true });
  collectGarbage();
  const started = performance.now();
  const file = openSync(output, 'wx', 0o644);
  try {
    for (const path of inputs) {
      const bytes = readFileSync(join(assetsDir, path));
      createHash('sha256').update(bytes).digest('hex');
      for (let written = 0; written < bytes.length;) written += writeSync(file, bytes, written);
    }
    fsyncSync(file);
  } finally {
    closeSync(file);
  }
  return performance.now() - started;
}

/**
 * The floor of a pack with nothing changed: `lstatSync` of every file a pack reads (`index.json`, every
 * `asset.json`, every input), which is what proving them unchanged takes at least. Returns the elapsed ms.
 */
export function floorStat(assetsDir: string, files: readonly string[]): number {
  collectGarbage();
  const started = performance.now();
  for (const path of files) lstatSync(join(assetsDir, path));
  return performance.now() - started;
}

/**
 * The floor of an incremental pack after one input changed (issue 13, goal 3): `lstatSync` of every file a
 * pack reads, read and SHA-256 of the changed input, then every artifact of `build/` (`artifacts`, their
 * bytes already in memory) written to a new file in `outputFolder` and fsynced, in order. Synchronous
 * calls. Returns the elapsed ms.
 */
export function floorIncremental(
  assetsDir: string,
  files: readonly string[],
  changed: string,
  artifacts: readonly { readonly name: string; readonly bytes: Buffer }[],
  outputFolder: string,
): number {
  for (const artifact of artifacts) rmSync(join(outputFolder, artifact.name), { force: true });
  collectGarbage();
  const started = performance.now();
  for (const path of files) lstatSync(join(assetsDir, path));
  createHash('sha256')
    .update(readFileSync(join(assetsDir, changed)))
    .digest('hex');
  for (const { name, bytes } of artifacts) {
    const file = openSync(join(outputFolder, name), 'wx', 0o644);
    try {
      for (let written = 0; written < bytes.length;) written += writeSync(file, bytes, written);
      fsyncSync(file);
    } finally {
      closeSync(file);
    }
  }
  return performance.now() - started;
}

async function pack(
  server: ServerProcess,
  projectId: string,
  incremental: boolean,
): Promise<{ answer: PackAnswer; elapsedMs: number }> {
  const started = performance.now();
  const answer = await server.request<PackAnswer>('packer/pack', { projectId, incremental });
  const elapsedMs = performance.now() - started;
  if (answer.outcome !== 'succeeded')
    throw new Error(
      `the pack benchmark's ${incremental ? 'incremental' : 'full'} pack ended ${answer.outcome}: ${answer.reason ?? ''}`,
    );
  return { answer, elapsedMs };
}

function assetsPaOf(answer: PackAnswer): { size: number; sha256: string } {
  const artifact = answer.artifacts.find((candidate) => candidate.name === 'assets.pa');
  if (artifact === undefined) throw new Error('the pack wrote no assets.pa');
  return artifact;
}

/** How many "nothing changed" packs (each paired with a stat floor) are timed per repetition. */
const UNCHANGED_PER_REPETITION = 5;

/**
 * On a private copy of `workspace` (deleted afterwards), with one packer server: an untimed pack fills the
 * cache and an untimed floor warms up; then per repetition:
 * 1. one input is rewritten with new seeded bytes of the same size, the project is reconciled (untimed),
 *    and the incremental pack is timed, then its floor ({@link floorIncremental}, with the artifacts that
 *    pack wrote);
 * 2. in rotating order, with `build/` deleted before each pack: the pack as a user runs it first
 *    (incremental, the cache folder deleted too), the same pack with `incremental: false`, and the floor;
 * 3. one untimed incremental pack (it records what it packed), then {@link UNCHANGED_PER_REPETITION}
 *    times a pack with nothing changed and the stat floor, in alternating order.
 * The server is left quiet before every timed step. The incremental and the empty-cache packs' `assets.pa`
 * must hash like the clean pack's of the same inputs.
 */
export async function measurePack(
  workspace: PackWorkspace,
  options: {
    readonly repetitions: number;
    readonly seed: number;
    readonly server: ServerCommand;
    readonly log: (message: string) => void;
  },
): Promise<PackResult> {
  const copy = copyToTemporary(workspace.projectDir, 'pack');
  options.log(
    `pack: copied ${formatBytes(workspace.totalBytes)} to ${copy.projectDir} in ${formatMilliseconds(copy.copyMs)}`,
  );
  const server = await startServer(options.server);
  try {
    const assetsDir = join(copy.projectDir, 'assets');
    const buildDir = join(copy.projectDir, 'build');
    const cacheDir = join(assetsDir, '.prometeu', 'cache');
    const floorFolder = join(copy.projectDir, 'bench-floor');
    mkdirSync(floorFolder);
    const floorOutput = join(floorFolder, 'assets.pa');
    const statFiles = [
      '.prometeu/index.json',
      ...workspace.inputs.flatMap((input) => [`${dirname(input)}/asset.json`, input]),
    ];
    const status = await server.request<{
      projectId: string;
      counts: { roots: number; registered: number; blocking: number };
    }>('packer/openProject', { rootUri: pathToFileURL(copy.projectDir).href });
    const expected = workspace.counts ?? { roots: workspace.assets, registered: workspace.assets };
    if (
      status.counts.roots !== expected.roots ||
      status.counts.registered !== expected.registered ||
      status.counts.blocking !== 0
    ) {
      throw new Error(`the server's view of the pack workspace does not match it: ${JSON.stringify(status.counts)}`);
    }
    const { projectId } = status;
    await server.untilIdle();
    const warm = await pack(server, projectId, true);
    const artifactBytes = assetsPaOf(warm.answer).size;
    floorPack(assetsDir, workspace.inputs, floorOutput);
    floorStat(assetsDir, statFiles);

    const random = createRandom(options.seed ^ 0x7ac4);
    const fullMs: number[] = [];
    const floorMs: number[] = [];
    const emptyCacheMs: number[] = [];
    const incrementalMs: number[] = [];
    const incrementalFloorMs: number[] = [];
    const incrementalCounts: { fromCache: number; materialized: number }[] = [];
    const unchangedMs: number[] = [];
    let unchangedUpToDate = 0;
    let unchangedMainTicks = 0;
    const statFloorMs: number[] = [];
    const identical: boolean[] = [];
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      const changed = workspace.inputs[random.integer(0, workspace.inputs.length - 1)]!;
      writeFileSync(join(assetsDir, changed), randomBytesOf(random, workspace.bytesPerAsset));
      await server.request('packer/reconcile', { projectId });
      await server.untilIdle();
      const incremental = await pack(server, projectId, true);
      incrementalMs.push(incremental.elapsedMs);
      incrementalCounts.push({
        fromCache: incremental.answer.fromCache,
        materialized: incremental.answer.materialized,
      });
      const artifacts = readdirSync(buildDir)
        .sort()
        .map((name) => ({ name, bytes: readFileSync(join(buildDir, name)) }));
      await server.untilIdle();
      incrementalFloorMs.push(floorIncremental(assetsDir, statFiles, changed, artifacts, floorFolder));

      let clean: PackAnswer | undefined;
      let emptyCache: PackAnswer | undefined;
      const order = [0, 1, 2].map((step) => (step + repetition) % 3);
      for (const subject of order) {
        rmSync(buildDir, { recursive: true, force: true });
        if (subject === 0) rmSync(cacheDir, { recursive: true, force: true });
        await server.untilIdle();
        if (subject === 0) {
          const first = await pack(server, projectId, true);
          emptyCacheMs.push(first.elapsedMs);
          emptyCache = first.answer;
        } else if (subject === 1) {
          const full = await pack(server, projectId, false);
          fullMs.push(full.elapsedMs);
          clean = full.answer;
        } else {
          floorMs.push(floorPack(assetsDir, workspace.inputs, floorOutput));
        }
      }
      const cleanSha = assetsPaOf(clean!).sha256;
      identical.push(assetsPaOf(incremental.answer).sha256 === cleanSha && assetsPaOf(emptyCache!).sha256 === cleanSha);

      // The last pack may have been the uncached one, which records nothing: one pack records the state.
      await server.untilIdle();
      await pack(server, projectId, true);
      for (let sample = 0; sample < UNCHANGED_PER_REPETITION; sample++) {
        for (const subjectFirst of (repetition + sample) % 2 === 0 ? [true, false] : [false, true]) {
          await server.untilIdle();
          if (subjectFirst) {
            const ticks = mainThreadTicksOf(server.pid);
            const unchanged = await pack(server, projectId, true);
            unchangedMainTicks += mainThreadTicksOf(server.pid) - ticks;
            unchangedMs.push(unchanged.elapsedMs);
            if (unchanged.answer.upToDate === true) unchangedUpToDate++;
            if (assetsPaOf(unchanged.answer).sha256 !== cleanSha)
              throw new Error('a pack with nothing changed answered another assets.pa than the clean pack');
          } else {
            statFloorMs.push(floorStat(assetsDir, statFiles));
          }
        }
      }
    }
    return {
      assets: workspace.assets,
      ...(workspace.counts !== undefined ? { roots: workspace.counts.roots } : {}),
      inputBytes: workspace.totalBytes,
      artifactBytes,
      fullMs,
      floorMs,
      emptyCacheMs,
      incrementalMs,
      incrementalFloorMs,
      incrementalCounts,
      unchangedMs,
      unchangedUpToDate,
      unchangedMainCpuMs: unchangedMainTicks * 10,
      statFloorMs,
      statFiles: statFiles.length,
      identical,
    };
  } finally {
    await server.stop();
    copy.remove();
  }
}

/** The rows of the pack benchmark. */
export function packRows(result: PackResult): ReportRow[] {
  const full = median(result.fullMs);
  const floor = median(result.floorMs);
  const emptyCache = median(result.emptyCacheMs);
  const incremental = median(result.incrementalMs);
  const incrementalFloor = median(result.incrementalFloorMs);
  const unchanged = median(result.unchangedMs);
  const statFloor = median(result.statFloorMs);
  const label =
    result.roots === undefined
      ? `${formatCount(result.assets)} blobs, ${formatBytes(result.inputBytes)}`
      : `${formatCount(result.roots)} (${formatCount(result.assets)} assets in the build, ${formatBytes(result.inputBytes)})`;
  const counts = result.incrementalCounts[0];
  const identical = result.identical.filter(Boolean).length;
  return [
    {
      metric: `full pack ${label} (incremental: false, median of ${result.fullMs.length})`,
      subject: formatMilliseconds(full),
      floor: `read+sha256+write+fsync ${formatMilliseconds(floor)}`,
      ratio: full / floor,
      goal: 1.3,
    },
    {
      metric: `first pack (default, empty cache) vs the same pack uncached (median of ${result.emptyCacheMs.length})`,
      subject: formatMilliseconds(emptyCache),
      floor: `incremental: false ${formatMilliseconds(full)}`,
      ratio: emptyCache / full,
      goal: 1.1,
    },
    {
      metric: `incremental pack after 1 input changed (${counts?.fromCache ?? 0} cached, ${counts?.materialized ?? 0} built)`,
      subject: formatMilliseconds(incremental),
      floor: `lstat ${formatCount(result.statFiles)} + read+sha256 1 + write+fsync build/ ${formatMilliseconds(incrementalFloor)}`,
      ratio: incremental / incrementalFloor,
      goal: INCREMENTAL_GOAL,
    },
    {
      metric: `pack again, nothing changed (${result.unchangedUpToDate}/${result.unchangedMs.length} up to date) vs stat every file read`,
      subject: formatMilliseconds(unchanged),
      floor: `lstat ${formatCount(result.statFiles)} files ${formatMilliseconds(statFloor)}`,
      ratio: unchanged / statFloor,
      goal: 1.3,
    },
    {
      metric: `  … the server's main-thread CPU per pack (mean of ${result.unchangedMs.length})`,
      subject: formatMilliseconds(result.unchangedMainCpuMs / Math.max(result.unchangedMs.length, 1)),
      floor: `lstat ${formatCount(result.statFiles)} files ${formatMilliseconds(statFloor)}`,
      ratio: result.unchangedMainCpuMs / Math.max(result.unchangedMs.length, 1) / statFloor,
    },
    {
      metric: `  … the same against the full pack`,
      subject: formatMilliseconds(unchanged),
      floor: `full pack ${formatMilliseconds(full)}`,
      ratio: unchanged / full,
    },
    {
      metric: `  … assets.pa identical to a clean pack's (sha256)`,
      subject: `${identical}/${result.identical.length}`,
      floor: `${formatBytes(result.artifactBytes)}`,
      ratio: result.identical.length / Math.max(identical, 1e-9),
      goal: 1,
    },
  ];
}
