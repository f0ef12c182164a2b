/**
 * What one `packer` invocation does: parse, spawn the server, open the project, run one command (a read,
 * a previewed mutation, reconcile, pack, the event log), print, stop the server, and choose the exit code.
 * It takes its streams and environment as arguments and returns the exit code, so it never exits the
 * process itself.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidParamsData, PackerErrorCodes, StandardErrorCodes, type PackerEvent } from '@prometeu/packer-protocol';
import {
  PackerClient,
  PackerRequestError,
  ProjectEventFeed,
  RequestCancelledError,
  isPackerClientError,
  isPackerError,
} from '@prometeu/packer-client';
import { serverScriptPath } from '@prometeu/packer-server/server-script';
import { ExitCode, isMutationCommand, parseCommandLine, type ParsedCommand } from './args.js';
import { createDraft } from './draft.js';
import {
  doctorSummary,
  formatAssetDetails,
  formatAssetList,
  formatDoctor,
  formatEventLine,
  formatInit,
  formatPackFailure,
  formatPackSummary,
  formatPreview,
  formatProgress,
  formatReconcile,
  formatRejection,
  formatStatus,
  previewFooter,
  formatQuarantine,
} from './format.js';

/** Where an invocation reads and writes. */
export interface CliEnvironment {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted when the user interrupts (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** How long the server may take to answer `initialize`, in ms. */
const INITIALIZE_TIMEOUT_MS = 10_000;
/** How long one request may take before the server counts as hung, in ms (a pack of a large project included). */
const REQUEST_TIMEOUT_MS = 120_000;
/** How long a pack may take: it reports progress per asset, so a long one is busy, not hung. In ms. */
const PACK_TIMEOUT_MS = 3_600_000;
/** How long `shutdown` and the exit may take before the server is killed, in ms. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

const require = createRequire(import.meta.url);

/** The CLI's own version, from its package.json. */
export function cliVersion(): string {
  return (require('@prometeu/packer-cli/package.json') as { version: string }).version;
}

/** The server to run: `PACKER_SERVER`, else the bin script of the installed `@prometeu/packer-server`. */
export function locateServer(env: NodeJS.ProcessEnv): string {
  const override = env['PACKER_SERVER'];
  if (override !== undefined && override.length > 0) return override;
  return serverScriptPath();
}

/** Runs one invocation and returns its exit code. */
export async function runCli(argv: readonly string[], io: CliEnvironment): Promise<number> {
  const parsed = parseCommandLine(argv);
  switch (parsed.kind) {
    case 'help':
      io.stdout.write(parsed.text);
      return ExitCode.Success;
    case 'version':
      io.stdout.write(`packer ${cliVersion()}\n`);
      return ExitCode.Success;
    case 'usageError':
      io.stderr.write(`packer: ${parsed.message}\n${parsed.helpHint}\n`);
      return ExitCode.Usage;
    case 'command':
      return runCommand(parsed, io);
  }
}

async function runCommand(command: ParsedCommand, io: CliEnvironment): Promise<number> {
  let serverCommand: string;
  try {
    serverCommand = locateServer(io.env);
  } catch (error) {
    io.stderr.write(`packer: cannot find the packer server (@prometeu/packer-server): ${(error as Error).message}\n`);
    return ExitCode.ServerFailure;
  }
  const projectDir = resolve(io.cwd, command.projectDir);
  const client = PackerClient.spawn({
    serverCommand,
    cwd: io.cwd,
    env: io.env,
    clientInfo: { name: 'packer-cli', version: cliVersion() },
    initializeTimeoutMs: INITIALIZE_TIMEOUT_MS,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS,
  });
  let code: number;
  let reported = false;
  try {
    await client.start();
    code = await execute(client, command, projectDir, io);
  } catch (error) {
    code = reportError(error, io);
    reported = true;
  }
  const stopped = await client.stop();
  if (!reported && stopped.error !== undefined) {
    // The answer was printed, but the server did not end cleanly: say so and fail.
    code = reportError(stopped.error, io);
  }
  return code;
}

async function execute(
  client: PackerClient,
  command: ParsedCommand,
  projectDir: string,
  io: CliEnvironment,
): Promise<number> {
  const options = io.signal !== undefined ? { signal: io.signal } : {};
  const rootUri = pathToFileURL(projectDir).href;
  const print = (value: unknown, human: () => string): void => {
    io.stdout.write(command.json ? `${JSON.stringify(value, null, 2)}\n` : human());
  };
  if (command.command === 'init') {
    const result = await client.initWorkspace({ rootUri }, options);
    print(result, () => formatInit(result, projectDir));
    return ExitCode.Success;
  }
  // Subscribed before the open, so the watcher's first state change cannot be missed.
  const watch = new WatchStates(client);
  try {
    const opened = await client.openProject({ rootUri }, options);
    const { projectId } = opened;
    if (isMutationCommand(command.command)) {
      // The server checks a write against the divergence it knows; let it look at the disk first.
      await watch.settled(projectId, opened.watching.state);
      const drafted = resolveCreate(client, command, io);
      if (typeof drafted === 'number') return drafted;
      const resolved = await resolveRestore(client, projectId, drafted, io);
      if (typeof resolved === 'number') return resolved;
      return await runMutation(client, projectId, resolved, io, print);
    }
    switch (command.command) {
      case 'status': {
        await watch.settled(projectId, opened.watching.state);
        const status = await client.projectStatus({ projectId }, options);
        print(status, () => formatStatus(status));
        return ExitCode.Success;
      }
      case 'list': {
        await untilValidated(client, projectId);
        const filter = command.listFilter;
        const filtered = Object.keys(filter).length > 0;
        const list = await client.listAssets({ projectId, ...(filtered ? { filter } : {}) }, options);
        if (command.json) {
          print(list, () => '');
          return ExitCode.Success;
        }
        // The footer's counts are the server's (packer/projectStatus), never a count of the rows printed.
        const status = await client.projectStatus({ projectId }, options);
        print(list, () => formatAssetList(list, status, filtered ? filterWords(filter) : undefined));
        return ExitCode.Success;
      }
      case 'show': {
        await untilValidated(client, projectId);
        const details = await client.getAssetDetails({ projectId, asset: command.asset! }, options);
        print(details, () => formatAssetDetails(details));
        return ExitCode.Success;
      }
      case 'doctor': {
        await untilValidated(client, projectId);
        const result = await client.doctor(
          { projectId, scope: command.workspace ? 'workspace' : 'registered' },
          options,
        );
        print(result, () => formatDoctor(result));
        if (result.summary.blocking > 0) {
          if (command.json) io.stderr.write(`packer: ${doctorSummary(result)}\n`);
          return ExitCode.Blocking;
        }
        return ExitCode.Success;
      }
      case 'reconcile': {
        // Changes made while no packer ran are found once the watcher arms; wait, so this reconcile accepts them.
        await watch.settled(projectId, opened.watching.state);
        const result = await client.reconcileOperation({ projectId }, options).outcome;
        print(result, () => formatReconcile(result));
        return ExitCode.Success;
      }
      case 'quarantineList': {
        const quarantine = await client.listQuarantine({ projectId }, options);
        print(quarantine, () => formatQuarantine(quarantine));
        return ExitCode.Success;
      }
      case 'pack':
        return await runPack(client, projectId, command, io, print);
      case 'events':
        return await runEvents(client, projectId, command, io);
      default:
        throw new Error(`No handler for command ${JSON.stringify(command.command)}.`);
    }
  } finally {
    watch.dispose();
  }
}

type Print = (value: unknown, human: () => string) => void;

/** How the footer of a filtered `list` names its filter. */
function filterWords(filter: ParsedCommand['listFilter']): string {
  return filter.registered === true ? 'registered only' : 'unregistered only';
}

/**
 * `create <type> <root>`: drafts the `createAsset` mutation from the asset types the server advertised in
 * `initialize` (its defaults: the type's format and first codec); returns the exit code when the server
 * has no such type. Other commands pass through unchanged.
 */
function resolveCreate(client: PackerClient, command: ParsedCommand, io: CliEnvironment): ParsedCommand | number {
  const request = command.create;
  if (request === undefined) return command;
  const assetTypes = client.serverInitializeResult?.capabilities.experimental.packer.assetTypes ?? [];
  const declaration = createDraft(assetTypes, request.type, request.root, request.name);
  if (typeof declaration === 'string') {
    io.stderr.write(`packer: create: ${declaration}\n`);
    return ExitCode.Usage;
  }
  return {
    ...command,
    mutation: { kind: 'createAsset', root: request.root, declaration, register: request.register },
  };
}

/**
 * `restore <root>`: finds the quarantined asset whose original root is `root` with `packer/listQuarantine`
 * and names it by its uuid; returns the exit code when there is none (or more than one). Other commands
 * pass through unchanged.
 */
async function resolveRestore(
  client: PackerClient,
  projectId: string,
  command: ParsedCommand,
  io: CliEnvironment,
): Promise<ParsedCommand | number> {
  if (command.restoreRoot === undefined || command.mutation?.kind !== 'restore') return command;
  const root = command.restoreRoot;
  const quarantine = await client.listQuarantine({ projectId }, io.signal !== undefined ? { signal: io.signal } : {});
  const matches = quarantine.entries.filter((entry) => entry.originalRoot === root);
  if (matches.length !== 1) {
    io.stderr.write(
      `packer: ${matches.length === 0 ? `nothing in quarantine came from ${root}` : `${matches.length} quarantined assets came from ${root}; name one by its asset uuid`}.\n${formatQuarantine(quarantine)}`,
    );
    return ExitCode.Blocking;
  }
  return { ...command, mutation: { ...command.mutation, asset: { assetUuid: matches[0]!.assetUuid } } };
}

/** A mutation command: preview, print, and apply exactly that preview with `--yes`. */
async function runMutation(
  client: PackerClient,
  projectId: string,
  command: ParsedCommand,
  io: CliEnvironment,
  print: Print,
): Promise<number> {
  const options = io.signal !== undefined ? { signal: io.signal } : {};
  const preview = await client.previewMutation({ projectId, mutation: command.mutation! }, options);
  // The protocol's rule: a preview with blockers is one an apply would reject.
  const blocked = preview.blockers.length > 0;
  if (!command.yes || blocked) {
    print(preview, () => `${formatPreview(preview)}\n${previewFooter(preview)}\n`);
    if (blocked && command.json)
      io.stderr.write(
        `packer: the mutation is blocked (${preview.blockers.map((issue) => issue.code).join(', ')}); nothing was changed.\n`,
      );
    return blocked ? ExitCode.Blocking : ExitCode.Success;
  }
  if (!command.json) io.stdout.write(`${formatPreview(preview)}\n`);
  // Consent is the user's (--consent), never the CLI's: without it the server rejects a preview that needs it.
  const result = await client.applyMutation(
    { projectId, previewId: preview.previewId, ...(command.consent ? { consent: true } : {}) },
    options,
  );
  if (command.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  if (result.outcome === 'applied') {
    if (!command.json)
      io.stdout.write(
        `Applied by operation ${result.operationId}: revision ${preview.baseRevision} -> ${result.revision}.\n`,
      );
    return ExitCode.Success;
  }
  io.stderr.write(
    `packer: the server rejected the mutation (operation ${result.operationId}); nothing was changed:\n${formatRejection(result)}`,
  );
  if (result.reasons.some((reason) => reason.code === 'consentRequired'))
    io.stderr.write('packer: to give that consent, run again with --yes --consent.\n');
  return ExitCode.Blocking;
}

/** `packer pack`: progress on stderr while it runs, then the summary (or every blocker) on stdout. */
async function runPack(
  client: PackerClient,
  projectId: string,
  command: ParsedCommand,
  io: CliEnvironment,
  print: Print,
): Promise<number> {
  const operation = client.packOperation(
    { projectId, ...(command.noCache ? { incremental: false } : {}) },
    { timeoutMs: PACK_TIMEOUT_MS, ...(io.signal !== undefined ? { signal: io.signal } : {}) },
  );
  const progress = command.json
    ? undefined
    : new ProgressReporter(io.stderr, (io.stderr as { isTTY?: boolean }).isTTY === true);
  try {
    for await (const event of operation.events) {
      if (event.kind === 'operation.progress') progress?.update(event.body);
    }
  } finally {
    progress?.finish();
  }
  const result = await operation.outcome;
  if (result.outcome === 'succeeded') {
    print(result, () => formatPackSummary(result));
    return ExitCode.Success;
  }
  print(result, () => formatPackFailure(result));
  io.stderr.write(
    result.outcome === 'blocked'
      ? `packer: pack blocked (${result.blockers.map((diagnostic) => diagnostic.code).join(', ')}); build/ was not changed.\n`
      : `packer: pack failed: ${result.reason ?? 'no reason given'}\n`,
  );
  return ExitCode.Blocking;
}

/** `packer events`: the retained events after `--after`, then, with `--follow`, live ones until interrupted. */
async function runEvents(
  client: PackerClient,
  projectId: string,
  command: ParsedCommand,
  io: CliEnvironment,
): Promise<number> {
  const feed = new ProjectEventFeed(client, projectId, {
    from: { afterSequence: command.after ?? 0 },
    coalesceProgress: false,
  });
  const line = (event: PackerEvent): string => (command.json ? JSON.stringify(event) : formatEventLine(event));
  await feed.start(io.signal !== undefined ? { signal: io.signal } : {});
  if (!command.follow) {
    for (const event of feed.drain()) io.stdout.write(`${line(event)}\n`);
    feed.close();
    return ExitCode.Success;
  }
  const stop = (): void => feed.close();
  io.signal?.addEventListener('abort', stop, { once: true });
  if (io.signal?.aborted === true) stop();
  try {
    for await (const event of feed) io.stdout.write(`${line(event)}\n`);
  } finally {
    io.signal?.removeEventListener('abort', stop);
  }
  return io.signal?.aborted === true ? ExitCode.Interrupted : ExitCode.Success;
}

/** How long a command that reports divergence waits for the watcher to arm, in ms. */
const WATCH_SETTLE_TIMEOUT_MS = 5_000;

/**
 * The watching state of each project, from its `watch.stateChanged` events. The server compares the disk
 * with the fingerprints of its previous run right after the watcher arms, in the same turn as the
 * `watching` (or `degraded`) event, so the commands that report divergence or write (status, reconcile,
 * mutations) wait for that event: changes made while no packer ran are then known to the server. (Its
 * check for changes made since this run's own crawl ends later, unsignalled; for a one-shot CLI that
 * window is its own few milliseconds.)
 */
/**
 * Resolves once the server reports no asset with pending format checks (they run off the server's main
 * thread after open and publish a `validation` snapshot), so a one-shot read shows their findings.
 */
async function untilValidated(client: PackerClient, projectId: string): Promise<void> {
  for (;;) {
    let wake = (): void => undefined;
    const published = new Promise<void>((resolve) => (wake = resolve));
    // Subscribed before the read, so a publish between the answer and the wait is not missed.
    const unsubscribe = client.onEvent((event) => {
      if (event.projectId === projectId && event.kind === 'snapshot.published') wake();
    });
    try {
      const status = await client.projectStatus({ projectId });
      if (status.counts.validationPending === 0) return;
      await Promise.race([published, client.exited]);
    } finally {
      unsubscribe();
    }
  }
}

class WatchStates {
  private readonly states = new Map<string, string>();
  private readonly waiters = new Set<() => void>();
  private readonly unsubscribe: () => void;

  constructor(client: PackerClient) {
    this.unsubscribe = client.onEvent((event) => {
      if (event.kind !== 'watch.stateChanged') return;
      this.states.set(event.projectId, event.body.state);
      for (const waiter of [...this.waiters]) waiter();
    });
  }

  /** Resolves once the project's watcher left `starting` (or after a deadline, or at once when it never was). */
  settled(projectId: string, openedState: string): Promise<void> {
    const done = (): boolean => (this.states.get(projectId) ?? openedState) !== 'starting';
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = (): void => {
        if (done()) finish();
      };
      const timer = setTimeout(finish, WATCH_SETTLE_TIMEOUT_MS);
      this.waiters.add(check);
    });
  }

  dispose(): void {
    this.unsubscribe();
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Draws pack progress on stderr: a bar redrawn in place on a terminal, one line per update otherwise. */
class ProgressReporter {
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly tty: boolean,
  ) {}

  update(body: {
    done: number;
    total?: number | undefined;
    unit?: string | undefined;
    message?: string | undefined;
  }): void {
    if (this.tty) {
      const columns = (this.out as { columns?: number }).columns ?? 80;
      const text = `pack ${formatProgress(body, 24)}`;
      this.out.write(`\r${text.length >= columns ? text.slice(0, columns - 1) : text}\u001b[K`);
      this.drawn = true;
    } else {
      this.out.write(`pack: ${formatProgress(body)}\n`);
    }
  }

  /** Clears the bar, so what follows starts on a clean line. */
  finish(): void {
    if (this.drawn) this.out.write('\r\u001b[K');
    this.drawn = false;
  }
}

/** Prints an error the way a person can act on it and returns its exit code. No stack traces for expected errors. */
function reportError(error: unknown, io: CliEnvironment): number {
  // Ctrl-C also reaches the server (same process group), so after an interrupt any failure is the interrupt.
  if (error instanceof RequestCancelledError || io.signal?.aborted === true) {
    io.stderr.write('packer: interrupted.\n');
    return ExitCode.Interrupted;
  }
  if (error instanceof PackerRequestError) {
    io.stderr.write(
      `packer: the server refused ${error.method}: ${error.codeName} (${error.code}): ${error.message}\n${detailsOf(error)}`,
    );
    return ExitCode.Refused;
  }
  if (isPackerClientError(error)) {
    io.stderr.write(`packer: ${error.message}\n`);
    if (error.kind === 'refused') return ExitCode.Refused;
    return error.kind === 'state' ? ExitCode.Internal : ExitCode.ServerFailure;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  io.stderr.write(`packer: internal error (please report this):\n${text}\n`);
  return ExitCode.Internal;
}

function detailsOf(error: PackerRequestError): string {
  if (isPackerError(error, PackerErrorCodes.AssetsFolderMissing)) {
    return `Run 'packer init ${fileURLToPath(error.data.rootUri)}' to create assets/ and its registry.\n`;
  }
  if (error.code !== StandardErrorCodes.InvalidParams) return '';
  const parsed = InvalidParamsData.safeParse(error.data);
  if (!parsed.success) return '';
  return parsed.data.issues
    .map((issue) => `  ${issue.path.length > 0 ? issue.path.join('.') : '(params)'}: ${issue.message}\n`)
    .join('');
}
