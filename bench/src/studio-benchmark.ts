/**
 * The studio suite: the packer panel's navigator on a project of every size of the run (the issue names 10k), measured against parsing the packer's
 * answers alone. The first render is the Studio adapter's reducer building the navigator from a whole
 * `listAssets` answer plus the panel's display rows; the update is one `snapshot.published` (a build-inclusion change, after 3,000 untimed-for-the-goal updates) and the
 * root reads the adapter names for it (`navigatorReads`), each reduced, then the display rows again. Every
 * message is the exact bytes the real server sent, captured on the wire.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { initialState, navigatorReads, reduce, type StudioMessage } from '../../studio/dist/index.js';
import { displayNavigator } from '../../cli/dist/ui/navigator-rows.js';
import { atSize, eachSize, type SuiteContext, type SuiteOutput } from './issue-suites.js';
import { copyToTemporary } from './private-copy.js';
import type { ReportRow } from './report.js';
import { waitUntilIdle, type ServerCommand } from './server-process.js';
import { formatBytes, formatCount, formatMilliseconds, median } from './statistics.js';
import { ensureWorkspace } from './workspaces.js';

/** The navigator should cost at most this many times the parse of the answers it is built from. */
const GOAL = 2;
/**
 * Updates run before the measured ones (timed, reported apart): the panel reduces every message with the
 * same functions, so its update runs optimised code; without this the quick run's median (2,000 samples)
 * fell where V8's optimising compiler takes over, and quick and full runs disagreed.
 */
const WARM_UPDATES = 3_000;

/** One message as the server framed it: its body text, exactly as received. */
interface WireMessage {
  readonly body: string;
  readonly message: Record<string, unknown>;
}

/** A packer server spoken to with raw frames, so every answer's exact body is kept. */
interface RawServer {
  readonly pid: number;
  request(method: string, params: object): Promise<WireMessage>;
  notify(method: string, params: object): void;
  /** Every `packer/event` notification received so far, in order. */
  readonly events: WireMessage[];
  /** Resolves with the first event received (from now or already) that `matches`. */
  eventWhere(matches: (event: Record<string, unknown>) => boolean): Promise<WireMessage>;
  stop(): Promise<void>;
}

function startRawServer(command: ServerCommand): RawServer {
  const child: ChildProcess = spawn(
    process.execPath,
    [...(command.nodeOptions ?? []), command.script, ...command.args],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  child.stderr!.resume();
  const pending = new Map<number, { resolve: (wire: WireMessage) => void; reject: (error: Error) => void }>();
  const events: WireMessage[] = [];
  const waiters: { matches: (event: Record<string, unknown>) => boolean; resolve: (wire: WireMessage) => void }[] = [];
  let buffer: Buffer = Buffer.alloc(0);
  let nextId = 1;
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(buffer.subarray(0, end).toString('ascii'))?.[1]);
      if (buffer.length < end + 4 + length) return;
      const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      buffer = buffer.subarray(end + 4 + length);
      const message = JSON.parse(body) as Record<string, unknown>;
      const wire = { body, message };
      if (typeof message['id'] === 'number' && !('method' in message)) {
        const waiting = pending.get(message['id']);
        pending.delete(message['id']);
        if ('error' in message) waiting?.reject(new Error(`server error: ${JSON.stringify(message['error'])}`));
        else waiting?.resolve(wire);
      } else if (message['method'] === 'packer/event') {
        events.push(wire);
        for (const waiter of waiters.splice(0))
          if (waiter.matches(message['params'] as Record<string, unknown>)) waiter.resolve(wire);
          else waiters.push(waiter);
      }
    }
  });
  child.on('exit', (code) => {
    for (const waiting of pending.values()) waiting.reject(new Error(`server exited with ${String(code)}`));
  });
  const send = (payload: object): void => {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...payload }), 'utf8');
    child.stdin!.write(Buffer.concat([Buffer.from(`Content-Length: ${body.length}\r\n\r\n`, 'ascii'), body]));
  };
  return {
    pid: child.pid!,
    events,
    request: (method, params) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        send({ id, method, params });
      }),
    notify: (method, params) => send({ method, params }),
    eventWhere: (matches) => {
      const found = events.find((wire) => matches(wire.message['params'] as Record<string, unknown>));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ matches, resolve }));
    },
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const deadline = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await Promise.race([
        (async () => {
          const id = nextId++;
          await new Promise<void>((resolve) => {
            pending.set(id, { resolve: () => resolve(), reject: () => resolve() });
            send({ id, method: 'shutdown' });
          });
          send({ method: 'exit' });
        })(),
        exited,
      ]);
      await exited;
      clearTimeout(deadline);
    },
  };
}

/** The reducer message of a captured answer. */
function responseOf(method: string, params: object, wire: WireMessage): StudioMessage {
  return { type: 'response', method, params, result: wire.message['result'] } as unknown as StudioMessage;
}

function eventOf(wire: WireMessage): StudioMessage {
  return { type: 'event', event: wire.message['params'] } as unknown as StudioMessage;
}

/** What the studio suite measured. */
export interface StudioResult {
  readonly roots: number;
  readonly listBytes: number;
  readonly updateBytes: number;
  readonly rootReads: number;
  /** First render: JSON.parse of the list, then the reducer and the display rows, per sample in ms. */
  readonly firstSubjectMs: number[];
  /** The reducer and the display rows alone, from the parsed list, per sample in ms. */
  readonly firstRenderMs: number[];
  /** JSON.parse of the list alone, per sample in ms. */
  readonly firstFloorMs: number[];
  /** Update: parse, reduce and display the event and the root reads, per sample in ms. */
  readonly updateSubjectMs: number[];
  readonly updateRenderMs: number[];
  /** JSON.parse of the event and of the root reads alone, per sample in ms. */
  readonly updateFloorMs: number[];
  /** The first {@link WARM_UPDATES} updates (before the optimising compiler ran), and their floors, in ms. */
  readonly coldSubjectMs: number[];
  readonly coldFloorMs: number[];
}

type Collector = (options?: { type: 'minor' | 'major' }) => void;

/** A full collection between samples, so each starts from a collected heap (npm run bench exposes gc). */
function collect(): void {
  (globalThis as { gc?: Collector }).gc?.();
}

/**
 * A scavenge at the end of both timed blocks of the first render: each then pays for keeping what it made
 * alive. Without it the floor's parsed list, dropped at once, dies young for free, while the render (which
 * keeps the parsed list) is billed for moving the parser's objects out of the young generation.
 */
function scavenge(): void {
  (globalThis as { gc?: Collector }).gc?.({ type: 'minor' });
}

/** Measures the navigator's first render and its update on a private copy of the workspace of `roots` roots. */
export async function measureStudio(
  projectDir: string,
  options: {
    readonly roots: number;
    readonly firstSamples: number;
    readonly updateSamples: number;
    readonly server: ServerCommand;
  },
): Promise<StudioResult> {
  const roots = options.roots;
  const server = startRawServer(options.server);
  try {
    await server.request('initialize', {
      processId: process.pid,
      clientInfo: { name: 'prometeu-bench-studio' },
      rootUri: null,
      capabilities: {},
      workspaceFolders: null,
    });
    server.notify('initialized', {});
    const openParams = { rootUri: pathToFileURL(projectDir).href };
    const opened = await server.request('packer/openProject', openParams);
    const projectId = (opened.message['result'] as { projectId: string }).projectId;
    // Format checks and watching settle first, so the list read below is the snapshot the rename starts from.
    await waitUntilIdle(server.pid, { maxCpuShare: options.server.idleCpuShare ?? 0.02 });
    const replayParams = { projectId, afterSequence: 0 };
    const replay = await server.request('packer/events', replayParams);
    const statusParams = { projectId };
    const status = await server.request('packer/projectStatus', statusParams);
    const listParams = { projectId };
    const list = await server.request('packer/listAssets', listParams);

    // The panel's state when the list arrives: connected, the project open, the retained events replayed.
    const beforeList = [
      { type: 'connection', state: 'connected' } as StudioMessage,
      responseOf('openProject', openParams, opened),
      responseOf('events', replayParams, replay),
      responseOf('projectStatus', statusParams, status),
    ].reduce(reduce, initialState());
    const listed = reduce(beforeList, responseOf('listAssets', listParams, list));
    if (listed.navigator?.rows.length !== roots)
      throw new Error(`the navigator has ${listed.navigator?.rows.length} rows, not ${roots}`);

    // The first render, interleaved with its floor.
    const firstSubjectMs: number[] = [];
    const firstRenderMs: number[] = [];
    const firstFloorMs: number[] = [];
    for (let sample = 0; sample < options.firstSamples; sample++) {
      collect();
      const floorStarted = performance.now();
      const kept: unknown = JSON.parse(list.body);
      scavenge();
      firstFloorMs.push(performance.now() - floorStarted);
      // Used after the scavenge, so the parsed list is alive through it.
      void kept;
      collect();
      const started = performance.now();
      const parsed = JSON.parse(list.body) as { result: unknown };
      const parsedAt = performance.now();
      const state = reduce(beforeList, {
        type: 'response',
        method: 'listAssets',
        params: listParams,
        result: parsed.result,
      } as StudioMessage);
      displayNavigator(state.navigator!);
      scavenge();
      const ended = performance.now();
      firstSubjectMs.push(ended - started);
      firstRenderMs.push(ended - parsedAt);
    }

    // One build-inclusion change through the lane (a registry-only write, so no format checks follow): its
    // snapshot.published names that root as changed, and nothing else is published before the root read.
    const rows = listed.navigator.rows;
    const target = rows.find((row, index) => row.registered && row.includedInBuild && index >= roots / 2)!;
    const mutation = { kind: 'setBuildInclusion', asset: { assetId: target.assetId }, included: false };
    const previewParams = { projectId, mutation };
    const preview = await server.request('packer/previewMutation', previewParams);
    const applyParams = {
      projectId,
      previewId: (preview.message['result'] as { previewId: string }).previewId,
      operationId: 'bench-exclude',
    };
    const eventsBefore = server.events.length;
    const apply = server.request('packer/applyMutation', applyParams);
    const publishedWire = await server.eventWhere(
      (event) => event['kind'] === 'snapshot.published' && (event['body'] as { cause: string }).cause === 'mutation',
    );
    await apply;
    const lifecycle = server.events.slice(eventsBefore, server.events.indexOf(publishedWire)).map(eventOf);
    // The panel's state when the event arrives: the list rendered, the card shown, the apply sent and running.
    const beforeEvent = [
      responseOf('previewMutation', previewParams, preview),
      { type: 'request', method: 'applyMutation', params: applyParams } as StudioMessage,
      ...lifecycle,
    ].reduce(reduce, listed);
    displayNavigator(beforeEvent.navigator!);
    const afterEvent = reduce(beforeEvent, eventOf(publishedWire));
    const reads = navigatorReads(afterEvent);
    if (reads.length === 0 || reads.some((params) => params.filter?.rootPrefix === undefined))
      throw new Error(`the adapter asked for ${JSON.stringify(reads)} after one change, not root reads`);
    const readWires: { params: object; wire: WireMessage }[] = [];
    for (const params of reads) readWires.push({ params, wire: await server.request('packer/listAssets', params) });
    const updated = readWires.reduce(
      (state, read) => reduce(state, responseOf('listAssets', read.params, read.wire)),
      afterEvent,
    );
    const changed = updated.navigator?.rows.find((row) => row.root === target.root);
    if (updated.navigator?.stale !== false || changed?.includedInBuild !== false)
      throw new Error(
        `the navigator did not follow the change (another publish came first?): ${JSON.stringify(changed)}, state revision ${updated.revision}, navigator ${updated.navigator?.revision}`,
      );

    // The update, one at a time (each from the state before the event, the display rows reset to it untimed),
    // interleaved with its floor.
    const updateSubjectMs: number[] = [];
    const updateRenderMs: number[] = [];
    const updateFloorMs: number[] = [];
    const bodies = [publishedWire.body, ...readWires.map((read) => read.wire.body)];
    const reset: StudioMessage = { type: 'select', root: beforeEvent.selected };
    const coldSubjectMs: number[] = [];
    const coldFloorMs: number[] = [];
    collect();
    for (let sample = -WARM_UPDATES; sample < options.updateSamples; sample++) {
      // The first updates are kept apart: they run before V8 has optimised the reducer (the floor, JSON.parse,
      // is compiled code from the start), so the reported median is of updates after them.
      const cold = sample < 0;
      displayNavigator(reduce(beforeEvent, reset).navigator!);
      const floorStarted = performance.now();
      for (const body of bodies) JSON.parse(body);
      (cold ? coldFloorMs : updateFloorMs).push(performance.now() - floorStarted);
      let parseMs = 0;
      const started = performance.now();
      let mark = started;
      const event = JSON.parse(publishedWire.body) as { params: unknown };
      parseMs += performance.now() - mark;
      let state = reduce(beforeEvent, { type: 'event', event: event.params } as StudioMessage);
      for (const read of readWires) {
        mark = performance.now();
        const answer = JSON.parse(read.wire.body) as { result: unknown };
        parseMs += performance.now() - mark;
        state = reduce(state, {
          type: 'response',
          method: 'listAssets',
          params: read.params,
          result: answer.result,
        } as StudioMessage);
      }
      displayNavigator(state.navigator!);
      const ended = performance.now();
      if (cold) {
        coldSubjectMs.push(ended - started);
        continue;
      }
      updateSubjectMs.push(ended - started);
      updateRenderMs.push(ended - started - parseMs);
    }
    return {
      roots,
      listBytes: Buffer.byteLength(list.body),
      updateBytes: bodies.reduce((sum, body) => sum + Buffer.byteLength(body), 0),
      rootReads: readWires.length,
      firstSubjectMs,
      firstRenderMs,
      firstFloorMs,
      updateSubjectMs,
      updateRenderMs,
      updateFloorMs,
      coldSubjectMs,
      coldFloorMs,
    };
  } finally {
    await server.stop();
  }
}

/** The rows of the studio suite. */
export function studioRows(result: StudioResult): ReportRow[] {
  const size = formatCount(result.roots);
  const firstFloor = median(result.firstFloorMs);
  const updateFloor = median(result.updateFloorMs);
  return [
    {
      metric: `studio navigator first render ${size} (parse + reduce + display rows, median of ${result.firstSubjectMs.length}, ${formatBytes(result.listBytes)})`,
      subject: formatMilliseconds(median(result.firstSubjectMs)),
      floor: formatMilliseconds(firstFloor),
      ratio: median(result.firstSubjectMs) / firstFloor,
      goal: GOAL,
    },
    {
      metric: `  … reduce + display rows alone`,
      subject: formatMilliseconds(median(result.firstRenderMs)),
      floor: formatMilliseconds(firstFloor),
      ratio: median(result.firstRenderMs) / firstFloor,
    },
    {
      metric: `studio navigator update ${size} (1 snapshot.published + ${result.rootReads} root read, median of ${result.updateSubjectMs.length}, ${formatBytes(result.updateBytes)})`,
      subject: formatMilliseconds(median(result.updateSubjectMs)),
      floor: formatMilliseconds(updateFloor),
      ratio: median(result.updateSubjectMs) / updateFloor,
      goal: GOAL,
    },
    {
      metric: `  … reduce + display rows alone`,
      subject: formatMilliseconds(median(result.updateRenderMs)),
      floor: formatMilliseconds(updateFloor),
      ratio: median(result.updateRenderMs) / updateFloor,
    },
    {
      metric: `  … the first ${formatCount(result.coldSubjectMs.length)} updates (before those, not optimised yet)`,
      subject: formatMilliseconds(median(result.coldSubjectMs)),
      floor: formatMilliseconds(median(result.coldFloorMs)),
      ratio: median(result.coldSubjectMs) / median(result.coldFloorMs),
    },
  ];
}

/** The studio suite at every size, each on a private copy: 15 first renders and 2,000 updates (21 and 10,000 in a full run; 5 and 3,000 above 20k roots). */
export async function runStudioSuite(context: SuiteContext): Promise<SuiteOutput> {
  return eachSize(context, 'studio', async (roots) => {
    const workspace = ensureWorkspace(context.workspacesDir, roots, context.seed, context.log);
    const copy = copyToTemporary(workspace.projectDir, `studio-${formatCount(roots)}`);
    try {
      const firstSamples = atSize(roots, context.quick ? 15 : 21, 5);
      const updateSamples = atSize(roots, context.quick ? 2_000 : 10_000, 3_000);
      context.log(
        `studio: navigator on ${formatCount(roots)}: ${firstSamples} first renders, ${updateSamples} updates`,
      );
      const studio = await measureStudio(copy.projectDir, {
        roots,
        firstSamples,
        updateSamples,
        server: context.server,
      });
      return { rows: studioRows(studio), samples: studio };
    } finally {
      copy.remove();
    }
  });
}
