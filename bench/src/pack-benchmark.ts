/** The pack benchmark (issue "Deterministic pack"): full and incremental packs of about 200 MB against read, hash and write once. */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRandom } from '../../tools/dist/prng.js';
import { randomBytesOf, type PackWorkspace } from './pack-workspace.js';
import { copyToTemporary } from './private-copy.js';
import type { ReportRow } from './report.js';
import { startServer, type ServerCommand, type ServerProcess } from './server-process.js';
import { formatBytes, formatCount, formatMilliseconds, median } from './statistics.js';

/** The incremental goal: at most this share of a full pack. */
export const INCREMENTAL_GOAL = 0.1;

/** What the pack benchmark found. */
export interface PackResult {
  readonly assets: number;
  readonly inputBytes: number;
  /** Size of `assets.pa`. */
  readonly artifactBytes: number;
  /** `packer/pack {incremental: false}` round trips, in ms. */
  readonly fullMs: readonly number[];
  /** Floor samples, in ms. */
  readonly floorMs: readonly number[];
  /** `packer/pack {incremental: true}` round trips right after one input changed, in ms. */
  readonly incrementalMs: readonly number[];
  /** Per incremental pack: payloads taken from the cache and materialised. */
  readonly incrementalCounts: readonly { readonly fromCache: number; readonly materialized: number }[];
  /** Per repetition: the incremental pack's `assets.pa` SHA-256 equals the clean pack's of the same inputs. */
  readonly identical: readonly boolean[];
}

interface PackAnswer {
  readonly outcome: string;
  readonly reason?: string;
  readonly artifacts: readonly { readonly name: string; readonly size: number; readonly sha256: string }[];
  readonly materialized: number;
  readonly fromCache: number;
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

/**
 * On a private copy of `workspace` (deleted afterwards), with one packer server: an untimed incremental
 * pack fills the cache and an untimed floor warms up; then per repetition one input is rewritten with new
 * seeded bytes of the same size, the project is reconciled (untimed), an incremental pack is timed, and a
 * full pack (`incremental: false`) and the floor are timed in alternating order. The server is left quiet
 * before every timed step. Each incremental pack's `assets.pa` must hash like the full pack's that follows.
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
    const floorFolder = join(copy.projectDir, 'bench-floor');
    mkdirSync(floorFolder);
    const floorOutput = join(floorFolder, 'assets.pa');
    const status = await server.request<{
      projectId: string;
      counts: { roots: number; registered: number; blocking: number };
    }>('packer/openProject', { rootUri: pathToFileURL(copy.projectDir).href });
    if (
      status.counts.roots !== workspace.assets ||
      status.counts.registered !== workspace.assets ||
      status.counts.blocking !== 0
    ) {
      throw new Error(`the server's view of the pack workspace does not match it: ${JSON.stringify(status.counts)}`);
    }
    const { projectId } = status;
    await server.untilIdle();
    const warm = await pack(server, projectId, true);
    const artifactBytes = assetsPaOf(warm.answer).size;
    floorPack(assetsDir, workspace.inputs, floorOutput);

    const random = createRandom(options.seed ^ 0x7ac4);
    const fullMs: number[] = [];
    const floorMs: number[] = [];
    const incrementalMs: number[] = [];
    const incrementalCounts: { fromCache: number; materialized: number }[] = [];
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
      let clean: PackAnswer | undefined;
      for (const subjectFirst of repetition % 2 === 0 ? [true, false] : [false, true]) {
        await server.untilIdle();
        if (subjectFirst) {
          const full = await pack(server, projectId, false);
          fullMs.push(full.elapsedMs);
          clean = full.answer;
        } else {
          floorMs.push(floorPack(assetsDir, workspace.inputs, floorOutput));
        }
      }
      identical.push(assetsPaOf(incremental.answer).sha256 === assetsPaOf(clean!).sha256);
    }
    return {
      assets: workspace.assets,
      inputBytes: workspace.totalBytes,
      artifactBytes,
      fullMs,
      floorMs,
      incrementalMs,
      incrementalCounts,
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
  const incremental = median(result.incrementalMs);
  const label = `${formatCount(result.assets)} blobs, ${formatBytes(result.inputBytes)}`;
  const counts = result.incrementalCounts[0];
  const identical = result.identical.filter(Boolean).length;
  return [
    {
      metric: `full pack ${label} (median of ${result.fullMs.length})`,
      subject: formatMilliseconds(full),
      floor: `read+sha256+write+fsync ${formatMilliseconds(floor)}`,
      ratio: full / floor,
      goal: 1.5,
    },
    {
      metric: `incremental pack after 1 input changed (${counts?.fromCache ?? 0} cached, ${counts?.materialized ?? 0} built)`,
      subject: formatMilliseconds(incremental),
      floor: `10% of full = ${formatMilliseconds(full * INCREMENTAL_GOAL)}`,
      ratio: incremental / full,
      goal: INCREMENTAL_GOAL,
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
