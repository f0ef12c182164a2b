/**
 * The editors suite: how fast a real packer server over stdio answers an editor's keystroke in an open
 * `asset.json` with `textDocument/publishDiagnostics`, and what publishing every file's diagnostics adds
 * to opening a project. Each subject is measured against its floor in the same run.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseTree, type ParseError } from 'jsonc-parser';
import { parseDeclaration } from '../../server/dist/domain/declaration.js';
import { createRandom } from '../../tools/dist/prng.js';
import { atSize, atThreeSizes, eachSize, type SuiteContext, type SuiteOutput } from './issue-suites.js';
import type { ReportRow } from './report.js';
import {
  cpuTicksOf,
  mainThreadTicksOf,
  noopServerCommand,
  startServer,
  type ServerCommand,
  type ServerProcess,
} from './server-process.js';
import { formatCount, formatMilliseconds, median, percentile } from './statistics.js';
import { ensureWorkspace, type BenchWorkspace } from './workspaces.js';

/** How long a server must be quiet before each timed keystroke, in ms. */
const KEYSTROKE_QUIET_MS = 40;

/** The debounce the server applies by default (`LanguageService`), which the default-debounce rows use. */
export const DEFAULT_DEBOUNCE_MS = 150;

/** The parts of `packer/openProject`'s result the suite uses. */
interface Opened {
  readonly projectId: string;
  readonly counts: { readonly roots: number };
}

/** The params of one `textDocument/publishDiagnostics`. */
interface Published {
  readonly uri: string;
  readonly version?: number;
  readonly diagnostics: readonly unknown[];
}

/** One keystroke: the change an editor sends and the text of the buffer after it. */
interface Keystroke {
  readonly change: {
    readonly range: {
      readonly start: { line: number; character: number };
      readonly end: { line: number; character: number };
    };
    readonly text: string;
  };
  readonly text: string;
}

/** What the keystroke measurement found at one debounce. */
export interface KeystrokeResult {
  readonly roots: number;
  readonly debounceMs: number;
  readonly root: string;
  /** From sending `didChange` until its versioned `publishDiagnostics` arrived, in ms. */
  readonly subjectMs: readonly number[];
  /** In-process `parseTree` + `parseDeclaration` of the same text, in ms. */
  readonly rulesMs: readonly number[];
  /** A no-op server's round trip answering the same publication's params, in ms. */
  readonly roundTripMs: readonly number[];
  /** How many of the publications carried at least one diagnostic. */
  readonly withDiagnostics: number;
}

/** What the open measurement found. */
export interface PublishAtOpenResult {
  readonly roots: number;
  /** `packer/openProject` round trips of a client that declared `publishDiagnostics`, in ms. */
  readonly publishingMs: readonly number[];
  /** The same round trips of a client that did not (nothing is published), in ms. */
  readonly silentMs: readonly number[];
  /** From sending `packer/openProject` until the server went quiet, for each kind of client, in ms. */
  readonly publishingUntilIdleMs: readonly number[];
  readonly silentUntilIdleMs: readonly number[];
  /** CPU time the server process used (all threads) during each of those round trips, in ms (10 ms ticks). */
  readonly publishingCpuMs: readonly number[];
  readonly silentCpuMs: readonly number[];
  /**
   * The main thread's share of that CPU time, in ms: what publishing itself costs, without the worker threads
   * (the format checks the open starts run beside the open however long it takes).
   */
  readonly publishingMainCpuMs: readonly number[];
  readonly silentMainCpuMs: readonly number[];
  /** Publications received before the open's answer (the files of the opened snapshot with diagnostics). */
  readonly publishedAtOpen: readonly number[];
  /** Publications received in all, until the server went quiet. */
  readonly publishedUntilIdle: readonly number[];
}

/** Two one-character edits and their undoing, cycled: one breaks the output contract, one the JSON syntax. */
function keystrokes(text: string): Keystroke[] {
  const position = (offset: number): { line: number; character: number } => {
    const before = text.slice(0, offset).split('\n');
    return { line: before.length - 1, character: before[before.length - 1]!.length };
  };
  const codec = text.indexOf('"NONE"');
  const comma = text.indexOf(',', text.indexOf('"name"'));
  if (codec < 0 || comma < 0) throw new Error('the chosen asset.json has no codec NONE or no comma after its name');
  const inserted = codec + '"NONE'.length;
  const withX = `${text.slice(0, inserted)}X${text.slice(inserted)}`;
  const withoutComma = `${text.slice(0, comma)}${text.slice(comma + 1)}`;
  const at = (offset: number) => ({ start: position(offset), end: position(offset) });
  const over = (offset: number) => ({ start: position(offset), end: position(offset + 1) });
  return [
    { change: { range: at(inserted), text: 'X' }, text: withX },
    { change: { range: over(inserted), text: '' }, text },
    { change: { range: over(comma), text: '' }, text: withoutComma },
    { change: { range: at(comma), text: ',' }, text },
  ];
}

/** The floor's work on one buffer: jsonc-parser as the server parses it, then the declaration rules. */
function runRules(root: string, text: string): number {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const parsed = parseDeclaration(root, text);
  // Keep both results alive so neither call can be optimised away.
  return (tree?.length ?? 0) + errors.length + parsed.diagnostics.length;
}

/** Waits for the first publication `matches` accepts, failing after a deadline. */
function waitFor(
  listeners: Set<(published: Published) => void>,
  matches: (published: Published) => boolean,
): Promise<Published> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      listeners.delete(listener);
      reject(new Error('no publishDiagnostics arrived within 30 s'));
    }, 30_000);
    const listener = (published: Published): void => {
      if (!matches(published)) return;
      clearTimeout(deadline);
      listeners.delete(listener);
      resolve(published);
    };
    listeners.add(listener);
  });
}

/**
 * Keystroke diagnostics at one debounce: a packer server (client declaring `publishDiagnostics`, the
 * server's `diagnosticsDelayMs` set to `debounceMs`) opens the workspace, an `asset.json` of a registered
 * asset is opened as a buffer, and `keystrokes` one-character changes are sent one at a time (each once
 * the server is quiet), each timed from sending `textDocument/didChange` until the publication of its
 * version arrives. The floor of each keystroke, in the same run and in a seeded random order, is the
 * in-process parse and declaration rules of the same text plus the round trip of a no-op server
 * answering that very publication's params (the same bytes back over the same kind of pipe).
 */
export async function measureKeystrokes(
  workspace: BenchWorkspace,
  options: {
    readonly debounceMs: number;
    readonly keystrokes: number;
    readonly seed: number;
    readonly server: ServerCommand;
    /**
     * A server a publishing client already opened the workspace on (open and idle), used instead of a new
     * one and left running for its owner to stop (the last publishing open of {@link measurePublishAtOpen}):
     * the debounce is set on it with `workspace/didChangeConfiguration`, as an editor changes it live, and
     * the buffer is closed again at the end, so that the next keystrokes may run on the same server.
     */
    readonly opened?: PublishingServer;
  },
): Promise<KeystrokeResult> {
  const listeners = new Set<(published: Published) => void>();
  const onNotification = (method: string, params: unknown): void => {
    if (method !== 'textDocument/publishDiagnostics') return;
    for (const listener of [...listeners]) listener(params as Published);
  };
  options.opened?.follow(onNotification);
  const packer =
    options.opened?.server ??
    (await startServer(options.server, {
      capabilities: { textDocument: { publishDiagnostics: {} } },
      initializationOptions: { diagnosticsDelayMs: options.debounceMs },
      onNotification,
    }));
  // A server handed over open is its owner's to stop; a server started here is stopped here.
  const stopPacker = async (): Promise<void> => {
    if (options.opened === undefined) await packer.stop();
  };
  let noop: ServerProcess;
  try {
    noop = await startServer(noopServerCommand());
  } catch (error) {
    await stopPacker();
    throw error;
  }
  try {
    let projectId = options.opened?.projectId;
    if (projectId === undefined) {
      const opened = await packer.request<Opened>('packer/openProject', {
        rootUri: pathToFileURL(workspace.projectDir).href,
      });
      if (opened.counts.roots !== workspace.summary.roots)
        throw new Error(`the server sees ${opened.counts.roots} roots, expected ${workspace.summary.roots}`);
      projectId = opened.projectId;
    }
    const listed = await packer.request<{ assets: { root: string; assetId?: number }[] }>('packer/listAssets', {
      projectId,
    });
    // A registered asset from the middle of the list: a buffer the registry and the join both bear on.
    const registered = listed.assets.filter((asset) => asset.assetId !== undefined);
    const root = registered[registered.length >> 1]!.root;
    const path = join(workspace.projectDir, 'assets', ...root.split('/'), 'asset.json');
    const uri = pathToFileURL(path).href;
    const text = readFileSync(path, 'utf8');
    const cycle = keystrokes(text);
    if (options.opened !== undefined)
      await packer.connection.sendNotification('workspace/didChangeConfiguration', {
        settings: { packer: { diagnosticsDelayMs: options.debounceMs } },
      });
    await Promise.all([packer.untilIdle(), noop.untilIdle()]);

    const opening = waitFor(listeners, (published) => published.uri === uri && published.version === 1);
    await packer.connection.sendNotification('textDocument/didOpen', {
      textDocument: { uri, languageId: 'json', version: 1, text },
    });
    await opening;

    // The no-op answers each keystroke's publication as the packer server sent it; stored once, untimed.
    let version = 1;
    const keystroke = async (index: number): Promise<{ ms: number; published: Published }> => {
      const edit = cycle[index % cycle.length]!;
      const next = ++version;
      const arrived = waitFor(listeners, (published) => published.uri === uri && published.version === next);
      const started = performance.now();
      await packer.connection.sendNotification('textDocument/didChange', {
        textDocument: { uri, version: next },
        contentChanges: [edit.change],
      });
      const published = await arrived;
      return { ms: performance.now() - started, published };
    };
    // Warm-up: one full cycle twice, which also records every state's publication for the no-op.
    const entries: [string, unknown][] = [];
    for (let index = 0; index < cycle.length * 2; index++) {
      const { published } = await keystroke(index);
      if (index >= cycle.length) entries.push([`keystroke/${index % cycle.length}`, published]);
    }
    await noop.request('bench/load', { entries });
    for (let index = 0; index < cycle.length * 2; index++) {
      await noop.request('bench/echo', { key: `keystroke/${index % cycle.length}` });
      runRules(root, cycle[index % cycle.length]!.text);
    }

    const subjectMs: number[] = [];
    const rulesMs: number[] = [];
    const roundTripMs: number[] = [];
    let withDiagnostics = 0;
    const order = createRandom(options.seed ^ 0x6b43a9b5);
    const quiet = async (server: ServerProcess): Promise<void> => {
      await server.untilIdle(KEYSTROKE_QUIET_MS);
    };
    for (let sample = 0; sample < options.keystrokes; sample++) {
      // Index from the warm-up on, so the buffer's state stays in step with the cycle.
      const index = cycle.length * 2 + sample;
      const state = index % cycle.length;
      const floor = async (): Promise<void> => {
        await quiet(noop);
        const started = performance.now();
        await noop.request('bench/echo', { key: `keystroke/${state}` });
        roundTripMs.push(performance.now() - started);
        const rulesStarted = performance.now();
        runRules(root, cycle[state]!.text);
        rulesMs.push(performance.now() - rulesStarted);
      };
      const subject = async (): Promise<void> => {
        await quiet(packer);
        const { ms, published } = await keystroke(index);
        subjectMs.push(ms);
        if (published.diagnostics.length > 0) withDiagnostics++;
      };
      if (order.next() < 0.5) {
        await subject();
        await floor();
      } else {
        await floor();
        await subject();
      }
    }
    if (options.opened !== undefined) {
      // Back to what the disk says, so that the next keystrokes on this server open the buffer afresh.
      const closed = waitFor(listeners, (published) => published.uri === uri && published.version === undefined);
      await packer.connection.sendNotification('textDocument/didClose', { textDocument: { uri } });
      await closed;
    }
    return {
      roots: workspace.summary.roots,
      debounceMs: options.debounceMs,
      root,
      subjectMs,
      rulesMs,
      roundTripMs,
      withDiagnostics,
    };
  } finally {
    await Promise.all([stopPacker(), noop.stop()]);
  }
}

/** A packer server a publishing client opened the workspace on, left open and idle (see {@link measurePublishAtOpen}). */
export interface PublishingServer {
  readonly server: ServerProcess;
  readonly projectId: string;
  /** Sends the server's notifications to `listener` from now on (the open's own publications were counted). */
  follow(listener: (method: string, params: unknown) => void): void;
}

/** The samples of {@link PublishAtOpenResult}, filled one open at a time by {@link measureOneOpen}. */
export type PublishAtOpenSamples = { -readonly [Key in Exclude<keyof PublishAtOpenResult, 'roots'>]: number[] };

/** Empty samples for {@link measureOneOpen}. */
export function emptyPublishAtOpenSamples(): PublishAtOpenSamples {
  return {
    publishingMs: [],
    silentMs: [],
    publishingUntilIdleMs: [],
    silentUntilIdleMs: [],
    publishingCpuMs: [],
    silentCpuMs: [],
    publishingMainCpuMs: [],
    silentMainCpuMs: [],
    publishedAtOpen: [],
    publishedUntilIdle: [],
  };
}

/**
 * One open of {@link measurePublishAtOpen}: a fresh server for a client that declared
 * `textDocument.publishDiagnostics` (`publishing`) or one that did not, left until quiet, its
 * `packer/openProject` round trip timed with the CPU it used, then the time until it is quiet again; the
 * samples go into `into`. With `then`, the server, open and idle, is handed to it before it is stopped.
 */
export async function measureOneOpen(
  workspace: BenchWorkspace,
  command: ServerCommand,
  publishing: boolean,
  into: PublishAtOpenSamples,
  then?: (opened: PublishingServer) => Promise<void>,
): Promise<void> {
  const rootUri = pathToFileURL(workspace.projectDir).href;
  let published = 0;
  let forward: ((method: string, params: unknown) => void) | undefined;
  const server = await startServer(command, {
    ...(publishing ? { capabilities: { textDocument: { publishDiagnostics: {} } } } : {}),
    onNotification: (method, params) => {
      if (method === 'textDocument/publishDiagnostics') published++;
      forward?.(method, params);
    },
  });
  try {
    await server.untilIdle();
    const ticks = cpuTicksOf(server.pid);
    const mainTicks = mainThreadTicksOf(server.pid);
    const started = performance.now();
    const opened = await server.request<Opened>('packer/openProject', { rootUri });
    const ms = performance.now() - started;
    const cpuMs = (cpuTicksOf(server.pid) - ticks) * 10;
    const mainCpuMs = (mainThreadTicksOf(server.pid) - mainTicks) * 10;
    const atOpen = published;
    const untilIdle = (await server.untilIdle()) - started;
    if (opened.counts.roots !== workspace.summary.roots)
      throw new Error(`the server sees ${opened.counts.roots} roots, expected ${workspace.summary.roots}`);
    if (publishing) {
      if (atOpen === 0) throw new Error('a client that declared publishDiagnostics got nothing at open');
      into.publishingMs.push(ms);
      into.publishingUntilIdleMs.push(untilIdle);
      into.publishingCpuMs.push(cpuMs);
      into.publishingMainCpuMs.push(mainCpuMs);
      into.publishedAtOpen.push(atOpen);
      into.publishedUntilIdle.push(published);
    } else {
      if (published !== 0) throw new Error(`a client without publishDiagnostics got ${published} publications`);
      into.silentMs.push(ms);
      into.silentUntilIdleMs.push(untilIdle);
      into.silentCpuMs.push(cpuMs);
      into.silentMainCpuMs.push(mainCpuMs);
    }
    if (then !== undefined)
      await then({
        server,
        projectId: opened.projectId,
        follow: (listener) => {
          forward = listener;
        },
      });
  } finally {
    // Also when handed over: its new owner may have stopped it already, and a second stop is a no-op.
    await server.stop();
  }
}

/**
 * Publishing at open: per repetition, two fresh servers are started one after the other, one for a client
 * that declared `textDocument.publishDiagnostics` (the server then publishes every file with diagnostics
 * as it opens the project, before it answers) and one for a client that did not (nothing is published);
 * each is left until quiet, then its `packer/openProject` round trip is timed, then the time until it is
 * quiet again ({@link measureOneOpen}). Which kind goes first alternates. With `afterLastPublishing`, the
 * last publishing server is handed to it, open and idle, before it is stopped (the default-debounce
 * keystrokes run there instead of on a server of their own).
 */
export async function measurePublishAtOpen(
  workspace: BenchWorkspace,
  options: {
    readonly repetitions: number;
    readonly server: ServerCommand;
    readonly afterLastPublishing?: (opened: PublishingServer) => Promise<void>;
  },
): Promise<PublishAtOpenResult> {
  const result = emptyPublishAtOpenSamples();
  for (let repetition = 0; repetition < options.repetitions; repetition++) {
    const first = repetition % 2 === 0;
    const then = repetition === options.repetitions - 1 ? options.afterLastPublishing : undefined;
    await measureOneOpen(workspace, options.server, first, result, first ? then : undefined);
    await measureOneOpen(workspace, options.server, !first, result, first ? undefined : then);
  }
  return { roots: workspace.summary.roots, ...result };
}

/** The rows of one keystroke measurement. */
export function keystrokeRows(result: KeystrokeResult): ReportRow[] {
  const size = formatCount(result.roots);
  const subject = median(result.subjectMs);
  const rules = median(result.rulesMs);
  const roundTrip = median(result.roundTripMs);
  const floor = rules + roundTrip + result.debounceMs;
  const label =
    result.debounceMs === 0 ? 'no debounce' : `debounce ${formatMilliseconds(result.debounceMs)} (the default)`;
  return [
    {
      metric: `keystroke → publishDiagnostics ${size}, ${label} (median of ${result.subjectMs.length}, ${result.withDiagnostics} with diagnostics)`,
      subject: formatMilliseconds(subject),
      floor: `${formatMilliseconds(floor)} (rules ${formatMilliseconds(rules)} + no-op ${formatMilliseconds(roundTrip)}${result.debounceMs > 0 ? ` + ${formatMilliseconds(result.debounceMs)}` : ''})`,
      ratio: subject / floor,
      goal: 1.5,
    },
    {
      metric: `  … p99 of the same samples`,
      subject: formatMilliseconds(percentile(result.subjectMs, 99)),
      floor: formatMilliseconds(
        percentile(result.rulesMs, 99) + percentile(result.roundTripMs, 99) + result.debounceMs,
      ),
      ratio:
        percentile(result.subjectMs, 99) /
        (percentile(result.rulesMs, 99) + percentile(result.roundTripMs, 99) + result.debounceMs),
    },
  ];
}

/** The rows of the open measurement. */
export function publishAtOpenRows(result: PublishAtOpenResult): ReportRow[] {
  const size = formatCount(result.roots);
  const publishing = median(result.publishingMs);
  const silent = median(result.silentMs);
  const publishingIdle = median(result.publishingUntilIdleMs);
  const silentIdle = median(result.silentUntilIdleMs);
  return [
    {
      metric: `open ${size} publishing every file's diagnostics (median of ${result.publishingMs.length}, ${median(result.publishedAtOpen)} files)`,
      subject: formatMilliseconds(publishing),
      floor: `${formatMilliseconds(silent)} (no publishing)`,
      ratio: publishing / silent,
      goal: 1.2,
    },
    {
      metric: `  … server CPU time during the same round trips`,
      subject: formatMilliseconds(median(result.publishingCpuMs)),
      floor: formatMilliseconds(median(result.silentCpuMs)),
      ratio: median(result.publishingCpuMs) / median(result.silentCpuMs),
    },
    {
      metric: `  … of which the main thread`,
      subject: formatMilliseconds(median(result.publishingMainCpuMs)),
      floor: formatMilliseconds(median(result.silentMainCpuMs)),
      ratio: median(result.publishingMainCpuMs) / median(result.silentMainCpuMs),
    },
    {
      metric: `  … until the server is idle (${median(result.publishedUntilIdle)} publications)`,
      subject: formatMilliseconds(publishingIdle),
      floor: formatMilliseconds(silentIdle),
      ratio: publishingIdle / silentIdle,
    },
  ];
}

/**
 * The editors suite as `run.ts` runs it, at every size: the open with and without publishing (fewer of each
 * at 1k and above 20k roots), with both keystroke runs (default debounce, then none: the path itself) on the
 * last publishing open's server. Where the core suite measured a size already (its cold
 * opens carry the publishing opens, see {@link editorsAlongColdOpens}), that size's rows are taken from it.
 */
export async function runEditorsSuite(context: SuiteContext): Promise<SuiteOutput> {
  return eachSize(context, 'editors', (roots) => measureEditorsAt(context, roots));
}

/** What the editors suite measures at one size: keystroke counts by debounce and open repetitions. */
interface EditorsPlan {
  readonly noDebounceKeystrokes: number;
  readonly defaultDebounceKeystrokes: number;
  readonly openRepetitions: number;
}

/** Both keystroke measurements of a size. */
interface Keystrokes {
  readonly noDebounce: KeystrokeResult;
  readonly defaultDebounce: KeystrokeResult;
}

/**
 * The plan's keystrokes on the server of the last publishing open, one after the other: at the default
 * debounce, then without debounce (each sets its debounce with `workspace/didChangeConfiguration` and
 * opens the buffer afresh, so that no server is opened only for the keystrokes).
 */
async function keystrokesOnOpened(
  workspace: BenchWorkspace,
  plan: EditorsPlan,
  context: Pick<SuiteContext, 'seed' | 'server' | 'log'>,
  opened: PublishingServer,
): Promise<Keystrokes> {
  const roots = formatCount(workspace.summary.roots);
  context.log(
    `keystroke diagnostics on ${roots}, debounce ${DEFAULT_DEBOUNCE_MS} ms then 0 ms: ${plan.defaultDebounceKeystrokes} and ${plan.noDebounceKeystrokes} keystrokes (on the last publishing open's server)`,
  );
  const defaultDebounce = await measureKeystrokes(workspace, {
    debounceMs: DEFAULT_DEBOUNCE_MS,
    keystrokes: plan.defaultDebounceKeystrokes,
    seed: context.seed,
    server: context.server,
    opened,
  });
  const noDebounce = await measureKeystrokes(workspace, {
    debounceMs: 0,
    keystrokes: plan.noDebounceKeystrokes,
    seed: context.seed,
    server: context.server,
    opened,
  });
  return { noDebounce, defaultDebounce };
}

function editorsPlan(context: Pick<SuiteContext, 'quick'>, roots: number): EditorsPlan {
  return context.quick
    ? { noDebounceKeystrokes: 100, defaultDebounceKeystrokes: 30, openRepetitions: atSize(roots, 5, 3) }
    : {
        noDebounceKeystrokes: atThreeSizes(roots, 100, 200, 60),
        defaultDebounceKeystrokes: atThreeSizes(roots, 30, 50, 20),
        // 5 at 10k: the median of the first 5 of 7 was within 2 % of all 7 (bench/README.md, "Repetitions").
        openRepetitions: atThreeSizes(roots, 5, 5, 3),
      };
}

function editorsOutput(
  { noDebounce, defaultDebounce }: Keystrokes,
  open: PublishAtOpenResult,
): { rows: ReportRow[]; samples: Record<string, unknown> } {
  return {
    rows: [...keystrokeRows(noDebounce), ...keystrokeRows(defaultDebounce), ...publishAtOpenRows(open)],
    samples: {
      [`keystrokes-${noDebounce.debounceMs}`]: noDebounce,
      [`keystrokes-${defaultDebounce.debounceMs}`]: defaultDebounce,
      publishAtOpen: open,
    },
  };
}

async function measureEditorsAt(
  context: SuiteContext,
  roots: number,
): Promise<{ rows: ReportRow[]; samples: Record<string, unknown> }> {
  const workspace =
    context.workspaces.get(roots) ?? ensureWorkspace(context.workspacesDir, roots, context.seed, context.log);
  const plan = editorsPlan(context, roots);
  context.log(
    `open ${formatCount(roots)} with and without publishing: ${plan.openRepetitions} repetitions each; then the keystrokes on the last publishing server`,
  );
  let keystrokes: Keystrokes | undefined;
  const open = await measurePublishAtOpen(workspace, {
    repetitions: plan.openRepetitions,
    server: context.server,
    afterLastPublishing: async (opened) => {
      keystrokes = await keystrokesOnOpened(workspace, plan, context, opened);
    },
  });
  return editorsOutput(keystrokes!, open);
}

/** The silent opens the core suite's cold opens measured, in their order (see measurements.ts). */
export interface SilentOpens {
  readonly ms: readonly number[];
  readonly untilIdleMs: readonly number[];
  readonly cpuMs: readonly number[];
  readonly mainCpuMs: readonly number[];
}

/**
 * The editors' measurements at one size riding on the core suite's cold opens (run.ts), so that no open is
 * measured twice: a cold open is exactly the editors' open of a client without `publishDiagnostics`.
 * `interleave` runs the publishing open of each of the first {@link EditorsAlongColdOpens.repetitions}
 * cold-open repetitions, placed by the cold open so that it alternates with the silent one as
 * {@link measurePublishAtOpen} alternates them, with both keystroke runs on the last publishing
 * server (both debounces, see {@link keystrokesOnOpened}); `finish` pairs the publishing opens with the
 * first silent ones.
 */
export interface EditorsAlongColdOpens {
  readonly repetitions: number;
  interleave(repetition: number): Promise<void>;
  finish(silent: SilentOpens): { rows: ReportRow[]; samples: Record<string, unknown> };
}

/** See {@link EditorsAlongColdOpens}. */
export function editorsAlongColdOpens(
  context: Pick<SuiteContext, 'quick' | 'seed' | 'server' | 'log'>,
  workspace: BenchWorkspace,
): EditorsAlongColdOpens {
  const roots = workspace.summary.roots;
  const plan = editorsPlan(context, roots);
  const samples = emptyPublishAtOpenSamples();
  let keystrokes: Keystrokes | undefined;
  return {
    repetitions: plan.openRepetitions,
    async interleave(repetition) {
      if (repetition >= plan.openRepetitions) return;
      const last = repetition === plan.openRepetitions - 1;
      await measureOneOpen(
        workspace,
        context.server,
        true,
        samples,
        last
          ? async (opened) => {
              keystrokes = await keystrokesOnOpened(workspace, plan, context, opened);
            }
          : undefined,
      );
    },
    finish(silent) {
      if (keystrokes === undefined || samples.publishingMs.length !== plan.openRepetitions)
        throw new Error(
          `the cold opens ran ${samples.publishingMs.length} of ${plan.openRepetitions} publishing opens`,
        );
      const paired = plan.openRepetitions;
      samples.silentMs.push(...silent.ms.slice(0, paired));
      samples.silentUntilIdleMs.push(...silent.untilIdleMs.slice(0, paired));
      samples.silentCpuMs.push(...silent.cpuMs.slice(0, paired));
      samples.silentMainCpuMs.push(...silent.mainCpuMs.slice(0, paired));
      return editorsOutput(keystrokes, { roots, ...samples });
    },
  };
}
