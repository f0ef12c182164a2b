/**
 * What one `packer` invocation does: parse, spawn the server, open the project, run one read (or init),
 * print, stop the server, and choose the exit code. It takes its streams and environment as arguments and
 * returns the exit code, so it never exits the process itself.
 */
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvalidParamsData, PackerErrorCodes, StandardErrorCodes } from '@prometeu/packer-protocol';
import { PackerRequestError, RequestCancelledError, isPackerClientError, isPackerError } from '../errors.js';
import { PackerClient } from '../packer-client.js';
import { bundledServerScript } from '../server-location.js';
import { ExitCode, parseCommandLine, type ParsedCommand } from './args.js';
import { doctorSummary, formatAssetDetails, formatAssetList, formatDoctor, formatInit, formatStatus } from './format.js';

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
/** How long one read may take before the server counts as hung, in ms. */
const REQUEST_TIMEOUT_MS = 120_000;
/** How long `shutdown` and the exit may take before the server is killed, in ms. */
const SHUTDOWN_TIMEOUT_MS = 5_000;

const require = createRequire(import.meta.url);

/** The CLI's own version, from its package.json. */
export function cliVersion(): string {
  return (require('../../package.json') as { version: string }).version;
}

/** The server to run: `PACKER_SERVER`, else the bin script of the installed `@prometeu/packer-server`. */
export function locateServer(env: NodeJS.ProcessEnv): string {
  const override = env['PACKER_SERVER'];
  if (override !== undefined && override.length > 0) return override;
  return bundledServerScript();
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

async function execute(client: PackerClient, command: ParsedCommand, projectDir: string, io: CliEnvironment): Promise<number> {
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
  const { projectId } = await client.openProject({ rootUri }, options);
  switch (command.command) {
    case 'status': {
      const status = await client.projectStatus({ projectId }, options);
      print(status, () => formatStatus(status));
      return ExitCode.Success;
    }
    case 'list': {
      const list = await client.listAssets({ projectId }, options);
      print(list, () => formatAssetList(list));
      return ExitCode.Success;
    }
    case 'show': {
      const details = await client.getAssetDetails({ projectId, asset: command.asset! }, options);
      print(details, () => formatAssetDetails(details));
      return ExitCode.Success;
    }
    case 'doctor': {
      const result = await client.doctor({ projectId, scope: command.workspace ? 'workspace' : 'registered' }, options);
      print(result, () => formatDoctor(result));
      if (result.summary.blocking > 0) {
        if (command.json) io.stderr.write(`packer: ${doctorSummary(result)}\n`);
        return ExitCode.Blocking;
      }
      return ExitCode.Success;
    }
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
    io.stderr.write(`packer: the server refused ${error.method}: ${error.codeName} (${error.code}): ${error.message}\n${detailsOf(error)}`);
    return ExitCode.Refused;
  }
  if (isPackerClientError(error)) {
    io.stderr.write(`packer: ${error.message}\n`);
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
  return parsed.data.issues.map((issue) => `  ${issue.path.length > 0 ? issue.path.join('.') : '(params)'}: ${issue.message}\n`).join('');
}
