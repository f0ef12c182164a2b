/**
 * Command-line parsing of the `packer` CLI and its help texts. Parsing never throws: it returns the command
 * to run, a help request, or a usage error with the text to print.
 */
import { parseArgs } from 'node:util';
import type { AssetReference, MutationIntent } from '@prometeu/packer-protocol';
import type { CreateRequest } from './draft.js';

/** The commands that preview a mutation and apply it with `--yes`. */
export type MutationCommandName =
  | 'create'
  | 'register'
  | 'adopt'
  | 'forget'
  | 'remove'
  | 'quarantine'
  | 'restore'
  | 'relocate'
  | 'rename'
  | 'include'
  | 'exclude'
  | 'fix';

/** The commands of the CLI. */
export type CommandName =
  | 'status'
  | 'list'
  | 'show'
  | 'doctor'
  | 'init'
  | MutationCommandName
  | 'reconcile'
  | 'pack'
  | 'events'
  /** `packer quarantine` or `packer quarantine list`: what is in quarantine. */
  | 'quarantineList';

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
  /** Mutation commands: the intent to preview (and apply with `yes`). */
  readonly mutation: MutationIntent | undefined;
  /** Mutation commands: apply after the preview. */
  readonly yes: boolean;
  /** Mutation commands with `yes`: send `consent: true` with the apply. Never implied by `yes`. */
  readonly consent: boolean;
  /** `list`: the server-side filter to ask for (empty: every asset). */
  readonly listFilter: ListFilter;
  /** `pack --no-cache`: materialise every asset instead of reusing cached payloads. */
  readonly noCache: boolean;
  /** `events --after N`: start after this sequence. */
  readonly after: number | undefined;
  /** `events --follow`: keep printing live events until interrupted. */
  readonly follow: boolean;
  /**
   * `restore <root>`: the original root of the quarantined asset to restore; the CLI finds its uuid with
   * `packer/listQuarantine` (the mutation's `assetUuid` is filled in then).
   */
  readonly restoreRoot?: string;
  /**
   * `create <type> <root>`: what to create. The declaration is drafted from the asset types the server
   * advertises in `initialize`, once it runs, and becomes the `createAsset` mutation then.
   */
  readonly create?: CreateRequest;
}

/** The `packer/listAssets` filter `list` can ask for. */
export interface ListFilter {
  readonly registered?: boolean;
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
  /** `doctor` found blocking diagnostics; a mutation was blocked or rejected; a pack was blocked or failed. */
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

const MUTATION_COMMANDS: readonly MutationCommandName[] = [
  'create',
  'register',
  'adopt',
  'forget',
  'remove',
  'quarantine',
  'restore',
  'relocate',
  'rename',
  'include',
  'exclude',
  'fix',
];
const COMMANDS: readonly CommandName[] = [
  'status',
  'list',
  'show',
  'doctor',
  'init',
  ...MUTATION_COMMANDS,
  'reconcile',
  'pack',
  'events',
];

/** Whether a command previews and applies a mutation. */
export function isMutationCommand(command: CommandName): command is MutationCommandName {
  return (MUTATION_COMMANDS as readonly string[]).includes(command);
}

/** The top-level help. */
export const MAIN_HELP = `Usage: packer <command> [options] [PROJECT_DIR]

Works on a Prometeu project through the packer server. PROJECT_DIR is the folder
holding assets/; it defaults to the current directory.

Reading:
  status                 state (ready or diverged), revision, changes found on disk,
                         watching, writer lane and counts
  list                   every asset: id, name, type, root, registered, in build, worst severity
                         (--registered, --unregistered: only those)
  show <asset>           one asset, named by asset id (12), asset uuid or root path (ui/hero)
  doctor                 diagnostics of the registered assets (--workspace: of everything)
  events                 the event log of this server run (--after N, --follow)

Changing the workspace (each prints its preview; --yes applies it):
  init                   create assets/.prometeu/index.json (and assets/) when absent
  create <type> <root>   write a new asset root with its asset.json (--name N, --register)
  register <root>        give an unregistered asset root an asset id
  adopt <root>           register a root that comes from elsewhere, repairing its identity
  forget <asset>         drop the registry entry; the files stay
  remove <asset>         delete the root's files and its entry (needs consent)
  quarantine <asset>     move the root into packer-owned quarantine (needs consent)
  quarantine [list]      what is in quarantine: uuid, name, type, original root, when
  restore <uuid|root>    bring a quarantined root back (--to <root>: somewhere else)
  relocate <asset> <to>  move the root; id and uuid stay (needs consent)
  rename <asset> <name>  change the name in asset.json
  include <asset>        include a registered asset in the build
  exclude <asset>        exclude a registered asset from the build
  fix <fixId>            apply a safe fix that doctor or show offers
  reconcile              accept what changed on disk into a new revision and print the difference

Building:
  pack                   write build/assets.pa and its companions from the registered assets

Browsing:
  ui                     serve the packer panel on 127.0.0.1 and open it (--port N, --no-open)

Options:
  --json           print the server's result as JSON on stdout
  -y, --yes        mutations: apply after the preview
  --consent        mutations, with --yes: give the consent a destructive or relocating
                   mutation needs (without it the server rejects such an apply)
  --name <N>       create only: the asset's name (default: the root's last folder)
  --register       create only: also register the new root
  --registered     list only: only registered assets (--unregistered: only the others)
  --to <root>      restore only: where to put the root back
  --no-cache       pack only: materialise every asset instead of reusing cached payloads
  --after <N>      events only: start after sequence N
  --follow         events only: keep printing events until interrupted
  --workspace      doctor only: also run the hygiene checks of the whole workspace
  -h, --help       show help; 'packer <command> --help' for one command
  --version        print the CLI version

Exit codes:
  0    success (for a mutation without --yes: the preview was printed and nothing blocks it)
  1    doctor found blocking diagnostics; a mutation is blocked or was rejected (for
       example for want of --consent); a pack was blocked or failed
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

/** The part every mutation command's help shares. */
const PREVIEW_THEN_APPLY = `It prints the preview first: the operation class, blockers, warnings, registry
changes, filesystem changes (paths relative to assets/) and whether consent is
needed. Without --yes nothing is changed: it exits 0, or 1 when the preview is
blocked. With --yes it applies exactly that preview (the server re-checks its
premises and refuses it if the project changed in a way that matters); it exits
0 when applied and 1 when rejected, printing the server's reasons. A preview
that needs consent is applied only with --yes --consent: --yes alone sends no
consent, so the server rejects it (consentRequired). --json prints the preview
(without --yes) or the apply result (with --yes).
`;

/** `<asset>` explained once. */
const ASSET_OPERAND = '<asset> is an asset id (12), an asset uuid, or a root path relative to assets/\n(ui/hero).\n';

const COMMAND_HELP: Readonly<Record<CommandName, string>> = {
  status: `Usage: packer status [--json] [PROJECT_DIR]

Shows the project's state (ready, or diverged when files changed on disk behind
the packer's back), revision, the changed paths with their kind (added, changed,
removed, moved), how the workspace is watched, the writer lane and counts.
`,
  list: `Usage: packer list [--registered | --unregistered] [--json] [PROJECT_DIR]

Lists every asset root and registry entry: registered assets by id, then the others by root.
--registered and --unregistered ask the server for only those. The footer gives the
project's counts as packer/projectStatus reports them (the whole project, whatever
the filter), with the revision they were read at.
`,
  show: `Usage: packer show <asset> [--json] [PROJECT_DIR]

Shows one asset: its declaration, inputs and their state, output, files and diagnostics.
A diagnostic with a safe fix ends with [fix <fixId>: what it does]; 'packer fix <fixId>'
previews it and --yes applies it.
${ASSET_OPERAND}`,
  doctor: `Usage: packer doctor [--workspace] [--json] [PROJECT_DIR]

Reports diagnostics with their code, severity, blocking flag, path and message,
grouped by root (with the asset id when the diagnostic carries one). By default
only the registered assets are checked; --workspace adds the hygiene checks of
the whole workspace (unregistered roots, stray and duplicate files). A diagnostic
with a safe fix ends with [fix <fixId>: what it does]; 'packer fix <fixId>' applies
it. The summary line is the server's. Exits with 1 when the server counts any
diagnostic that blocks a pack.
`,
  init: `Usage: packer init [--json] [PROJECT_DIR]

Creates assets/.prometeu/index.json (and assets/ when absent). An existing valid
registry is left alone; an invalid one is reported, never overwritten.
`,
  create: `Usage: packer create <type> <root> [--name <N>] [--register] [--yes] [--json] [PROJECT_DIR]

Writes a new asset root <root> (relative to assets/) with an asset.json of type
<type> (one the server advertises, such as blob, glyph_bank or sound_bank; an
unknown one is refused with the server's list): the output format and first codec
the server gives the type, no inputs, preload off, and the name <N> (default: the root's last folder). The
server gives it its asset_uuid and schema_version; with --register it also gets
the next asset id. Add the input files and list them in asset.json afterwards:
the asset's diagnostics say which inputs its format needs.

${PREVIEW_THEN_APPLY}`,
  register: `Usage: packer register <root> [--yes] [--json] [PROJECT_DIR]

Registers the unregistered asset root <root> (a folder with an asset.json,
relative to assets/): it gets the next asset id. Edits only the registry.

${PREVIEW_THEN_APPLY}`,
  adopt: `Usage: packer adopt <root> [--yes] [--json] [PROJECT_DIR]

Registers a root that comes from elsewhere (another project, a backup), checking
its identity: an asset_uuid that is missing or collides with another asset's is
replaced in its asset.json.

${PREVIEW_THEN_APPLY}`,
  forget: `Usage: packer forget <asset> [--yes] [--json] [PROJECT_DIR]

Drops the asset's registry entry; its files stay where they are (it becomes an
unregistered root).
${ASSET_OPERAND}
${PREVIEW_THEN_APPLY}`,
  remove: `Usage: packer remove <asset> [--yes [--consent]] [--json] [PROJECT_DIR]

Deletes the asset root's files and its registry entry. Destructive: it needs
consent (--yes --consent).
${ASSET_OPERAND}
${PREVIEW_THEN_APPLY}`,
  quarantineList: `Usage: packer quarantine list [--json] [PROJECT_DIR]
       packer quarantine            (the project in the current directory)

Lists the assets in packer-owned quarantine: asset uuid, name, type, the root it
had, when it was quarantined, and its asset id. 'packer restore <uuid|root>' brings
one back.`,
  quarantine: `Usage: packer quarantine <asset> [--yes [--consent]] [--json] [PROJECT_DIR]
       packer quarantine list [--json] [PROJECT_DIR]

Moves the asset root into packer-owned quarantine (assets/.prometeu/quarantine)
and drops its entry, reversibly: 'packer restore <assetUuid>' brings it back.
Needs consent (--yes --consent).
${ASSET_OPERAND}
${PREVIEW_THEN_APPLY}`,
  restore: `Usage: packer restore <assetUuid|originalRoot> [--to <root>] [--yes [--consent]] [--json] [PROJECT_DIR]

Brings a quarantined asset back, with its asset id, to where it was or to <root>.
Name it by its asset uuid or by the root it had ('packer quarantine' lists both).
Needs consent (--yes --consent).

${PREVIEW_THEN_APPLY}`,
  relocate: `Usage: packer relocate <asset> <to> [--yes [--consent]] [--json] [PROJECT_DIR]

Moves the asset root to <to> (relative to assets/); its asset id and asset uuid
stay and the registry follows. Needs consent (--yes --consent).
${ASSET_OPERAND}
${PREVIEW_THEN_APPLY}`,
  rename: `Usage: packer rename <asset> <name> [--yes] [--json] [PROJECT_DIR]

Changes the asset's name in its asset.json; identity stays.
${ASSET_OPERAND}
${PREVIEW_THEN_APPLY}`,
  include: `Usage: packer include <asset> [--yes] [--json] [PROJECT_DIR]

Includes a registered asset in the build.
${ASSET_OPERAND}
${PREVIEW_THEN_APPLY}`,
  exclude: `Usage: packer exclude <asset> [--yes] [--json] [PROJECT_DIR]

Excludes a registered asset from the build; it keeps its id.
${ASSET_OPERAND}
${PREVIEW_THEN_APPLY}`,
  fix: `Usage: packer fix <fixId> [--yes [--consent]] [--json] [PROJECT_DIR]

Applies a safe fix the server offers: 'packer doctor' and 'packer show' print each
diagnostic's fix as [fix <fixId>: what it does], for example
unregistered-root:ui/hero (register the root) or moved-root:3 (relocate entry #3
to where its folder went). The preview shows what the fix does; the server looks
the fix up again when it applies it.

${PREVIEW_THEN_APPLY}`,
  reconcile: `Usage: packer reconcile [--json] [PROJECT_DIR]

Accepts the disk's current truth into a new revision: prints the changes found on
disk that it accepted and what changed between the two snapshots (roots added,
removed, moved, changed). The registry is never edited: a moved or vanished root
becomes a diagnostic with a fix ('packer doctor' shows it).
`,
  pack: `Usage: packer pack [--no-cache] [--json] [PROJECT_DIR]

Packs the registered, included assets into build/assets.pa, asset_table.json,
preload.json and asset_table_metadata.json. Progress goes to stderr (a bar on a
terminal, lines otherwise); then a summary goes to stdout: the assets with id,
name, bank type, offset, size and whether they came from the cache, and the
artifacts with size and sha256. --json prints the raw result only.
Exits 0 when packed, 1 when blocked (every blocking diagnostic is printed:
code, root, message) or failed because the disk changed during the pack; in both
cases build/ is left as it was.
`,
  events: `Usage: packer events [--after <N>] [--follow] [--json] [PROJECT_DIR]

Prints the project's events of this server run after sequence N (default 0):
sequence, kind, operation and a summary; --json prints one JSON event per line.
--follow keeps printing live events (for example the divergence the watcher
finds while you edit files) until interrupted.
`,
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads an asset reference: a positive integer is an id, a UUID is a uuid, anything else a root path. */
export function parseAssetReference(text: string): AssetReference {
  if (/^[0-9]+$/.test(text)) return { assetId: Number(text) };
  if (UUID.test(text)) return { assetUuid: text.toLowerCase() };
  // Accept Windows separators, a leading ./ and a trailing slash; the server checks the rest.
  return { root: normalizeRoot(text) };
}

/** Normalises a root path given on the command line: Windows separators, a leading ./ and a trailing slash. */
export function normalizeRoot(text: string): string {
  const root = text
    .replace(/\\/g, '/')
    .replace(/^(?:\.\/)+/, '')
    .replace(/\/+$/, '');
  return root.length > 0 ? root : text;
}

function usageError(message: string, command?: CommandName): ParsedArgs {
  return {
    kind: 'usageError',
    message,
    helpHint: command !== undefined ? `Run 'packer ${command} --help' for usage.` : "Run 'packer --help' for usage.",
  };
}

/** How many operands (before PROJECT_DIR) each command takes, and what they are called. */
const OPERANDS: Readonly<Partial<Record<CommandName, readonly string[]>>> = {
  show: ['<asset>'],
  create: ['<type>', '<root>'],
  fix: ['<fixId>'],
  register: ['<root>'],
  adopt: ['<root>'],
  forget: ['<asset>'],
  remove: ['<asset>'],
  quarantine: ['<asset>'],
  restore: ['<assetUuid|originalRoot>'],
  relocate: ['<asset>', '<to>'],
  rename: ['<asset>', '<name>'],
  include: ['<asset>'],
  exclude: ['<asset>'],
};

/** Builds the intent of a mutation command from its operands, or says what is wrong with them. */
function mutationOf(
  command: MutationCommandName,
  operands: readonly string[],
  options: { readonly to: string | undefined; readonly name: string | undefined; readonly register: boolean },
): MutationIntent | string | undefined {
  const [first = '', second = ''] = operands;
  const { to } = options;
  switch (command) {
    case 'create':
      // Drafted by the run from the server's asset types; see `ParsedCommand.create`.
      return undefined;
    case 'fix':
      return { kind: 'applySafeFix', fixId: first };
    case 'register':
    case 'adopt':
      return { kind: command, root: normalizeRoot(first) };
    case 'forget':
    case 'remove':
    case 'quarantine':
      return { kind: command, asset: parseAssetReference(first) };
    case 'include':
    case 'exclude':
      return { kind: 'setBuildInclusion', asset: parseAssetReference(first), included: command === 'include' };
    case 'restore':
      // An original root is looked up in the quarantine by the run; its uuid replaces the empty one.
      return {
        kind: 'restore',
        asset: { assetUuid: UUID.test(first) ? first.toLowerCase() : '' },
        ...(to !== undefined ? { to: normalizeRoot(to) } : {}),
      };
    case 'relocate':
      return { kind: 'relocate', asset: parseAssetReference(first), to: normalizeRoot(second) };
    case 'rename':
      return { kind: 'rename', asset: parseAssetReference(first), name: second };
  }
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
        yes: { type: 'boolean', short: 'y' },
        consent: { type: 'boolean' },
        name: { type: 'string' },
        register: { type: 'boolean' },
        registered: { type: 'boolean' },
        unregistered: { type: 'boolean' },
        to: { type: 'string' },
        'no-cache': { type: 'boolean' },
        after: { type: 'string' },
        follow: { type: 'boolean' },
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
    if (first === 'help')
      return {
        kind: 'help',
        text:
          rest[0] !== undefined && COMMANDS.includes(rest[0] as CommandName)
            ? COMMAND_HELP[rest[0] as CommandName]
            : MAIN_HELP,
      };
    return usageError(`Unknown command '${first}'. Commands: ${COMMANDS.join(', ')}.`);
  }
  if (values.help === true) return { kind: 'help', text: COMMAND_HELP[command] };
  if (values.version === true) return usageError('--version takes no command.', command);
  // `packer quarantine` and `packer quarantine list` list the quarantine; `packer quarantine <asset>` quarantines.
  if (command === 'quarantine' && (rest.length === 0 || rest[0] === 'list')) {
    const extra = Object.entries(values).find(([name, value]) => name !== 'json' && value !== undefined);
    if (extra !== undefined) return usageError(`--${extra[0]} does not apply to quarantine list.`, command);
    if (rest.length > 2) return usageError(`Too many arguments: '${rest.slice(2).join("' '")}'.`, command);
    return {
      kind: 'command',
      command: 'quarantineList',
      projectDir: rest[1] ?? '.',
      json: values.json === true,
      workspace: false,
      asset: undefined,
      mutation: undefined,
      yes: false,
      consent: false,
      noCache: false,
      after: undefined,
      follow: false,
      listFilter: {},
    };
  }
  if (values.workspace === true && command !== 'doctor')
    return usageError('--workspace applies only to doctor.', command);
  if (values.yes === true && !isMutationCommand(command))
    return usageError(
      '--yes applies only to the commands that change the workspace (register, remove, relocate...).',
      command,
    );
  if (values.consent === true && !isMutationCommand(command))
    return usageError('--consent applies only to the commands that change the workspace, with --yes.', command);
  if (values.consent === true && values.yes !== true)
    return usageError(
      '--consent goes with --yes: it is given with the apply (without --yes nothing is applied).',
      command,
    );
  if ((values.name !== undefined || values.register === true) && command !== 'create')
    return usageError(`${values.name !== undefined ? '--name' : '--register'} applies only to create.`, command);
  if (values.name !== undefined && values.name.length === 0) return usageError('--name must not be empty.', command);
  if ((values.registered === true || values.unregistered === true) && command !== 'list')
    return usageError(
      `${values.registered === true ? '--registered' : '--unregistered'} applies only to list.`,
      command,
    );
  if (values.registered === true && values.unregistered === true)
    return usageError('--registered and --unregistered exclude each other.', command);
  if (values.to !== undefined && command !== 'restore')
    return usageError('--to applies only to restore (relocate takes its destination as an argument).', command);
  if (values['no-cache'] === true && command !== 'pack') return usageError('--no-cache applies only to pack.', command);
  if ((values.after !== undefined || values.follow === true) && command !== 'events')
    return usageError(`${values.after !== undefined ? '--after' : '--follow'} applies only to events.`, command);
  let after: number | undefined;
  if (values.after !== undefined) {
    if (!/^[0-9]+$/.test(values.after))
      return usageError(`--after needs a sequence number (0 or more), not '${values.after}'.`, command);
    after = Number(values.after);
  }
  if (values.to !== undefined && values.to.length === 0) return usageError('--to must not be empty.', command);
  const names = OPERANDS[command] ?? [];
  if (rest.length < names.length)
    return usageError(`${command} needs ${names.join(' ')}; missing ${names.slice(rest.length).join(' ')}.`, command);
  const operands = rest.slice(0, names.length);
  const emptyAt = operands.findIndex((operand) => operand.length === 0);
  if (emptyAt >= 0) return usageError(`${names[emptyAt]} must not be empty.`, command);
  const remaining = rest.slice(names.length);
  if (remaining.length > 1)
    return usageError(
      `Too many arguments: ${remaining
        .slice(1)
        .map((arg) => `'${arg}'`)
        .join(' ')}.`,
      command,
    );
  const projectDir = remaining[0] ?? '.';
  if (projectDir.length === 0) return usageError('PROJECT_DIR must not be empty.', command);
  let mutation: MutationIntent | undefined;
  if (isMutationCommand(command)) {
    const built = mutationOf(command, operands, {
      to: values.to,
      name: values.name,
      register: values.register === true,
    });
    if (typeof built === 'string') return usageError(built, command);
    mutation = built;
  }
  return {
    kind: 'command',
    command,
    projectDir,
    json: values.json === true,
    workspace: values.workspace === true,
    asset: command === 'show' ? parseAssetReference(operands[0]!) : undefined,
    mutation,
    yes: values.yes === true,
    consent: values.consent === true,
    listFilter:
      values.registered === true ? { registered: true } : values.unregistered === true ? { registered: false } : {},
    noCache: values['no-cache'] === true,
    after,
    follow: values.follow === true,
    ...(command === 'restore' && !UUID.test(operands[0]!) ? { restoreRoot: normalizeRoot(operands[0]!) } : {}),
    ...(command === 'create'
      ? {
          create: {
            type: operands[0]!,
            root: normalizeRoot(operands[1]!),
            name: values.name,
            register: values.register === true,
          },
        }
      : {}),
  };
}
