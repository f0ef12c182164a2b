/**
 * Command-line parsing of the `packer` CLI and its help texts. Parsing never throws: it returns the command
 * to run, a help request, or a usage error with the text to print.
 */
import { parseArgs } from 'node:util';
import type { AssetReference } from '@prometeu/packer-protocol';

/** The commands of the CLI. */
export type CommandName = 'status' | 'list' | 'show' | 'doctor' | 'init';

/** A command ready to run. */
export interface ParsedCommand {
  readonly kind: 'command';
  readonly command: CommandName;
  /** The project folder as given (relative to the working directory), or '.'. */
  readonly projectDir: string;
  /** Print the raw result as JSON. */
  readonly json: boolean;
  /** `doctor` scope: the whole workspace instead of the registered assets. */
  readonly workspace: boolean;
  /** `show`: the asset to show. */
  readonly asset: AssetReference | undefined;
}

/** What parsing produced. */
export type ParsedArgs =
  | ParsedCommand
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'usageError'; readonly message: string; readonly helpHint: string };

/** The process exit codes, documented in `packer --help`. */
export const ExitCode = {
  /** The command succeeded. */
  Success: 0,
  /** `doctor` found blocking diagnostics. */
  Blocking: 1,
  /** The command line is wrong. */
  Usage: 2,
  /** The server refused the request. */
  Refused: 3,
  /** The server crashed, hung, broke the protocol or could not be started. */
  ServerFailure: 4,
  /** The CLI was interrupted (Ctrl-C). */
  Interrupted: 130,
  /** A bug in the CLI itself. */
  Internal: 70,
} as const;

const COMMANDS: readonly CommandName[] = ['status', 'list', 'show', 'doctor', 'init'];

/** The top-level help. */
export const MAIN_HELP = `Usage: packer <command> [options] [PROJECT_DIR]

Inspect a Prometeu project through the packer server. PROJECT_DIR is the folder
holding assets/; it defaults to the current directory.

Commands:
  status           the project's state, revision and counts
  list             every asset: id, name, type, root, registered, in build, worst severity
  show <asset>     one asset, named by asset id (12), asset uuid or root path (ui/hero)
  doctor           diagnostics of the registered assets (--workspace: of everything)
  init             create assets/.prometeu/index.json (and assets/) when absent

Options:
  --json           print the server's result as JSON on stdout
  --workspace      doctor only: also run the hygiene checks of the whole workspace
  -h, --help       show help; 'packer <command> --help' for one command
  --version        print the CLI version

Exit codes:
  0    success
  1    doctor found blocking diagnostics
  2    usage error
  3    the server refused the request (its error code, name and message go to stderr)
  4    the server crashed, hung (no answer within the timeout), broke the protocol,
       or could not be started
  70   internal error in the CLI (a bug: please report it)
  130  interrupted

Environment:
  PACKER_SERVER    the server to run (a .js script or an executable) instead of
                   the bundled @prometeu/packer-server
`;

const COMMAND_HELP: Readonly<Record<CommandName, string>> = {
  status: `Usage: packer status [--json] [PROJECT_DIR]

Shows the project's state, revision, divergence from the disk, writer lane and counts.
`,
  list: `Usage: packer list [--json] [PROJECT_DIR]

Lists every asset root and registry entry: registered assets by id, then the others by root.
`,
  show: `Usage: packer show <asset> [--json] [PROJECT_DIR]

Shows one asset: its declaration, inputs and their state, output, files and diagnostics.
<asset> is an asset id (12), an asset uuid, or a root path relative to assets/ (ui/hero).
`,
  doctor: `Usage: packer doctor [--workspace] [--json] [PROJECT_DIR]

Reports diagnostics with their code, severity, blocking flag, path and message.
By default only the registered assets are checked; --workspace adds the hygiene
checks of the whole workspace (unregistered roots, stray and duplicate files).
Exits with 1 when any diagnostic blocks a pack.
`,
  init: `Usage: packer init [--json] [PROJECT_DIR]

Creates assets/.prometeu/index.json (and assets/ when absent). An existing valid
registry is left alone; an invalid one is reported, never overwritten.
`,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads an asset reference: a positive integer is an id, a UUID is a uuid, anything else a root path. */
export function parseAssetReference(text: string): AssetReference {
  if (/^[0-9]+$/.test(text)) return { assetId: Number(text) };
  if (UUID.test(text)) return { assetUuid: text.toLowerCase() };
  // Accept Windows separators, a leading ./ and a trailing slash; the server checks the rest.
  const root = text.replace(/\\/g, '/').replace(/^(?:\.\/)+/, '').replace(/\/+$/, '');
  return { root: root.length > 0 ? root : text };
}

function usageError(message: string, command?: CommandName): ParsedArgs {
  return { kind: 'usageError', message, helpHint: command !== undefined ? `Run 'packer ${command} --help' for usage.` : "Run 'packer --help' for usage." };
}

/** Parses the arguments after `packer`. */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        json: { type: 'boolean' },
        workspace: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const first = argv.find((arg) => !arg.startsWith('-'));
    const command = COMMANDS.find((name) => name === first);
    return usageError((error as Error).message, command);
  }
  const { values, positionals } = parsed;
  const [first, ...rest] = positionals;
  if (first === undefined) {
    if (values.version === true) return { kind: 'version' };
    if (values.help === true) return { kind: 'help', text: MAIN_HELP };
    return usageError('Missing command.');
  }
  const command = COMMANDS.find((name) => name === first);
  if (command === undefined) {
    if (first === 'help') return { kind: 'help', text: rest[0] !== undefined && COMMANDS.includes(rest[0] as CommandName) ? COMMAND_HELP[rest[0] as CommandName] : MAIN_HELP };
    return usageError(`Unknown command '${first}'. Commands: ${COMMANDS.join(', ')}.`);
  }
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP[command] };
  if (values.version === true) return usageError('--version takes no command.', command);
  if (values.workspace === true && command !== 'doctor') return usageError('--workspace applies only to doctor.', command);
  let asset: AssetReference | undefined;
  let operands = rest;
  if (command === 'show') {
    const [reference, ...others] = rest;
    if (reference === undefined || reference.length === 0) return usageError('show needs an asset: an asset id, an asset uuid or a root path.', command);
    asset = parseAssetReference(reference);
    operands = others;
  }
  if (operands.length > 1) return usageError(`Too many arguments: ${operands.slice(1).map((arg) => `'${arg}'`).join(' ')}.`, command);
  const projectDir = operands[0] ?? '.';
  if (projectDir.length === 0) return usageError('PROJECT_DIR must not be empty.', command);
  return { kind: 'command', command, projectDir, json: values.json === true, workspace: values.workspace === true, asset };
}
