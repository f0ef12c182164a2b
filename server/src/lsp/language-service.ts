/**
 * The standard LSP surface of one connection: the text documents an editor has open, and the packer's
 * diagnostics published on every `asset.json` and `index.json` of the open projects, from the snapshot for
 * files on disk and from the unsaved text for open buffers (validated as the user types, debounced).
 */
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type {
  CodeAction,
  CompletionItem,
  Diagnostic as LspDiagnostic,
  DocumentLink,
  Hover,
  Position,
  Range,
  DidChangeTextDocumentParams,
  DidCloseTextDocumentParams,
  DidOpenTextDocumentParams,
  PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol';
import { REGISTRY_PATH } from '../domain/registry.js';
import { MAX_DIAGNOSTICS_DELAY_MS, type Diagnostic } from '@prometeu/packer-protocol';
import type { AssetRecord, Snapshot } from '../domain/snapshot.js';
import type { PackerHost } from '../host.js';
import { readRegistryText } from '../project/loader.js';
import type { Project } from '../project/project.js';
import {
  anchorPath,
  declarationDiagnostics,
  locateDiagnostics,
  ownDiagnostics,
  recordsWithDiagnosticsByRoot,
  registryDiagnostics,
  registryOwnDiagnostics,
  type UriOf,
} from './file-diagnostics.js';
import { codeActions, completion, documentLinks, hover } from './features.js';
import { LastPacks, lastPackLines } from './last-pack.js';
import { declarationRecords, withRegistryText } from './overlay.js';

/** What the service needs from its connection. */
export interface LanguageServiceOptions {
  readonly host: PackerHost;
  /** Sends `textDocument/publishDiagnostics`. */
  readonly publish: (params: PublishDiagnosticsParams) => void;
  /**
   * How long typing must pause before an open buffer is validated, in ms (0 validates on every change;
   * undefined is the default of 150 ms; a longer one than `MAX_DIAGNOSTICS_DELAY_MS` waits that long). Asked at
   * each change, so `initialize` can set it after creation.
   */
  readonly debounceMs?: () => number | undefined;
}

/** Which packer file a document is. */
export type PackerFile =
  | { readonly project: Project; readonly kind: 'declaration'; readonly root: string; readonly assetsPath: string }
  | { readonly project: Project; readonly kind: 'registry'; readonly assetsPath: string };

/** An open document and what was last published for it. */
interface OpenDocument {
  /** The URI exactly as the client spelled it; publications use it. */
  readonly clientUri: string;
  document: TextDocument;
  timer: NodeJS.Timeout | undefined;
  /** Invariant: the version of the last publication for this document; an older one is never sent after it. */
  publishedVersion: number;
}

/** What was last published for the files of one project. */
interface ProjectState {
  /**
   * Invariant: the diagnostics last sent, by normalised URI, for files not open; only non-empty ones. An
   * array is never changed once stored, so the same array means the same diagnostics.
   */
  readonly sent: Map<string, Sent>;
  /** The disk state of each file with diagnostics, by normalised URI: what an open buffer returns to on close. */
  disk: Map<string, LspDiagnostic[]>;
  /** The disk diagnostics last located for each root, reused while its text and its own diagnostics are the same. */
  readonly located: Map<string, Located>;
}

/** Diagnostics sent for one file, with their JSON once a comparison needed it. */
interface Sent {
  readonly diagnostics: readonly LspDiagnostic[];
  json?: string;
}

/** The LSP diagnostics of one `asset.json` as located in its text, and the packer diagnostics they came from. */
interface Located {
  /** The records the diagnostics came from; records are immutable, so the same records mean the same diagnostics. */
  readonly records: readonly AssetRecord[];
  readonly text: string;
  readonly own: readonly Diagnostic[];
  /** `own` as JSON, computed the first time a new record has to be compared with it. */
  ownJson?: string;
  readonly diagnostics: LspDiagnostic[];
}

/** Whether two publications carry the same diagnostics: the same array, else the same JSON. */
function sameDiagnostics(sent: Sent, diagnostics: readonly LspDiagnostic[]): boolean {
  if (sent.diagnostics === diagnostics) return true;
  sent.json ??= JSON.stringify(sent.diagnostics);
  return sent.json === JSON.stringify(diagnostics);
}

/** A path segment that `pathToFileURL` leaves as it is. */
const PLAIN_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Whether a relative path's `file:` URI is the base URI, a slash and the path as it is (nothing to escape or resolve). */
function isPlainPath(assetsPath: string): boolean {
  for (const segment of assetsPath.split('/'))
    if (segment === '.' || segment === '..' || !PLAIN_SEGMENT.test(segment)) return false;
  return true;
}

/**
 * The URIs of the files of one `assets/` folder, spelt as `pathToFileURL` spells them: a plain path (the
 * usual case) is appended to the folder's URI, anything else goes through `pathToFileURL`.
 */
export function uriMaker(assetsDir: string): UriOf {
  const base = pathToFileURL(assetsDir).href;
  const prefix = base.endsWith('/') ? base : `${base}/`;
  return (assetsPath) =>
    isPlainPath(assetsPath) ? prefix + assetsPath : pathToFileURL(join(assetsDir, ...assetsPath.split('/'))).href;
}

/** The normalised form of a `file:` URI (how the server spells it), or undefined for other schemes. */
function normalise(uri: string): string | undefined {
  try {
    return pathToFileURL(fileURLToPath(uri)).href;
  } catch {
    return undefined;
  }
}

/** Serves the standard text-document surface of one connection. */
export class LanguageService {
  private readonly host: PackerHost;
  private readonly publishRaw: (params: PublishDiagnosticsParams) => void;
  private readonly delay: () => number | undefined;
  /**
   * Invariant: the debounce the client last set through `workspace/didChangeConfiguration`, which wins over
   * `initialize`'s `diagnosticsDelayMs`; undefined until it sets one.
   */
  private configuredDelay: number | undefined;
  /** Invariant: every document the client has open, by normalised URI. */
  private readonly documents = new Map<string, OpenDocument>();
  /** Invariant: by project id, what this connection published for it. */
  private readonly states = new Map<string, ProjectState>();
  /** What each project's `build/` holds, for hovers. */
  private readonly lastPacks = new LastPacks();
  /** Stops listening to the host's events. */
  private readonly unsubscribe: () => void;
  /** How each project's files are named as URIs, made once per project. */
  private readonly uris = new Map<string, UriOf>();
  /** Whether the client takes diagnostics for files it has not opened (it declared `publishDiagnostics`). */
  private wholeWorkspace = false;
  private disposed = false;

  constructor(options: LanguageServiceOptions) {
    this.host = options.host;
    this.publishRaw = options.publish;
    this.delay = options.debounceMs ?? (() => undefined);
    // A pack this process finished marks build/ as this run's, so its revision compares with the snapshot's.
    this.unsubscribe = this.host.subscribe((event) => {
      if (event.kind !== 'operation.succeeded' || event.body.operation !== 'pack') return;
      const project = this.host.list().find((candidate) => candidate.id === event.projectId);
      if (project !== undefined) this.lastPacks.packed(project.fs);
    });
  }

  /** Starts publishing for every file of every open project; called once the client is initialized. */
  start(wholeWorkspace: boolean): void {
    this.wholeWorkspace = wholeWorkspace;
    for (const project of this.host.list()) this.refresh(project);
  }

  /** Which packer file `uri` is, in which open project; undefined for any other file. */
  classify(uri: string): PackerFile | undefined {
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch {
      return undefined;
    }
    for (const project of this.host.list()) {
      const inside = relative(project.assetsDir, path);
      if (inside === '' || inside.startsWith('..') || inside.startsWith(sep) || inside.includes('\0')) continue;
      const assetsPath = inside.split(sep).join('/');
      if (assetsPath === REGISTRY_PATH) return { project, kind: 'registry', assetsPath };
      if (assetsPath.startsWith('.prometeu/')) return undefined;
      if (assetsPath.endsWith('/asset.json'))
        return { project, kind: 'declaration', root: assetsPath.slice(0, -'/asset.json'.length), assetsPath };
      return undefined;
    }
    return undefined;
  }

  /** The open document at `uri`, if any. */
  document(uri: string): TextDocument | undefined {
    const key = normalise(uri);
    return key === undefined ? undefined : this.documents.get(key)?.document;
  }

  didOpen(params: DidOpenTextDocumentParams): void {
    const key = normalise(params.textDocument.uri);
    if (key === undefined) return;
    const { uri, languageId, version, text } = params.textDocument;
    this.cancel(key);
    this.documents.set(key, {
      clientUri: uri,
      document: TextDocument.create(uri, languageId, version, text),
      timer: undefined,
      publishedVersion: Number.NEGATIVE_INFINITY,
    });
    this.validate(key);
  }

  /**
   * Sets how long typing must pause before an open document is validated, in ms (0 validates every change),
   * as `workspace/didChangeConfiguration` asks: it applies from the next change, and a validation already
   * waiting keeps its time.
   */
  setDiagnosticsDelay(ms: number): void {
    this.configuredDelay = ms;
  }

  didChange(params: DidChangeTextDocumentParams): void {
    const key = normalise(params.textDocument.uri);
    const open = key === undefined ? undefined : this.documents.get(key);
    if (key === undefined || open === undefined) return;
    open.document = TextDocument.update(open.document, params.contentChanges, params.textDocument.version);
    // Never beyond the documented maximum (the entry points enforce it): Node runs a longer timer at once.
    const delay = Math.min(this.configuredDelay ?? this.delay() ?? 150, MAX_DIAGNOSTICS_DELAY_MS);
    if (open.timer !== undefined) clearTimeout(open.timer);
    open.timer = undefined;
    if (delay <= 0) {
      this.validate(key);
      return;
    }
    open.timer = setTimeout(() => {
      open.timer = undefined;
      this.validate(key);
    }, delay);
  }

  didClose(params: DidCloseTextDocumentParams): void {
    const key = normalise(params.textDocument.uri);
    const open = key === undefined ? undefined : this.documents.get(key);
    if (key === undefined || open === undefined) return;
    this.cancel(key);
    this.documents.delete(key);
    // Back to what the disk says (as the snapshot knows it), or nothing for files the client never asked about.
    const file = this.classify(key);
    const disk = file === undefined ? undefined : this.states.get(file.project.id)?.disk.get(key);
    const diagnostics = this.wholeWorkspace ? (disk ?? []) : [];
    this.publishRaw({ uri: open.clientUri, diagnostics });
    if (file !== undefined && diagnostics.length > 0) this.states.get(file.project.id)?.sent.set(key, { diagnostics });
  }

  /** Publishes again for `project` after its snapshot changed: files on disk, then the open buffers. */
  refresh(project: Project): void {
    if (this.disposed) return;
    const snapshot = project.snapshot();
    const state: ProjectState = this.states.get(project.id) ?? { sent: new Map(), disk: new Map(), located: new Map() };
    this.states.set(project.id, state);
    // A client that takes diagnostics only for the documents it opens (Studio, the CLI, a bare client) never
    // sees the disk's: they are not worked out for it.
    const disk = this.wholeWorkspace
      ? this.diskDiagnostics(project, snapshot, state.located)
      : new Map<string, LspDiagnostic[]>();
    state.disk = disk;
    if (this.wholeWorkspace) {
      for (const [uri, diagnostics] of disk) {
        if (this.documents.has(uri)) continue;
        const sent = state.sent.get(uri);
        if (sent !== undefined && sameDiagnostics(sent, diagnostics)) continue;
        state.sent.set(uri, { diagnostics });
        this.publishRaw({ uri, diagnostics });
      }
      for (const uri of [...state.sent.keys()]) {
        if (disk.has(uri) || this.documents.has(uri)) continue;
        state.sent.delete(uri);
        this.publishRaw({ uri, diagnostics: [] });
      }
    }
    for (const [key, open] of this.documents)
      if (open.timer === undefined && this.classify(key)?.project === project) this.validate(key);
  }

  /** Clears everything published for a project that closed (or whose folder left the workspace). */
  forget(projectId: string): void {
    const state = this.states.get(projectId);
    if (state === undefined) return;
    this.states.delete(projectId);
    this.uris.delete(projectId);
    for (const uri of state.sent.keys()) if (!this.documents.has(uri)) this.publishRaw({ uri, diagnostics: [] });
    for (const [key, open] of this.documents) {
      if (this.classify(key) !== undefined) continue;
      this.cancel(key);
      open.publishedVersion = open.document.version;
      this.publishRaw({ uri: open.clientUri, version: open.document.version, diagnostics: [] });
    }
  }

  /** The document at `uri` as the client sees it: its open buffer, else the text on disk the snapshot read. */
  private view(uri: string): { file: PackerFile; document: TextDocument } | undefined {
    const file = this.classify(uri);
    if (file === undefined) return undefined;
    const key = normalise(uri);
    const open = key === undefined ? undefined : this.documents.get(key);
    if (open !== undefined) return { file, document: open.document };
    const text =
      file.kind === 'declaration'
        ? file.project.snapshot().parsedAnchors.get(file.root)?.text
        : readRegistryText(file.project.assetsDir).text;
    return typeof text === 'string' ? { file, document: TextDocument.create(uri, 'json', 0, text) } : undefined;
  }

  /**
   * `textDocument/hover` on an `asset.json`: identity and inputs, from the buffer where it is open, and
   * the last packed entry from `build/` (read once per change of its files, see `LastPacks`).
   */
  hover(uri: string, position: Position): Hover | null {
    const view = this.view(uri);
    if (view?.file.kind !== 'declaration') return null;
    const { file, document } = view;
    const snapshot = file.project.snapshot();
    const records = declarationRecords(snapshot, file.root, document.getText());
    const record = records[0];
    const packed =
      record === undefined
        ? []
        : lastPackLines(
            record,
            this.lastPacks.get(file.project.fs),
            snapshot.revision,
            snapshot.parsedAnchors.get(file.root)?.text,
          );
    return hover(document, records, position, packed);
  }

  /** `textDocument/completion` in an `asset.json`. */
  completion(uri: string, position: Position): CompletionItem[] {
    const view = this.view(uri);
    return view?.file.kind === 'declaration' ? completion(view.document, position) : [];
  }

  /** `textDocument/documentLink`: every declared input of an `asset.json`. */
  documentLinks(uri: string): DocumentLink[] {
    const view = this.view(uri);
    if (view?.file.kind !== 'declaration') return [];
    return documentLinks(view.document, view.file.root, view.file.project.assetsDir);
  }

  /** `textDocument/codeAction`: the fixes of the document's current diagnostics that touch `range`. */
  codeActions(uri: string, range: Range): CodeAction[] {
    const view = this.view(uri);
    if (view === undefined) return [];
    const diagnostics = this.bufferDiagnostics(view.file, view.document.getText());
    return codeActions(view.document, diagnostics, range, view.file.project.snapshot(), view.file.project.id);
  }

  /** Stops the timers; nothing is published afterwards. */
  dispose(): void {
    this.disposed = true;
    this.unsubscribe();
    for (const key of this.documents.keys()) this.cancel(key);
  }

  private cancel(key: string): void {
    const open = this.documents.get(key);
    if (open?.timer !== undefined) clearTimeout(open.timer);
    if (open !== undefined) open.timer = undefined;
  }

  /** Validates an open buffer from its current text and publishes the result with its version. */
  private validate(key: string): void {
    const open = this.documents.get(key);
    if (this.disposed || open === undefined) return;
    const file = this.classify(key);
    const { version } = open.document;
    // A result is computed from the newest text, synchronously; a version older than one published is dropped.
    if (version < open.publishedVersion) return;
    const diagnostics = file === undefined ? [] : this.bufferDiagnostics(file, open.document.getText());
    open.publishedVersion = version;
    this.publishRaw({ uri: open.clientUri, version, diagnostics });
  }

  private uriOf(project: Project): UriOf {
    let uriOf = this.uris.get(project.id);
    if (uriOf === undefined) this.uris.set(project.id, (uriOf = uriMaker(project.assetsDir)));
    return uriOf;
  }

  /** The diagnostics of an open buffer: the project's snapshot with this one file's text replaced. */
  private bufferDiagnostics(file: PackerFile, text: string): LspDiagnostic[] {
    const snapshot = file.project.snapshot();
    const uriOf = this.uriOf(file.project);
    if (file.kind === 'registry') return registryDiagnostics(withRegistryText(snapshot, text), text, uriOf);
    return declarationDiagnostics(declarationRecords(snapshot, file.root, text), file.root, text, uriOf);
  }

  /**
   * Every non-empty file's diagnostics of a snapshot as the disk has it, by normalised URI. A root whose
   * text and own diagnostics are those last located (most roots, after any commit or validation round)
   * keeps its located diagnostics, the very same array, so it is neither parsed again nor sent again.
   */
  private diskDiagnostics(
    project: Project,
    snapshot: Snapshot,
    located: Map<string, Located>,
  ): Map<string, LspDiagnostic[]> {
    const uriOf = this.uriOf(project);
    const result = new Map<string, LspDiagnostic[]>();
    const seen = new Set<string>();
    // Most roots have nothing to say: only those with a diagnostic are grouped and looked at.
    for (const [root, records] of recordsWithDiagnosticsByRoot(snapshot)) {
      const text = snapshot.parsedAnchors.get(root)?.text;
      if (text === undefined || text === null) continue;
      const previous = located.get(root);
      let diagnostics: LspDiagnostic[];
      if (previous !== undefined && sameRecords(previous.records, records)) {
        diagnostics = previous.diagnostics;
      } else {
        const own = ownDiagnostics(records);
        if (own.length === 0) continue;
        if (previous !== undefined && previous.text === text && sameOwn(previous, own)) {
          diagnostics = previous.diagnostics;
          located.set(root, { ...previous, records });
        } else {
          diagnostics = locateDiagnostics(own, root, text, uriOf);
          located.set(root, { records, text, own, diagnostics });
        }
      }
      seen.add(root);
      if (diagnostics.length > 0) result.set(uriOf(anchorPath(root)), diagnostics);
    }
    for (const root of located.keys()) if (!seen.has(root)) located.delete(root);
    // index.json is read only when something is to be located in it.
    const registryOwn = snapshot.workspaceInitialized ? registryOwnDiagnostics(snapshot) : [];
    const registry = registryOwn.length > 0 ? readRegistryText(project.assetsDir).text : null;
    if (registry !== null) {
      const diagnostics = registryDiagnostics(snapshot, registry, uriOf, registryOwn);
      if (diagnostics.length > 0) result.set(uriOf(REGISTRY_PATH), diagnostics);
    }
    return result;
  }
}

/** Whether two lists hold the very same records in the same order. */
function sameRecords(a: readonly AssetRecord[], b: readonly AssetRecord[]): boolean {
  return a.length === b.length && a.every((record, index) => record === b[index]);
}

/** Whether `own` are the packer diagnostics `located` was made from: the same array, else the same JSON. */
function sameOwn(located: Located, own: readonly Diagnostic[]): boolean {
  if (located.own === own) return true;
  if (located.own.length !== own.length) return false;
  located.ownJson ??= JSON.stringify(located.own);
  return located.ownJson === JSON.stringify(own);
}
