/** The benchmark's measurements: each subject timed interleaved with its floor, in the same run, on the same machine state. */
import { pathToFileURL } from 'node:url';
import { createRandom } from '../../tools/dist/prng.js';
import { floorCrawl } from './floor-crawl.js';
import {
  cpuTicksOf,
  mainThreadTicksOf,
  noopServerCommand,
  startServer,
  type ServerCommand,
  type ServerProcess,
} from './server-process.js';
import type { BenchWorkspace } from './workspaces.js';

/** How long both servers must be quiet before each timed `packer/listAssets` request, in ms. */
const LIST_QUIET_MS = 100;

/** The parts of the project status the bench checks. */
interface OpenedStatus {
  readonly projectId: string;
  readonly revision: number;
  readonly counts: {
    readonly roots: number;
    readonly registered: number;
    readonly errors: number;
    readonly blocking: number;
  };
}

/** The parts of an asset summary the bench uses. */
interface ListedAsset {
  readonly assetId?: number;
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function checkOpened(status: OpenedStatus, workspace: BenchWorkspace): void {
  const { summary } = workspace;
  if (
    status.counts.roots !== summary.roots ||
    status.counts.registered !== summary.registered ||
    status.counts.errors !== 0 ||
    status.counts.blocking !== 0
  ) {
    throw new Error(
      `the server's view of ${workspace.projectDir} does not match the generated workspace: ${JSON.stringify(status.counts)} vs ${summary.roots} roots, ${summary.registered} registered`,
    );
  }
}

function checkFloor(workspace: BenchWorkspace): void {
  const seen = floorCrawl(workspace.projectDir);
  const { summary } = workspace;
  // The floor skips assets/.prometeu (one folder, one file), as the server does.
  if (seen.declarations !== summary.roots || seen.files !== summary.files - 1 || seen.folders !== summary.folders - 1) {
    throw new Error(
      `the floor crawl of ${workspace.projectDir} does not match the generated workspace: ${JSON.stringify(seen)}`,
    );
  }
}

/** A packer server with the workspace open and idle. */
export interface OpenedServer {
  readonly server: ServerProcess;
  readonly status: { readonly projectId: string };
}

/** What the cold-open measurement found, per repetition. */
export interface ColdOpenResult {
  readonly roots: number;
  /** `packer/openProject` round trips of fresh server processes, in ms. */
  readonly subjectMs: readonly number[];
  /** In-process floor crawls, in ms. */
  readonly floorMs: readonly number[];
  /**
   * From sending `packer/openProject` until the server went quiet (see `waitUntilIdle`), in ms: the open
   * plus whatever the server does in the background once it has answered (watching, fingerprinting).
   */
  readonly untilIdleMs: readonly number[];
  /**
   * The last repetition's server, opened and idle, when `keepLast` was asked for: the caller measures more
   * on it (the reads) and stops it.
   */
  readonly kept?: OpenedServer;
  /** The resident memory of each opened server once idle, in bytes; empty unless asked for. */
  readonly openedResidentBytes: readonly number[];
  /** CPU time each server used (all threads, and its main thread alone) during the round trip, in ms (10 ms ticks). */
  readonly cpuMs: readonly number[];
  readonly mainCpuMs: readonly number[];
}

/**
 * Cold project open: per repetition, a fresh server process is started and initialised, left until it
 * stops using CPU, then the `packer/openProject` round trip is timed; then the bench waits until the
 * server is idle again (recording how long it kept working) and, when asked, reads its resident memory.
 * The floor crawl runs in this process, with a garbage collection before it. The two alternate which goes
 * first. The workspace check before (an untimed floor crawl) warms the page cache. With `keepLast`, the
 * last repetition's server is not stopped but returned, opened and idle, so the reads need no open of
 * their own. With `interleave`, each repetition also runs `interleave(repetition)` between the floor and
 * the subject (the editors' publishing open, see editor-benchmark.ts): after the floor and before the
 * subject in even repetitions and in the last one, after the subject and before the floor in odd ones, so
 * it alternates with the subject and the kept server waits for nothing.
 */
export async function measureColdOpen(
  workspace: BenchWorkspace,
  options: {
    readonly repetitions: number;
    readonly measureMemory: boolean;
    readonly server: ServerCommand;
    readonly keepLast?: boolean;
    readonly interleave?: (repetition: number) => Promise<void>;
  },
): Promise<ColdOpenResult> {
  checkFloor(workspace);
  const rootUri = pathToFileURL(workspace.projectDir).href;
  const subjectMs: number[] = [];
  const floorMs: number[] = [];
  const untilIdleMs: number[] = [];
  const openedResidentBytes: number[] = [];
  const cpuMs: number[] = [];
  const mainCpuMs: number[] = [];
  const runFloor = (): void => {
    collectGarbage();
    const started = performance.now();
    floorCrawl(workspace.projectDir);
    floorMs.push(performance.now() - started);
  };
  let kept: OpenedServer | undefined;
  const runSubject = async (last: boolean): Promise<void> => {
    const server = await startServer(options.server);
    let keep = false;
    try {
      await server.untilIdle();
      const ticks = cpuTicksOf(server.pid);
      const mainTicks = mainThreadTicksOf(server.pid);
      const started = performance.now();
      const status = await server.request<OpenedStatus>('packer/openProject', { rootUri });
      subjectMs.push(performance.now() - started);
      cpuMs.push((cpuTicksOf(server.pid) - ticks) * 10);
      mainCpuMs.push((mainThreadTicksOf(server.pid) - mainTicks) * 10);
      untilIdleMs.push((await server.untilIdle()) - started);
      checkOpened(status, workspace);
      if (options.measureMemory) openedResidentBytes.push(server.residentBytes());
      if (last && options.keepLast === true) {
        kept = { server, status };
        keep = true;
      }
    } finally {
      if (!keep) await server.stop();
    }
  };
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    const last = repetition === options.repetitions - 1;
    if (repetition % 2 === 0 || last) {
      runFloor();
      await options.interleave?.(repetition);
      await runSubject(last);
    } else {
      await runSubject(last);
      await options.interleave?.(repetition);
      runFloor();
    }
  }
  return {
    roots: workspace.summary.roots,
    subjectMs,
    floorMs,
    untilIdleMs,
    openedResidentBytes,
    cpuMs,
    mainCpuMs,
    ...(kept !== undefined ? { kept } : {}),
  };
}

/**
 * The resident memory of idle servers (initialised, no project open), the baseline of the memory per
 * asset: each is started, left until it stops using CPU, and read.
 */
export async function measureIdleResident(options: {
  readonly repetitions: number;
  readonly server: ServerCommand;
}): Promise<number[]> {
  const found: number[] = [];
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    const server = await startServer(options.server);
    try {
      await server.untilIdle();
      found.push(server.residentBytes());
    } finally {
      await server.stop();
    }
  }
  return found;
}

/** What the read measurements found. */
export interface ReadsResult {
  readonly roots: number;
  /** Bytes of one `packer/listAssets` result as JSON, which the no-op payload matches exactly. */
  readonly listBytes: number;
  readonly listSubjectMs: readonly number[];
  readonly listFloorMs: readonly number[];
  /** Distinct assets whose details were requested. */
  readonly detailAssets: number;
  readonly detailBytesMedian: number;
  readonly detailSubjectMs: readonly number[];
  readonly detailFloorMs: readonly number[];
  /**
   * The warm-up calls, timed: the first read of each distinct asset at this snapshot (the server builds its
   * details; later reads of it are answered from what it built), and the no-op's first echo of each.
   */
  readonly detailFirstSubjectMs: readonly number[];
  readonly detailFirstFloorMs: readonly number[];
}

/**
 * Read latency against one opened packer server and one no-op server, both spawned the same way:
 * - `packer/listAssets` against `bench/echo` answering a stored copy of that very result (same bytes, same
 *   JSON shape, so the floor pays the same serialisation and parsing), `listRepetitions` pairs in a seeded
 *   random order after three warm-up pairs, each request sent once both servers are quiet;
 * - `packer/getAssetDetails` for `detailCalls` asset ids drawn from the registered ones with a PRNG seeded
 *   by `seed`, against `bench/echo` answering the stored details of the same asset. Every distinct asset is
 *   fetched once first (warm-up; it also builds the no-op's payloads; these first reads are timed and
 *   reported apart, since the server builds the details there), then the calls go in pairs, each pair in a
 *   seeded random order.
 * Both servers are left until they stop using CPU before anything is timed. One request is in flight at a
 * time, so each figure is a round trip. With `opened`, the reads go to that server (the cold open's last,
 * already open and idle; stopped here) instead of a fresh one.
 */
export async function measureReads(
  workspace: BenchWorkspace,
  options: {
    readonly listRepetitions: number;
    readonly detailCalls: number;
    readonly seed: number;
    readonly server: ServerCommand;
    readonly opened?: OpenedServer;
  },
): Promise<ReadsResult> {
  const packer = options.opened?.server ?? (await startServer(options.server));
  let noop: ServerProcess;
  try {
    noop = await startServer(noopServerCommand());
  } catch (error) {
    await packer.stop();
    throw error;
  }
  try {
    let projectId: string;
    if (options.opened !== undefined) projectId = options.opened.status.projectId;
    else {
      const status = await packer.request<OpenedStatus>('packer/openProject', {
        rootUri: pathToFileURL(workspace.projectDir).href,
      });
      checkOpened(status, workspace);
      projectId = status.projectId;
    }
    await Promise.all([packer.untilIdle(), noop.untilIdle()]);

    const listed = await packer.request<{ revision: number; assets: ListedAsset[] }>('packer/listAssets', {
      projectId,
    });
    if (listed.assets.length !== workspace.summary.roots)
      throw new Error(`packer/listAssets returned ${listed.assets.length} assets, expected ${workspace.summary.roots}`);
    const listBytes = Buffer.byteLength(JSON.stringify(listed));
    await noop.request('bench/load', { entries: [['list', listed]] });
    const echoed = await noop.request<unknown>('bench/echo', { key: 'list' });
    if (Buffer.byteLength(JSON.stringify(echoed)) !== listBytes)
      throw new Error('the no-op list payload does not have the size of the real one');

    const listSubjectMs: number[] = [];
    const listFloorMs: number[] = [];
    // Before each request both servers are left to finish what the previous answer left them (freeing a
    // 3 MiB string, a garbage collection): on two cores that work would otherwise land on the next request,
    // whichever server it goes to. No forced garbage collection here: right after one, V8 parses the next
    // 3 MiB answer with a shrunken young generation, which slows both sides alike and flatters the ratio.
    const timeList = async (subject: boolean): Promise<number> => {
      await Promise.all([packer.untilIdle(LIST_QUIET_MS), noop.untilIdle(LIST_QUIET_MS)]);
      const started = performance.now();
      if (subject) await packer.request('packer/listAssets', { projectId });
      else await noop.request('bench/echo', { key: 'list' });
      return performance.now() - started;
    };
    for (let warmUp = 0; warmUp < 3; warmUp++) {
      await timeList(true);
      await timeList(false);
    }
    // Pairs in an order drawn at random (seeded): garbage collections in this process come at fixed
    // allocation intervals, and a fixed order lets them fall on the same side every time.
    const order = createRandom(options.seed ^ 0x5bd1e995);
    for (let repetition = 0; repetition < options.listRepetitions; repetition++) {
      const subjectFirst = order.next() < 0.5;
      const first = await timeList(subjectFirst);
      const second = await timeList(!subjectFirst);
      listSubjectMs.push(subjectFirst ? first : second);
      listFloorMs.push(subjectFirst ? second : first);
    }

    const assetIds = listed.assets.flatMap((asset) => (asset.assetId !== undefined ? [asset.assetId] : []));
    const random = createRandom(options.seed);
    const sequence = Array.from({ length: options.detailCalls }, () => random.pick(assetIds));
    const distinct = [...new Set(sequence)];
    const entries: [string, unknown][] = [];
    const detailSizes: number[] = [];
    const detailFirstSubjectMs: number[] = [];
    const detailFirstFloorMs: number[] = [];
    for (const assetId of distinct) {
      const started = performance.now();
      const details = await packer.request<unknown>('packer/getAssetDetails', { projectId, asset: { assetId } });
      detailFirstSubjectMs.push(performance.now() - started);
      entries.push([`details/${assetId}`, details]);
      detailSizes.push(Buffer.byteLength(JSON.stringify(details)));
    }
    await noop.request('bench/load', { entries });
    // The no-op gets as many warm-up calls as the packer server got, so both run optimised code.
    for (const assetId of distinct) {
      const started = performance.now();
      await noop.request('bench/echo', { key: `details/${assetId}` });
      detailFirstFloorMs.push(performance.now() - started);
    }
    await Promise.all([packer.untilIdle(), noop.untilIdle()]);

    const detailSubjectMs: number[] = [];
    const detailFloorMs: number[] = [];
    for (const assetId of sequence) {
      for (const subject of order.next() < 0.5 ? [true, false] : [false, true]) {
        const started = performance.now();
        if (subject) await packer.request('packer/getAssetDetails', { projectId, asset: { assetId } });
        else await noop.request('bench/echo', { key: `details/${assetId}` });
        (subject ? detailSubjectMs : detailFloorMs).push(performance.now() - started);
      }
    }
    detailSizes.sort((a, b) => a - b);
    return {
      roots: workspace.summary.roots,
      listBytes,
      listSubjectMs,
      listFloorMs,
      detailAssets: distinct.length,
      detailBytesMedian: detailSizes[detailSizes.length >> 1] ?? 0,
      detailSubjectMs,
      detailFloorMs,
      detailFirstSubjectMs,
      detailFirstFloorMs,
    };
  } finally {
    await Promise.all([packer.stop(), noop.stop()]);
  }
}
