/**
 * The transcript harness: replays a readable file of client messages against an in-process server and
 * renders every server message (normalised) under the client message whose answer closed it. A test
 * compares the rendering with the file; `UPDATE_TRANSCRIPTS=1` rewrites the files instead.
 *
 * File format:
 *   # comment lines and a title
 *   fixture: <folder under test/transcripts/fixtures, copied to a temp dir as the project> | none
 *   writes: <paths relative to the project that the transcript may create or change, comma separated>
 *   --> {"id":1,"method":"...","params":{...}}     a message ("jsonrpc": "2.0" is added unless present)
 *   --> raw <text>                                  a frame whose body is <text> exactly; one answer is awaited
 *   watch: fake                                     (header) projects get a watcher the transcript drives:
 *   ~~ write <path> <text> | ~~ delete <path> | ~~ move <from> <to>
 *                                                   change the project's files behind the packer's back
 *   ~~ report <path> ...                            have the watcher report paths without changing them
 *   ~~ settle                                       report those paths to the watcher and classify them now
 *   <-- ...                                         server messages (regenerated; never edit by hand)
 * Placeholders in client lines and in the rendering: ${ROOT} (the project folder), ${ROOT_URI},
 * ${TMP} and ${TMP_URI} (the temp folder holding the project), ${PROJECT_ID}.
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

interface Step {
  readonly comments: string[];
  readonly line: string;
  /** `-->` sends a message; `~~` acts on the files or the fake watcher. */
  readonly kind: 'send' | 'act';
}

interface ParsedTranscript {
  readonly header: string[];
  readonly fixture: string | null;
  readonly writes: string[];
  readonly fakeWatch: boolean;
  readonly steps: Step[];
}

/** Parses a transcript file: header, directives and the client steps. */
export function parseTranscript(text: string): ParsedTranscript {
  const lines = text.split('\n');
  const header: string[] = [];
  const steps: Step[] = [];
  let fixture: string | null = null;
  let writes: string[] = [];
  let fakeWatch = false;
  let pendingComments: string[] = [];
  let seenStep = false;
  for (const line of lines) {
    if (line.startsWith('-->') || line.startsWith('~~')) {
      seenStep = true;
      steps.push({
        comments: pendingComments,
        line: line.slice(line.startsWith('-->') ? 3 : 2).trim(),
        kind: line.startsWith('-->') ? 'send' : 'act',
      });
      pendingComments = [];
    } else if (!seenStep) {
      if (line.startsWith('watch:')) fakeWatch = line.slice('watch:'.length).trim() === 'fake';
      if (line.startsWith('fixture:')) fixture = line.slice('fixture:'.length).trim();
      if (line.startsWith('writes:'))
        writes = line
          .slice('writes:'.length)
          .split(',')
          .map((path) => path.trim())
          .filter(Boolean);
      header.push(line);
    } else if (line.startsWith('#')) {
      pendingComments.push(line);
    }
  }
  while (header.length > 0 && header[header.length - 1] === '') header.pop();
  if (fixture === 'none') fixture = null;
  return { header, fixture, writes, fakeWatch, steps };
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
}

/** Options of a run. */
export interface RunOptions {
  readonly fixturesDir: string;
  /** How long to wait for one answer. */
  readonly timeoutMs?: number;
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
  const host = new PackerHost({
    epoch: TRANSCRIPT_EPOCH,
    now: () => FIXED_TIME,
    newUuid: () => `00000000-0000-4000-8000-${String(++uuids).padStart(8, '0')}ffff`,
    watcher: parsed.fakeWatch ? fakeWatcher : null,
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
  let consumed = 0;
  const flush = (): void => {
    for (; consumed < received.length; consumed++) {
      const message = received[consumed]!;
      validate(message, methodsById, problems);
      const { jsonrpc: _jsonrpc, ...rest } = normalise(message) as Record<string, unknown>;
      out.push(`<-- ${JSON.stringify(rest, null, 2)}`);
    }
  };
  const quiesce = async (): Promise<void> => {
    await Promise.all(host.list().map((project) => project.watch.ready));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  };
  try {
    for (const step of parsed.steps) {
      out.push(...step.comments);
      if (step.kind === 'act') {
        out.push(`~~ ${step.line}`);
        await act(step.line, root, changedPaths);
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
        input.write(frame(substitute(step.line.slice(4))));
        await waitFor(
          () => received.some((reply, index) => index >= consumed && !('method' in reply)),
          'the answer to a raw frame',
        );
        flush();
        continue;
      }
      const message = JSON.parse(substitute(step.line)) as Record<string, unknown>;
      const full = 'jsonrpc' in message ? message : { jsonrpc: '2.0', ...message };
      input.write(frame(JSON.stringify(full)));
      if (typeof full['method'] === 'string' && 'id' in full) {
        methodsById.set(full['id'], full['method']);
        const id = full['id'];
        await waitFor(
          () => received.some((reply, index) => index >= consumed && reply['id'] === id && !('method' in reply)),
          `the answer to ${String(full['method'])} (id ${JSON.stringify(id)})`,
        );
        if (parsed.fakeWatch) await quiesce();
        flush();
      } else if (full['method'] === 'exit') {
        await waitFor(() => exitCode !== undefined, 'the server to exit');
        flush();
        out.push(`<-- exit ${exitCode}`);
      }
    }
    // Let anything already on its way arrive, then render it.
    await new Promise((resolve) => setImmediate(resolve));
    flush();
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
  return { rendered: `${out.join('\n')}\n`, problems };
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
