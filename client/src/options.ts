/**
 * The options of a packer client, their defaults, and their eager validation: a bad option fails at once
 * with a message that names it and the value it got, never later as a confusing wire error.
 */

/** A workspace folder, as LSP's `initialize` takes it; the server opens each as a project. */
export interface WorkspaceFolder {
  /** A `file:` URI naming the project folder (the one holding `assets/`). */
  readonly uri: string;
  /** A name for people. */
  readonly name: string;
}

/** How much the server reports about its own message handling through `$/logTrace`. */
export type TraceValue = 'off' | 'messages' | 'verbose';

/** Options shared by every way of creating a client. */
export interface PackerClientOptions {
  /** Who the client is, sent in `initialize`. Default `{ name: '@prometeu/packer-client' }`. */
  readonly clientInfo?: { readonly name: string; readonly version?: string };
  /** Folders the server opens as projects during `initialize`; their outcome is in the result's `projects`. */
  readonly workspaceFolders?: readonly WorkspaceFolder[] | null;
  /** The initial trace level. Default `off`. */
  readonly trace?: TraceValue;
  /** Sent as `initializationOptions`. */
  readonly initializationOptions?: Record<string, unknown>;
  /** Sent as `processId`: the server exits when this process dies. Default `process.pid`; null for none. */
  readonly processId?: number | null;
  /** How long `start()` waits for the `initialize` answer, in ms. Default 10 000. */
  readonly initializeTimeoutMs?: number;
  /** How long any other request may take before it fails with a timeout, in ms. Default: no limit. */
  readonly requestTimeoutMs?: number;
  /** How long `stop()` waits for `shutdown` and the process exit before it kills the server, in ms. Default 5 000. */
  readonly shutdownTimeoutMs?: number;
  /** Check every `packer/event` against the protocol's schema; invalid ones go to `onInvalidEvent`, not `onEvent`. Default false. */
  readonly validateEvents?: boolean;
}

/** Options of {@link PackerClient.spawn}. */
export interface SpawnOptions extends PackerClientOptions {
  /** The server to run: a `.js`, `.mjs` or `.cjs` script (run with `process.execPath`) or an executable. */
  readonly serverCommand: string;
  /** Arguments after the command. Default `['--stdio']`. */
  readonly args?: readonly string[];
  /** The server's working directory. Default: this process's. */
  readonly cwd?: string;
  /** The server's whole environment (as with `child_process.spawn`). Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
  /** How many bytes of the server's stderr to keep for crash reports. Default 4 096. */
  readonly stderrTailBytes?: number;
}

/** Defaults of the timeouts, in ms. */
export const DEFAULT_INITIALIZE_TIMEOUT_MS = 10_000;
/** Default time `stop()` gives the server before it kills it, in ms. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;
/** Default number of stderr bytes kept for crash reports. */
export const DEFAULT_STDERR_TAIL_BYTES = 4_096;

/** The options after defaults and validation. */
export interface ResolvedOptions {
  readonly clientInfo: { readonly name: string; readonly version?: string };
  readonly workspaceFolders: readonly WorkspaceFolder[] | null;
  readonly trace: TraceValue;
  readonly initializationOptions: Record<string, unknown> | undefined;
  readonly processId: number | null;
  readonly initializeTimeoutMs: number;
  readonly requestTimeoutMs: number | undefined;
  readonly shutdownTimeoutMs: number;
  readonly validateEvents: boolean;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined)
    return String(value);
  try {
    return JSON.stringify(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

function fail(option: string, expected: string, value: unknown): never {
  throw new TypeError(`Option \`${option}\` must be ${expected}; got ${describe(value)}.`);
}

/** A positive finite number of milliseconds, or the default when absent. */
export function checkTimeout(option: string, value: unknown, fallback: number): number;
export function checkTimeout(option: string, value: unknown, fallback: number | undefined): number | undefined;
export function checkTimeout(option: string, value: unknown, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    fail(option, 'a positive finite number of milliseconds', value);
  return value;
}

/** Applies defaults and validates; throws a `TypeError` naming the first bad option. */
export function resolveOptions(options: PackerClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  const clientInfo = options.clientInfo ?? { name: '@prometeu/packer-client' };
  if (
    typeof clientInfo !== 'object' ||
    clientInfo === null ||
    typeof clientInfo.name !== 'string' ||
    clientInfo.name.length === 0
  ) {
    fail('clientInfo', 'an object with a non-empty `name`', clientInfo);
  }
  const folders = options.workspaceFolders ?? null;
  if (folders !== null) {
    if (!Array.isArray(folders)) fail('workspaceFolders', 'an array of { uri, name }', folders);
    folders.forEach((folder: unknown, index) => {
      const candidate = folder as Partial<WorkspaceFolder> | null;
      if (
        typeof candidate !== 'object' ||
        candidate === null ||
        typeof candidate.uri !== 'string' ||
        !candidate.uri.startsWith('file:') ||
        typeof candidate.name !== 'string'
      ) {
        fail(`workspaceFolders[${index}]`, 'an object { uri, name } whose uri is a file: URI', folder);
      }
    });
  }
  const trace = options.trace ?? 'off';
  if (trace !== 'off' && trace !== 'messages' && trace !== 'verbose')
    fail('trace', "'off', 'messages' or 'verbose'", trace);
  if (
    options.initializationOptions !== undefined &&
    (typeof options.initializationOptions !== 'object' ||
      options.initializationOptions === null ||
      Array.isArray(options.initializationOptions))
  ) {
    fail('initializationOptions', 'an object', options.initializationOptions);
  }
  const processId = options.processId === undefined ? process.pid : options.processId;
  if (processId !== null && (typeof processId !== 'number' || !Number.isInteger(processId) || processId <= 0))
    fail('processId', 'a positive integer or null', processId);
  if (options.validateEvents !== undefined && typeof options.validateEvents !== 'boolean')
    fail('validateEvents', 'a boolean', options.validateEvents);
  return {
    clientInfo,
    workspaceFolders: folders,
    trace,
    initializationOptions: options.initializationOptions,
    processId,
    initializeTimeoutMs: checkTimeout(
      'initializeTimeoutMs',
      options.initializeTimeoutMs,
      DEFAULT_INITIALIZE_TIMEOUT_MS,
    ),
    requestTimeoutMs: checkTimeout('requestTimeoutMs', options.requestTimeoutMs, undefined),
    shutdownTimeoutMs: checkTimeout('shutdownTimeoutMs', options.shutdownTimeoutMs, DEFAULT_SHUTDOWN_TIMEOUT_MS),
    validateEvents: options.validateEvents ?? false,
  };
}

/** The spawn-specific options after defaults and validation. */
export interface ResolvedSpawnOptions {
  readonly serverCommand: string;
  readonly args: readonly string[];
  readonly cwd: string | undefined;
  readonly env: NodeJS.ProcessEnv | undefined;
  readonly stderrTailBytes: number;
}

/** Applies defaults to the spawn-specific options and validates them. */
export function resolveSpawnOptions(options: SpawnOptions): ResolvedSpawnOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  if (typeof options.serverCommand !== 'string' || options.serverCommand.length === 0)
    fail('serverCommand', 'a non-empty string (a script path or an executable)', options.serverCommand);
  const args = options.args ?? ['--stdio'];
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === 'string')) fail('args', 'an array of strings', args);
  if (options.cwd !== undefined && (typeof options.cwd !== 'string' || options.cwd.length === 0))
    fail('cwd', 'a non-empty string', options.cwd);
  if (options.env !== undefined && (typeof options.env !== 'object' || options.env === null))
    fail('env', 'an object of environment variables', options.env);
  const tail = options.stderrTailBytes ?? DEFAULT_STDERR_TAIL_BYTES;
  if (typeof tail !== 'number' || !Number.isInteger(tail) || tail < 0)
    fail('stderrTailBytes', 'a non-negative integer', tail);
  return {
    serverCommand: options.serverCommand,
    args: [...args],
    cwd: options.cwd,
    env: options.env,
    stderrTailBytes: tail,
  };
}
