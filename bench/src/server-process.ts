/** Starting a JSON-RPC server over stdio (the packer server or the bench's no-op server) and talking to it the way a client does. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
  type MessageConnection,
} from 'vscode-jsonrpc/node';

/** A running server with an initialised connection. */
export interface ServerProcess {
  readonly pid: number;
  readonly connection: MessageConnection;
  /** Sends a request and resolves with its result. */
  request<Result>(method: string, params: object): Promise<Result>;
  /** The process's resident set size now (VmRSS from /proc), in bytes. */
  residentBytes(): number;
  /**
   * Waits until the process stops using CPU for `quietMs` (default {@link QUIET_MS}); see {@link waitUntilIdle}.
   * When the process used no clock tick and no message went either way through this handle since the previous
   * wait returned, the previous quiet stretch goes on ({@link waitForQuiet}): a caller that changes what the
   * server sees without a message (a file written into a watched tree) must not count on a wait alone to let
   * the server react first.
   */
  untilIdle(quietMs?: number): Promise<number>;
  /** What the server wrote to stderr so far. */
  stderrText(): string;
  /** Sends shutdown and exit and waits for the process to end (killing it after a deadline); resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Where a server script lives and which extra Node options to run it with. */
export interface ServerCommand {
  readonly script: string;
  readonly args: readonly string[];
  readonly nodeOptions?: readonly string[];
  /** The share of one core the process may still use while counted as idle (a CPU profiler costs a few percent). */
  readonly idleCpuShare?: number;
}

/**
 * The packer server's entry script, found through its package the way the client library finds it, or
 * `script` when given (to measure another build of the server).
 */
export function packerServerCommand(nodeOptions: readonly string[] = [], script?: string): ServerCommand {
  const idleCpuShare = nodeOptions.some((option) => option.startsWith('--cpu-prof')) ? 0.25 : 0.02;
  if (script !== undefined) return { script, args: ['--stdio'], nodeOptions, idleCpuShare };
  const packageJson = createRequire(import.meta.url).resolve('@prometeu/packer-server/package.json');
  const bin = (JSON.parse(readFileSync(packageJson, 'utf8')) as { bin: Record<string, string> }).bin['packer-server']!;
  return { script: join(dirname(packageJson), bin), args: ['--stdio'], nodeOptions, idleCpuShare };
}

/** The bench's no-op server, spawned the same way as the packer server. */
export function noopServerCommand(): ServerCommand {
  return { script: fileURLToPath(new URL('./noop-server.js', import.meta.url)), args: ['--stdio'] };
}

/** Reads VmRSS of a live process from /proc, in bytes. */
export function residentBytesOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** CPU time a live process has used so far (user + system, all threads), in clock ticks (1/100 s on Linux). */
export function cpuTicksOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'; utime and stime are the 14th and 15th fields.
  const fields = status.slice(status.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** CPU time the main thread of a live process has used so far (user + system), in clock ticks (1/100 s). */
export function mainThreadTicksOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8');
  // As in /proc/PID/stat: utime and stime are the 14th and 15th fields, counted after the command name.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** How long a process must stay quiet to count as idle, in ms. */
export const QUIET_MS = 500;

/**
 * The end of a quiet stretch a wait found: it began at `since` (performance.now), when the process had used
 * `ticksAtSince` clock ticks, and was still quiet when the wait returned, at `ticksAtEnd`.
 */
export interface QuietStretch {
  readonly since: number;
  readonly ticksAtSince: number;
  readonly ticksAtEnd: number;
}

/** Wall time spent in idle waits so far, counted once where waits overlap (see {@link idleWaitMs}). */
let waitedMs = 0;
/** Invariant: how many idle waits are running now; `waitingSince` is when the count last rose from 0. */
let waitsRunning = 0;
let waitingSince = 0;

/** The wall time this process has spent waiting for servers to go idle so far, in ms (overlapping waits counted once). */
export function idleWaitMs(): number {
  return waitedMs + (waitsRunning > 0 ? performance.now() - waitingSince : 0);
}

/** The idle waits of one call site within one scope (a suite at a size), for the budget by site. */
export interface WaitSite {
  /** The suite and size the waits ran in ({@link setWaitScope}), such as `core 100k`. */
  readonly scope: string;
  /** The bench function that waited, and its place in the compiled file (`measureColdOpen measurements.js:135`). */
  readonly site: string;
  /** How many waits, and how many of them continued a previous quiet stretch. */
  readonly waits: number;
  readonly continued: number;
  /** Wall time in these waits, each counted in full (two waits run together, a server and its no-op floor, count twice). */
  readonly ms: number;
  /** Of `ms`, the part before the quiet stretch began: the server was still working. */
  readonly workingMs: number;
  /** Of `ms`, the quiet stretch itself that the wait needed to see (the rest). */
  readonly quietMs: number;
}

/** Invariant: the scope later waits are booked to; set by the run around each suite's size (run.ts, issue-suites.ts). */
let waitScope = 'run';
/** Invariant: per scope and site (`scope\tsite`), the sums of every wait that ended so far. */
const sites = new Map<string, { waits: number; continued: number; ms: number; workingMs: number; quietMs: number }>();

/** Books the idle waits from now on to `suite` at `roots` (or once per run, `roots` undefined); returns the previous scope. */
export function setWaitScope(scope: string): string {
  const previous = waitScope;
  waitScope = scope;
  return previous;
}

/** Every call site's idle waits so far, by scope, in the order first seen. */
export function idleWaitSites(): WaitSite[] {
  return [...sites].map(([key, sums]) => {
    const [scope, site] = key.split('\t') as [string, string];
    return { scope, site, ...sums };
  });
}

/** The bench function that called into this module, from the stack: `name file.js:line`. */
function callerSite(): string {
  const frames = (new Error().stack ?? '').split('\n').slice(1);
  for (const frame of frames) {
    if (/server-process\.[jt]s/.test(frame) || frame.includes('node:internal')) continue;
    const match = /at (?:async )?(?:(\S+) \()?(?:.*\/)?([^/]+?):(\d+):\d+\)?$/.exec(frame.trim());
    if (match) return `${match[1] ?? '(anonymous)'} ${match[2]}:${match[3]}`;
  }
  return 'unknown';
}

function bookWait(site: string, startedAt: number, stretch: QuietStretch | undefined, wasContinued: boolean): void {
  const now = performance.now();
  const key = `${waitScope}\t${site}`;
  const sums = sites.get(key) ?? { waits: 0, continued: 0, ms: 0, workingMs: 0, quietMs: 0 };
  sites.set(key, sums);
  const ms = now - startedAt;
  const workingMs = stretch === undefined ? ms : Math.max(0, Math.min(ms, stretch.since - startedAt));
  sums.waits++;
  if (wasContinued) sums.continued++;
  sums.ms += ms;
  sums.workingMs += workingMs;
  sums.quietMs += ms - workingMs;
}

/** Waits that continued a previous quiet stretch, and the least they saved: a fresh wait lasts `quietMs` at least. */
const continued = { waits: 0, savedMs: 0 };

/** How many idle waits continued the previous one's quiet stretch so far, and the least time that saved (ms). */
export function continuedWaits(): { readonly waits: number; readonly savedMs: number } {
  return { ...continued };
}

/**
 * Waits until a process stops using CPU: polls its CPU time every 20 ms and returns once, for `quietMs`
 * (default {@link QUIET_MS}), it used at most `maxCpuShare` of one core (one clock tick is always
 * tolerated). Resolves with the time (performance.now) at which that quiet stretch began, so a caller can
 * tell how long the process kept working. Throws after `deadlineMs`.
 */
export async function waitUntilIdle(
  pid: number,
  options: { readonly quietMs?: number; readonly maxCpuShare?: number; readonly deadlineMs?: number } = {},
): Promise<number> {
  return (await waitForQuiet(pid, options)).since;
}

/**
 * {@link waitUntilIdle}, returning the stretch it found. With `after`, the stretch a previous wait on the same
 * process found: when the process has used no clock tick since that wait returned, and the caller knows
 * nothing was asked of it since, the stretch goes on (it is quiet by the same rule over its whole length),
 * so the wait returns as soon as the stretch is `quietMs` long, at once when it already is.
 */
export async function waitForQuiet(
  pid: number,
  options: { readonly quietMs?: number; readonly maxCpuShare?: number; readonly deadlineMs?: number } = {},
  after?: QuietStretch,
): Promise<QuietStretch> {
  const quietMs = options.quietMs ?? QUIET_MS;
  const maxCpuShare = options.maxCpuShare ?? 0.02;
  const deadlineMs = options.deadlineMs ?? 120_000;
  if (waitsRunning++ === 0) waitingSince = performance.now();
  const startedAt = performance.now();
  const site = callerSite();
  let found: QuietStretch | undefined;
  let wasContinued = false;
  try {
    const deadline = performance.now() + deadlineMs;
    let quietSince = performance.now();
    let ticksThen = cpuTicksOf(pid);
    if (after !== undefined && ticksThen === after.ticksAtEnd) {
      quietSince = after.since;
      ticksThen = after.ticksAtSince;
      if (performance.now() - quietSince >= quietMs) {
        continued.waits++;
        continued.savedMs += quietMs;
        wasContinued = true;
        found = { since: quietSince, ticksAtSince: ticksThen, ticksAtEnd: after.ticksAtEnd };
        return found;
      }
    }
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const now = performance.now();
      const ticks = cpuTicksOf(pid);
      // A tick is 10 ms of CPU; the allowance grows with the length of the quiet stretch.
      const allowance = Math.max(1, (maxCpuShare * (now - quietSince)) / 10);
      if (ticks - ticksThen > allowance) {
        quietSince = now;
        ticksThen = ticks;
      } else if (now - quietSince >= quietMs) {
        wasContinued ||= after !== undefined && quietSince === after.since;
        found = { since: quietSince, ticksAtSince: ticksThen, ticksAtEnd: ticks };
        return found;
      }
      if (now > deadline) throw new Error(`process ${pid} was still busy after ${deadlineMs} ms`);
    }
  } finally {
    if (--waitsRunning === 0) waitedMs += performance.now() - waitingSince;
    bookWait(site, startedAt, found, wasContinued);
  }
}

function whenExited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** What a client may add to the defaults of {@link startServer}. */
export interface StartOptions {
  /** The client's `capabilities` in `initialize` (default none). */
  readonly capabilities?: object;
  /** The `initializationOptions` of `initialize` (default none). */
  readonly initializationOptions?: object;
  /** Called with every notification from the server, from the first one on (default: dropped). */
  readonly onNotification?: (method: string, params: unknown) => void;
}

/**
 * Spawns `node <script> <args>` with stdin and stdout as the JSON-RPC pipe, sends `initialize` and
 * `initialized`, and resolves once the server answered. Notifications from the server go to
 * `options.onNotification` or are dropped. Throws, with the server's stderr, if it exits or refuses to
 * initialise.
 */
export async function startServer(command: ServerCommand, options: StartOptions = {}): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...(command.nodeOptions ?? []), command.script, ...command.args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    if (stderr.length < 64 * 1024) stderr += chunk;
  });
  const exited = whenExited(child);
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout),
    new StreamMessageWriter(child.stdin),
    {
      error: (message) => process.stderr.write(`[bench] connection error: ${message}\n`),
      warn: () => undefined,
      info: () => undefined,
      log: () => undefined,
    },
  );
  const onNotification = options.onNotification;
  // Invariant: counts every request sent through `request`, every answer to one and every notification
  // received; an idle wait continues the previous one's quiet stretch only while it has not moved.
  let traffic = 0;
  // Invariant: the process's CPU time read once the client had handled the latest traffic (`traffic` then);
  // an idle wait may start its quiet stretch there when neither has moved since (see `untilIdle`).
  let settled: { at: number; ticks: number; traffic: number } | undefined;
  let settling = false;
  const noteTraffic = (): void => {
    traffic++;
    if (settling) return;
    settling = true;
    // Read once the client's turn is over, so a burst of messages costs one /proc read.
    setImmediate(() => {
      settling = false;
      try {
        settled = { at: performance.now(), ticks: cpuTicksOf(pid!), traffic };
      } catch {
        settled = undefined;
      }
    });
  };
  connection.onNotification((method: string, params: unknown) => {
    noteTraffic();
    onNotification?.(method, params);
  });
  connection.onError(() => undefined);
  connection.listen();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command.script}`);
  // A notification the bench sends (`textDocument/didChange`, a configuration change) is traffic too: the
  // server has work it did not start yet, so no wait may count a stretch from before it.
  const sendNotification = connection.sendNotification.bind(connection) as (...args: unknown[]) => Promise<void>;
  (connection as { sendNotification: (...args: unknown[]) => Promise<void> }).sendNotification = (...args) => {
    noteTraffic();
    return sendNotification(...args);
  };

  // Requests in flight, each with how to fail it if the process exits before answering.
  const inFlight = new Set<(code: number | null) => void>();
  void exited.then((code) => {
    for (const fail of inFlight) fail(code);
  });
  function request<Result>(method: string, params: object): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const fail = (code: number | null): void =>
        reject(new Error(`${command.script} exited with ${String(code)} during ${method}:\n${stderr}`));
      inFlight.add(fail);
      noteTraffic();
      // The answer is traffic before the caller hears of it, so the reading after it comes first.
      const answered = (): void => {
        inFlight.delete(fail);
        noteTraffic();
      };
      connection.sendRequest<Result>(method, params).then(
        (result) => {
          answered();
          resolve(result);
        },
        (error: unknown) => {
          answered();
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  await request('initialize', {
    processId: process.pid,
    clientInfo: { name: 'prometeu-bench' },
    rootUri: null,
    capabilities: options.capabilities ?? {},
    ...(options.initializationOptions !== undefined ? { initializationOptions: options.initializationOptions } : {}),
    workspaceFolders: null,
  });
  await connection.sendNotification('initialized', {});

  let stopping: Promise<number | null> | undefined;
  // The quiet stretch the last idle wait found, and the traffic then: the next wait continues it when neither
  // the traffic nor the process's CPU time moved since (a floor measured in the bench between two waits).
  let lastQuiet: { stretch: QuietStretch; traffic: number } | undefined;
  return {
    pid,
    connection,
    request,
    residentBytes: () => residentBytesOf(pid),
    async untilIdle(quietMs?: number): Promise<number> {
      let after = lastQuiet !== undefined && lastQuiet.traffic === traffic ? lastQuiet.stretch : undefined;
      // No wait to continue, but the CPU time read after the latest message: with nothing in flight, nothing
      // sent or received since and no clock tick used since, the process has been quiet since that reading,
      // as a wait started then would have found (a stretch with no tick at all, stricter than the wait's rule).
      if (after === undefined && settled !== undefined && settled.traffic === traffic && inFlight.size === 0)
        after = { since: settled.at, ticksAtSince: settled.ticks, ticksAtEnd: settled.ticks };
      const stretch = await waitForQuiet(
        pid,
        { maxCpuShare: command.idleCpuShare ?? 0.02, ...(quietMs !== undefined ? { quietMs } : {}) },
        after,
      );
      lastQuiet = { stretch, traffic };
      return stretch.since;
    },
    stderrText: () => stderr,
    stop(): Promise<number | null> {
      stopping ??= (async () => {
        const deadline = setTimeout(() => child.kill('SIGKILL'), 10_000);
        try {
          await Promise.race([connection.sendRequest('shutdown'), exited]);
          await connection.sendNotification('exit').catch(() => undefined);
        } catch {
          child.kill('SIGKILL');
        }
        const code = await exited;
        clearTimeout(deadline);
        connection.dispose();
        return code;
      })();
      return stopping;
    },
  };
}
