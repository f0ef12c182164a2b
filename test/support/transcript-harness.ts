/**
 * The transcript harness: replays a transcript (a readable file of client messages) against an in-process
 * server and renders every server message, normalised and compact, under the client step whose answer
 * closed it. A test compares the rendering with the file; `UPDATE_TRANSCRIPTS=1` rewrites the files instead,
 * regenerating only the `<--` lines.
 *
 * File format (see test/transcripts/README.md):
 *   # title                                         the first line; the test is named after it
 *   fixture: <folder under test/transcripts/fixtures, copied to a temp dir as the project> | none
 *   writes: <paths relative to the project that the transcript may create or change, comma separated>
 *   watch: fake                                     projects get a watcher the transcript drives (see ~~)
 *   load: held                                      every project load waits, while `loading`, for ~~ release load
 *                                                   (the header ends at the first blank line)
 *   # comment / blank line                          kept where they are: they belong to the next step (or
 *                                                   to the end of the file), so an update keeps them
 *   --> initialize                                  the standard handshake: initialize (id 1) with the project
 *                                                   folder as the one workspace folder, then initialized; the
 *                                                   reply is checked against test/transcripts/initialize-reply.json
 *   --> initialize folders=none                     the same without workspace folders
 *   --> initialize no-initialized                   the same without the initialized notification
 *   --> {"id":1,"method":"...","params":{...}}      a message ("jsonrpc": "2.0" is added unless present)
 *   --> raw <text>                                  a frame whose body is <text> exactly; one answer is awaited
 *   --> async {"id":2,...}                          a request whose answer is not awaited (it renders when it
 *                                                   comes); with `load: held`, the step waits until a load is held
 *   ~~ write <path> <text> | ~~ delete <path> | ~~ move <from> <to>
 *                                                   change the project's files behind the packer's back
 *   ~~ report <path> ...                            have the watcher report paths without changing them
 *   ~~ settle                                       report those paths to the watcher and classify them now
 *   ~~ release load                                 let the held loads go on (header `load: held`)
 *   <-- ...                                         server messages (regenerated; never edit by hand)
 * Server messages are rendered as:
 *   <-- {"id":2,"result":...}                       compact JSON on one line when it fits in 200 characters,
 *                                                   else laid out over lines, each member on one line if it fits
 *   <-- event <sequence> <operationId|-> <kind> <body>   a packer/event of the project with the transcript's
 *                                                   epoch and clock (any other event is rendered as JSON)
 *   (same as #2) / (same as #2.preview) / (same as event 5.outcome)
 *                                                   inside a message: a value (longer than 60 characters) equal
 *                                                   to the result of the answer with id 2, a part of it, or a
 *                                                   part of event 5's body, written out earlier; no JSON value
 *                                                   looks like this, so nothing is ambiguous
 *   <-- #1 initialize-reply + {"projects":[...]}    the answer to the `initialize` directive: the shared reply
 *                                                   plus the projects it opened
 *   <-- exit <code>                                 the server exited
 * Placeholders in client lines and in the rendering: ${ROOT} (the project folder), ${ROOT_URI},
 * ${TMP} and ${TMP_URI} (the temp folder holding the project), ${PROJECT_ID}. Durations in messages render
 * as `in <n> ms`. Every server message is still validated against its schema, and a write to the project
 * that `writes:` does not declare fails the transcript.
 */
import { createHash } from 'node:crypto';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { PackerEvent, packerRequests } from '@prometeu/packer-protocol';
import { PackerHost, projectIdOf } from '../../server/src/index.js';
import { serveConnection } from '../../server/src/transport/connection.js';
import type { WatcherFactory, WatchListener } from '../../server/src/watch/watcher.js';

/** Fixed clock and epoch, so renderings do not depend on when they ran. */
export const TRANSCRIPT_EPOCH = 'transcript-epoch';
const FIXED_TIME = new Date('2026-01-01T00:00:00.000Z');

/** A message is rendered on one line up to this width (with its `<-- `), and laid out over lines beyond. */
const ONE_LINE_WIDTH = 200;
/** Inside a laid-out message, a member stays on one line up to this width. */
const NESTED_WIDTH = 120;
/** A repeated answer is rendered as a reference only when writing it out would take more than this. */
const REFERENCE_MIN_LENGTH = 60;

interface Step {
  /** Comment and blank lines written before the step; rendered again in front of it. */
  readonly leadIn: string[];
  readonly line: string;
  /** `-->` sends a message (or runs the `initialize` directive); `~~` acts on the files or the fake watcher. */
  readonly kind: 'send' | 'act';
}

interface ParsedTranscript {
  readonly header: string[];
  readonly fixture: string | null;
  readonly writes: string[];
  readonly fakeWatch: boolean;
  /** Whether project loads wait for `~~ release load`. */
  readonly holdLoad: boolean;
  readonly steps: Step[];
  /** Comment lines after the last step. */
  readonly trailer: string[];
}

/** Parses a transcript file: header, directives, the client steps and the comments around them. */
export function parseTranscript(text: string): ParsedTranscript {
  const lines = text.split('\n');
  const header: string[] = [];
  const steps: Step[] = [];
  let fixture: string | null = null;
  let writes: string[] = [];
  let fakeWatch = false;
  let holdLoad = false;
  let pending: string[] = [];
  let inHeader = true;
  for (const line of lines) {
    if (line.startsWith('-->') || line.startsWith('~~')) {
      inHeader = false;
      steps.push({
        leadIn: pending,
        line: line.slice(line.startsWith('-->') ? 3 : 2).trim(),
        kind: line.startsWith('-->') ? 'send' : 'act',
      });
      pending = [];
    } else if (inHeader) {
      // The header ends at the first blank line; comments after it belong to the first step.
      if (line.trim() === '') {
        inHeader = false;
        continue;
      }
      if (line.startsWith('watch:')) fakeWatch = line.slice('watch:'.length).trim() === 'fake';
      if (line.startsWith('load:')) holdLoad = line.slice('load:'.length).trim() === 'held';
      if (line.startsWith('fixture:')) fixture = line.slice('fixture:'.length).trim();
      if (line.startsWith('writes:'))
        writes = line
          .slice('writes:'.length)
          .split(',')
          .map((path) => path.trim())
          .filter(Boolean);
      header.push(line);
    } else if (line.startsWith('#') || line.trim() === '') {
      // Everything else after the header is a server message or its continuation: regenerated.
      pending.push(line);
    }
  }
  while (pending.length > 0 && pending[pending.length - 1]!.trim() === '') pending.pop();
  if (fixture === 'none') fixture = null;
  return { header, fixture, writes, fakeWatch, holdLoad, steps, trailer: pending };
}

/** JSON with object keys sorted, so two values compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'object' && inner !== null && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

/** Names earlier values by canonical form, so that a later equal value renders as `(same as <name>)`. */
type References = ReadonlyMap<string, string>;

/**
 * Lays a JSON value out: on one line when `prefix` plus the value fits in `width`, otherwise one member
 * per line (indented by two more spaces), each laid out the same way within NESTED_WIDTH. A container
 * equal to a value named in `references` is written as `(same as <name>)`, which no JSON value can be.
 */
function layout(value: unknown, indent: string, prefixLength: number, width: number, references: References): string {
  const one = JSON.stringify(value);
  const isContainer = typeof value === 'object' && value !== null;
  if (!isContainer) return one;
  if (one.length > REFERENCE_MIN_LENGTH) {
    const name = references.get(canonical(value));
    if (name !== undefined) return `(same as ${name})`;
  }
  if (prefixLength + one.length <= width && !containsReference(value, references)) return one;
  const inner = `${indent}  `;
  const members = Array.isArray(value)
    ? value.map((item) => inner + layout(item, inner, inner.length + 1, NESTED_WIDTH, references))
    : Object.entries(value).map(([key, item]) => {
        const label = `${inner}${JSON.stringify(key)}: `;
        return label + layout(item, inner, label.length + 1, NESTED_WIDTH, references);
      });
  if (members.length === 0) return one;
  if (members.every((member) => !member.includes('\n'))) {
    // Short enough once references replace repeated parts: keep it on one line.
    const flat = Array.isArray(value)
      ? `[${members.map((member) => member.trim()).join(',')}]`
      : `{${members.map((member) => member.trim().replace(/^("(?:[^"\\]|\\.)*"): /, '$1:')).join(',')}}`;
    if (prefixLength + flat.length <= width) return flat;
  }
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return `${open}\n${members.join(',\n')}\n${indent}${close}`;
}

/** Whether some container inside `value` would be written as a reference. */
function containsReference(value: unknown, references: References): boolean {
  if (typeof value !== 'object' || value === null || references.size === 0) return false;
  for (const inner of Object.values(value)) {
    if (typeof inner !== 'object' || inner === null) continue;
    if (JSON.stringify(inner).length > REFERENCE_MIN_LENGTH && references.has(canonical(inner))) return true;
    if (containsReference(inner, references)) return true;
  }
  return false;
}

/** Renders `<-- <head> <value>` within the widths above. */
function renderLine(head: string, value: unknown, references: References = new Map()): string {
  const prefix = `<-- ${head}${head === '' ? '' : ' '}`;
  return prefix + layout(value, '', prefix.length, ONE_LINE_WIDTH, references);
}

/** How a path into a value is written in a reference: `.key`, `["odd key"]` or `[index]`. */
function pathStep(key: string, isIndex: boolean): string {
  if (isIndex) return `[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Renders server messages. The result of every answer with a numeric id is named `#<id>` and the body of
 * every short event `event <sequence>`, and so are their parts (`#2.preview`, `event 5.outcome`); a later
 * value equal to a named one (and long enough to be worth it) is written as a reference to the first.
 */
class Renderer {
  /** Canonical form → name of the first value rendered with that form. */
  private readonly names = new Map<string, string>();
  /** Name roots already used; a root used twice (a repeated id) names nothing from then on. */
  private readonly roots = new Set<string>();

  render(message: Record<string, unknown>): string {
    const event = this.event(message);
    if (event !== undefined) return event;
    const line = renderLine('', message, this.names);
    const id = message['id'];
    if (typeof id === 'number' && !('method' in message) && 'result' in message) this.name(`#${id}`, message['result']);
    return line;
  }

  /** The short form of a packer/event, when every field it leaves out has its usual value. */
  private event(message: Record<string, unknown>): string | undefined {
    const params = message['params'] as Record<string, unknown> | undefined;
    if (message['method'] !== 'packer/event' || Object.keys(message).length !== 2 || typeof params !== 'object')
      return undefined;
    const { projectId, epoch, sequence, operationId, time, kind, body, ...others } = params;
    const usual =
      projectId === '${PROJECT_ID}' &&
      epoch === TRANSCRIPT_EPOCH &&
      time === FIXED_TIME.toISOString() &&
      typeof sequence === 'number' &&
      typeof kind === 'string' &&
      !/\s/.test(kind) &&
      (operationId === undefined ||
        (typeof operationId === 'string' && operationId !== '-' && !/\s/.test(operationId))) &&
      body !== undefined &&
      Object.keys(others).length === 0 &&
      Object.values(params).every((inner) => inner !== undefined);
    if (!usual) return undefined;
    const line = renderLine(`event ${sequence} ${operationId ?? '-'} ${kind}`, body, this.names);
    this.name(`event ${sequence}`, body);
    return line;
  }

  /** Names `value` and every container inside it that has no name yet. */
  private name(root: string, value: unknown): void {
    if (this.roots.has(root)) {
      for (const [form, name] of this.names)
        if (name === root || name.startsWith(`${root}.`) || name.startsWith(`${root}[`)) this.names.delete(form);
      return;
    }
    this.roots.add(root);
    const walk = (inner: unknown, name: string): void => {
      if (typeof inner !== 'object' || inner === null) return;
      const form = canonical(inner);
      if (form.length > REFERENCE_MIN_LENGTH && !this.names.has(form)) this.names.set(form, name);
      for (const [key, member] of Object.entries(inner)) walk(member, name + pathStep(key, Array.isArray(inner)));
    };
    walk(value, root);
  }
}

/** The `initialize` directive: its request, and whether `initialized` follows it. */
function initializeDirective(line: string): { request: Record<string, unknown>; initialized: boolean } {
  const options = new Set(line.slice('initialize'.length).trim().split(/\s+/).filter(Boolean));
  const noFolders = options.delete('folders=none');
  const initialized = !options.delete('no-initialized');
  if (options.size > 0) throw new Error(`Unknown option of the initialize directive: --> ${line}`);
  const params = noFolders
    ? { processId: null, capabilities: {} }
    : { processId: null, capabilities: {}, workspaceFolders: [{ uri: '${ROOT_URI}', name: 'game' }] };
  return { request: { jsonrpc: '2.0', id: 1, method: 'initialize', params }, initialized };
}

function frame(body: string): string {
  return `Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`;
}

/** Splits LSP frames out of a byte stream. */
class FrameParser {
  private buffer = Buffer.alloc(0);
  constructor(private readonly onMessage: (message: unknown) => void) {}
  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buffer.subarray(0, headerEnd).toString('ascii');
      const match = /Content-Length: (\d+)/i.exec(header);
      if (!match) throw new Error(`Server wrote a frame without Content-Length: ${header}`);
      const length = Number(match[1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      this.onMessage(JSON.parse(body));
    }
  }
}

function treeDigest(root: string): Map<string, string> {
  const digest = new Map<string, string>();
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile())
        digest.set(relative(root, path), createHash('sha256').update(readFileSync(path)).digest('hex'));
      else digest.set(relative(root, path), entry.isSymbolicLink() ? 'symlink' : 'other');
    }
  };
  walk(root);
  return digest;
}

/** What a run produced. */
export interface TranscriptRun {
  readonly rendered: string;
  /** Problems that fail the test whatever the rendering: schema violations, unexpected writes, timeouts. */
  readonly problems: string[];
  /** Every server message, normalised and without `jsonrpc`, in the order it arrived (`exit` as `{exit}`). */
  readonly received: unknown[];
  /** Every client message sent, normalised, in order (a raw frame as `{raw}`). */
  readonly sent: unknown[];
}

/** Options of a run. */
export interface RunOptions {
  readonly fixturesDir: string;
  /** The result of the standard `initialize` answer without its `projects`; the directive checks against it. */
  readonly initializeReply: unknown;
  /** How long to wait for one answer. */
  readonly timeoutMs?: number;
}

/** Reads the shared initialize reply kept next to the transcripts. */
export function readInitializeReply(transcriptsDir: string): unknown {
  return JSON.parse(readFileSync(join(transcriptsDir, 'initialize-reply.json'), 'utf8'));
}

/** Runs a transcript and renders what the server said. */
export async function runTranscript(text: string, options: RunOptions): Promise<TranscriptRun> {
  const parsed = parseTranscript(text);
  const problems: string[] = [];
  const temporary = realpathSync(mkdtempSync(join(tmpdir(), 'packer-transcript-')));
  const root = join(temporary, 'project');
  if (parsed.fixture !== null) cpSync(join(options.fixturesDir, parsed.fixture), root, { recursive: true });
  else mkdirSync(root);
  const before = treeDigest(root);
  const places: [string, string][] = [
    [pathToFileURL(root).href, '${ROOT_URI}'],
    [pathToFileURL(temporary).href, '${TMP_URI}'],
    [root, '${ROOT}'],
    [temporary, '${TMP}'],
    [projectIdOf(root), '${PROJECT_ID}'],
    // Documentation links (LSP codeDescription) point into the checkout, wherever it is.
    [new URL('../../', import.meta.url).href.replace(/\/$/, ''), '${REPO_URI}'],
  ];
  const substitute = (line: string): string => {
    let result = line;
    for (const [value, placeholder] of places) result = result.split(placeholder).join(value);
    return result;
  };
  const normalise = (value: unknown): unknown => {
    if (typeof value === 'string') {
      let result = value;
      for (const [actual, placeholder] of places) result = result.split(actual).join(placeholder);
      // Durations in trace messages vary from run to run.
      return result.replace(/ in \d+(\.\d+)? ms/g, ' in <n> ms');
    }
    if (Array.isArray(value)) return value.map(normalise);
    if (typeof value === 'object' && value !== null) {
      const copy: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(value)) copy[key] = normalise(inner);
      return copy;
    }
    return value;
  };

  const input = new PassThrough();
  const output = new PassThrough();
  const received: Record<string, unknown>[] = [];
  const rendered: unknown[] = [];
  const sent: unknown[] = [];
  let exitCode: number | undefined;
  const waiters: (() => void)[] = [];
  const wake = (): void => {
    for (const waiter of waiters.splice(0)) waiter();
  };
  const parser = new FrameParser((message) => {
    received.push(message as Record<string, unknown>);
    wake();
  });
  output.on('data', (chunk: Buffer) => parser.push(chunk));
  let uuids = 0;
  const watchListeners: WatchListener[] = [];
  const fakeWatcher: WatcherFactory = async (_assetsDir, listener) => {
    watchListeners.push(listener);
    return { backend: 'none', close: async () => undefined };
  };
  const changedPaths = new Set<string>();
  /** With `load: held`: how many loads reached the hold, and what lets them go on. */
  let loadsHeld = 0;
  let loadsReleased = !parsed.holdLoad;
  let openGate: () => void = () => undefined;
  const loadGate = new Promise<void>((resolve) => (openGate = resolve));
  const releaseLoads = (): void => {
    loadsReleased = true;
    openGate();
  };
  const host = new PackerHost({
    epoch: TRANSCRIPT_EPOCH,
    now: () => FIXED_TIME,
    newUuid: () => `00000000-0000-4000-8000-${String(++uuids).padStart(8, '0')}ffff`,
    watcher: parsed.fakeWatch ? fakeWatcher : null,
    ...(parsed.holdLoad
      ? {
          beforeLoad: () => {
            loadsHeld++;
            wake();
            return loadGate;
          },
        }
      : {}),
  });
  const served = serveConnection({
    input,
    output,
    host,
    onExit: (code) => ((exitCode = code), wake()),
    log: () => undefined,
    isProcessAlive: () => true,
  });

  const methodsById = new Map<unknown, string>();
  const waitFor = async (condition: () => boolean, what: string): Promise<boolean> => {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    while (!condition()) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        problems.push(`Timed out waiting for ${what}`);
        return false;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
    return true;
  };

  const out: string[] = [...parsed.header, ''];
  const renderer = new Renderer();
  /** Id of the `initialize` directive's request while its answer is awaited; its answer renders short. */
  let directiveId: unknown;
  let consumed = 0;
  const flush = (): void => {
    for (; consumed < received.length; consumed++) {
      const message = received[consumed]!;
      validate(message, methodsById, problems);
      const { jsonrpc: _jsonrpc, ...rest } = normalise(message) as Record<string, unknown>;
      rendered.push(rest);
      if (directiveId !== undefined && rest['id'] === directiveId && !('method' in rest)) {
        directiveId = undefined;
        out.push(renderInitializeAnswer(rest, options.initializeReply, problems) ?? renderer.render(rest));
      } else out.push(renderer.render(rest));
    }
  };
  const quiesce = async (): Promise<void> => {
    await Promise.all(host.list().map((project) => project.watch.ready));
    await validated();
  };
  /**
   * Waits until every project's format validation has published its results (it runs asynchronously after
   * each change), so that its `snapshot.published` event always lands under the step that caused it.
   */
  const validated = async (): Promise<void> => {
    // A load held on purpose is not waited for: the transcript shows what happens meanwhile.
    const settling = host.list().filter((project) => loadsReleased || !project.loading);
    await Promise.all(settling.map((project) => project.validationSettled()));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  };
  /** Sends one message and waits for its answer (or for the exit it causes), unless `later`. */
  const send = async (full: Record<string, unknown>, later = false): Promise<void> => {
    sent.push(normalise(full));
    input.write(frame(JSON.stringify(full)));
    if (later) {
      methodsById.set(full['id'], full['method'] as string);
      const held = loadsHeld;
      if (parsed.holdLoad) await waitFor(() => loadsHeld > held || held > 0, 'a project load to be held');
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      flush();
      return;
    }
    if (typeof full['method'] === 'string' && 'id' in full) {
      methodsById.set(full['id'], full['method']);
      const id = full['id'];
      await waitFor(
        () => received.some((reply, index) => index >= consumed && reply['id'] === id && !('method' in reply)),
        `the answer to ${String(full['method'])} (id ${JSON.stringify(id)})`,
      );
      if (parsed.fakeWatch) await quiesce();
      else await validated();
      flush();
    } else if (full['method'] === 'exit') {
      await waitFor(() => exitCode !== undefined, 'the server to exit');
      flush();
      out.push(`<-- exit ${exitCode}`);
      rendered.push({ exit: exitCode });
    }
  };
  try {
    for (const step of parsed.steps) {
      out.push(...step.leadIn);
      if (step.kind === 'act') {
        out.push(`~~ ${step.line}`);
        if (step.line === 'release load') releaseLoads();
        else await act(step.line, root, changedPaths);
        if (step.line === 'settle') {
          const paths = [...changedPaths];
          changedPaths.clear();
          for (const listener of watchListeners) listener.onChanges(paths);
          await Promise.all(host.list().map((project) => project.watch.tracker.settle()));
          await Promise.all(host.list().map((project) => project.lane.whenIdle()));
        }
        await quiesce();
        flush();
        continue;
      }
      out.push(`--> ${step.line}`);
      if (step.line.startsWith('raw ')) {
        // A raw frame is answered by exactly one response (an error for malformed ones).
        sent.push({ raw: step.line.slice(4) });
        input.write(frame(substitute(step.line.slice(4))));
        await waitFor(
          () => received.some((reply, index) => index >= consumed && !('method' in reply)),
          'the answer to a raw frame',
        );
        flush();
        continue;
      }
      if (step.line === 'initialize' || step.line.startsWith('initialize ')) {
        const directive = initializeDirective(step.line);
        const request = JSON.parse(substitute(JSON.stringify(directive.request))) as Record<string, unknown>;
        directiveId = request['id'];
        await send(request);
        directiveId = undefined;
        if (directive.initialized) await send({ jsonrpc: '2.0', method: 'initialized', params: {} });
        continue;
      }
      const later = step.line.startsWith('async ');
      const message = JSON.parse(substitute(later ? step.line.slice('async '.length) : step.line)) as Record<
        string,
        unknown
      >;
      await send('jsonrpc' in message ? message : { jsonrpc: '2.0', ...message }, later);
    }
    // Let anything already on its way arrive, then render it.
    await new Promise((resolve) => setImmediate(resolve));
    flush();
    if (parsed.trailer.length > 0) out.push('', ...parsed.trailer);
  } finally {
    served.dispose();
    host.dispose();
    const after = treeDigest(root);
    // Control data the packer keeps for itself (cache, fingerprints) is not a write to the user's files;
    // the registry is, and must be declared.
    for (const digest of [before, after])
      for (const path of [...digest.keys()])
        if (path.startsWith('assets/.prometeu/') && path !== 'assets/.prometeu/index.json') digest.delete(path);
    const allowed = new Set(parsed.writes);
    for (const [path, hash] of after)
      if (before.get(path) !== hash && !allowed.has(path))
        problems.push(`The server wrote ${path}, which the transcript does not allow (add it to "writes:")`);
    for (const path of before.keys())
      if (!after.has(path) && !allowed.has(path))
        problems.push(`The server deleted ${path}, which the transcript does not allow`);
    rmSync(temporary, { recursive: true, force: true });
  }
  return { rendered: `${out.join('\n')}\n`, problems, received: rendered, sent };
}

/**
 * Renders the answer to the `initialize` directive as the shared reply plus its projects, or returns
 * undefined (and records a problem) when the answer is anything else.
 */
function renderInitializeAnswer(
  message: Record<string, unknown>,
  expected: unknown,
  problems: string[],
): string | undefined {
  const result = message['result'];
  if (typeof result === 'object' && result !== null && Object.keys(message).length === 2) {
    const { projects, ...shared } = result as Record<string, unknown>;
    if (canonical(shared) === canonical(expected))
      return renderLine(`#${String(message['id'])} initialize-reply +`, projects === undefined ? {} : { projects });
  }
  problems.push(
    'The answer to the initialize directive differs from test/transcripts/initialize-reply.json ' +
      '(if the change is deliberate, edit that file): ' +
      JSON.stringify(message),
  );
  return undefined;
}

/** Performs a `~~` file action on the project, recording the paths (relative to `assets/`) it touched. */
async function act(line: string, root: string, changed: Set<string>): Promise<void> {
  const [verb, first, ...rest] = line.split(' ');
  const inAssets = (path: string): string => {
    if (!path.startsWith('assets/'))
      throw new Error(`~~ paths are relative to the project and must be under assets/: ${path}`);
    return path.slice('assets/'.length);
  };
  switch (verb) {
    case 'settle':
      return;
    case 'report':
      // The watcher reports paths without the transcript changing them (as it does for the packer's own writes).
      for (const path of [first!, ...rest]) changed.add(inAssets(path));
      return;
    case 'write':
      mkdirSync(dirname(join(root, first!)), { recursive: true });
      writeFileSync(join(root, first!), `${rest.join(' ')}\n`);
      changed.add(inAssets(first!));
      return;
    case 'delete':
      rmSync(join(root, first!), { recursive: true, force: true });
      changed.add(inAssets(first!));
      return;
    case 'move':
      mkdirSync(dirname(join(root, rest[0]!)), { recursive: true });
      renameSync(join(root, first!), join(root, rest[0]!));
      changed.add(inAssets(first!));
      changed.add(inAssets(rest[0]!));
      return;
    default:
      throw new Error(`Unknown action ~~ ${line}`);
  }
}

/** Checks a server message against the protocol schemas. */
function validate(message: Record<string, unknown>, methodsById: Map<unknown, string>, problems: string[]): void {
  if (message['method'] === 'packer/event') {
    const parsed = PackerEvent.safeParse(message['params']);
    if (!parsed.success) problems.push(`packer/event does not match its schema: ${parsed.error.message}`);
    return;
  }
  if ('id' in message && 'result' in message) {
    const method = methodsById.get(message['id']);
    const declaration = Object.values(packerRequests).find((candidate) => candidate.method === method);
    if (declaration) {
      const parsed = declaration.result.safeParse(message['result']);
      if (!parsed.success) problems.push(`The result of ${method} does not match its schema: ${parsed.error.message}`);
    }
  }
}

/** Reads every `.transcript` file below a folder. */
export function findTranscripts(folder: string): string[] {
  const found: string[] = [];
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory() && entry.name !== 'fixtures') walk(path);
      else if (entry.isFile() && entry.name.endsWith('.transcript')) found.push(path);
    }
  };
  if (statSync(folder, { throwIfNoEntry: false })?.isDirectory()) walk(folder);
  return found.sort();
}
