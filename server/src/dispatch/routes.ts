/**
 * The routes: every method the server accepts, derived from its declaration. A packer method's lane comes
 * from its protocol declaration (the builders below accept only a declaration of their lane, so a route
 * in the wrong lane does not compile); standard LSP messages come from vscode-languageserver-protocol.
 * Params are validated against the declaration's schema before a handler sees them.
 */
import {
  packerNotifications,
  packerRequests,
  type InitializeResult,
  type NotificationDeclaration,
  type PackerNotificationName,
  type PackerRequestName,
  type RequestDeclaration,
} from '@prometeu/packer-protocol';
import {
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidChangeWatchedFilesNotification,
  DidChangeWorkspaceFoldersNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  DidSaveTextDocumentNotification,
  CodeActionRequest,
  CompletionRequest,
  DocumentLinkRequest,
  ExecuteCommandRequest,
  HoverRequest,
  DidRenameFilesNotification,
  WillRenameFilesRequest,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  SetTraceNotification,
  ShutdownRequest,
  WorkDoneProgressCancelNotification,
} from 'vscode-languageserver-protocol';
import type { z } from 'zod';
import { closeProject, openProject } from './server-lane.js';
import type { PreparedWrite, ReadContext, ServerContext } from './context.js';
import { fastAssetDetailsParams } from './fast-params.js';
import { invalidParams } from './invalid-params.js';
import { runRead } from './read-runner.js';
import { submitMutation, type SubmissionContext } from './submit-mutation.js';
import { getAssetDetails, listAssets } from '../reads/assets.js';
import { doctor, packSummary } from '../reads/doctor.js';
import { events } from '../reads/events.js';
import { previewMutation } from '../reads/preview.js';
import { listQuarantine } from '../reads/quarantine.js';
import { projectStatus } from '../reads/status.js';
import { prepareApplyMutation } from '../writes/apply-mutation.js';
import { prepareInitWorkspace } from '../writes/init-workspace.js';
import { preparePack } from '../writes/pack-project.js';
import { prepareReconcile } from '../writes/reconcile.js';

type MaybePromise<T> = T | Promise<T>;

/** What a route runs with: the connection's host and defaults, the request's signal, and the lane runner. */
export interface DispatchContext extends ServerContext, SubmissionContext {
  /** Runs a prepared write in its lane and answers with its response (or throws its error). */
  runWrite<R>(prepared: PreparedWrite<R>): Promise<R>;
}

/** What the connection itself handles: the LSP lifecycle. */
export interface LifecycleHandlers {
  /** Validates its params itself: a second `initialize` is refused whatever its params. */
  initialize(raw: unknown): Promise<InitializeResult>;
  shutdown(): Promise<null>;
  initialized(): void;
  exit(): void;
  setTrace(raw: unknown): void;
  /** `window/workDoneProgress/cancel`: cancels the write that carried this token, like `$/cancelRequest`. */
  cancelProgress(raw: unknown): void;
}

/**
 * What the connection's language service handles: the standard text-document and workspace messages
 * (server/src/lsp). Each gets its raw params; notifications that do not parse are ignored there.
 */
export interface StandardHandlers {
  didOpen(raw: unknown): void;
  didChange(raw: unknown): void;
  didSave(raw: unknown): void;
  didClose(raw: unknown): void;
  didChangeConfiguration(raw: unknown): void;
  didChangeWatchedFiles(raw: unknown): void;
  didChangeWorkspaceFolders(raw: unknown): void;
  hover(raw: unknown): unknown;
  completion(raw: unknown): unknown;
  codeAction(raw: unknown): unknown;
  documentLink(raw: unknown): unknown;
  willRenameFiles(raw: unknown): unknown;
  /** Records renames the editor made as relocates, in their projects' lanes. */
  didRenameFiles(context: DispatchContext, raw: unknown): void;
  /** Runs a packer command (a safe fix through preview and apply) in its project's lane. */
  executeCommand(context: DispatchContext, raw: unknown): Promise<unknown>;
}

/** How one request is served. */
export interface RequestRoute {
  readonly kind: 'request';
  readonly method: string;
  readonly lane: RequestDeclaration['lane'];
  /** Accepted before `initialize` succeeded (only `initialize` itself); every other request gets `-32002` then. */
  readonly beforeInitialize?: true;
  /** The answer, or a promise of it; a synchronous throw is an error answer like a rejection. */
  serve(context: DispatchContext, raw: unknown): unknown;
}

/** How one notification is handled; a notification has no answer. */
export interface NotificationRoute {
  readonly kind: 'notification';
  readonly method: string;
  readonly lane: NotificationDeclaration['lane'];
  /** Handled in every phase of the connection (only `exit`); every other notification only while it runs. */
  readonly inEveryPhase?: true;
  handle(context: DispatchContext, raw: unknown): void;
}

export type Route = RequestRoute | NotificationRoute;

type Output<D extends { readonly params: z.ZodType }> = z.output<D['params']>;
type Result<D extends { readonly result: z.ZodType }> = z.input<D['result']>;

function parse<D extends { readonly method: string; readonly params: z.ZodType }>(
  declaration: D,
  raw: unknown,
  fast?: (raw: unknown) => Output<D> | undefined,
): Output<D> {
  // The hot reads' common shape is checked by hand first (dispatch/fast-params.ts); the schema decides the rest.
  const checked = fast?.(raw);
  if (checked !== undefined) return checked;
  // Params absent or null are an empty object: a method whose params are all optional accepts them, and
  // one with required params names what is missing (LSP clients send `null` where there is nothing to say).
  const parsed = declaration.params.safeParse(raw === null || raw === undefined ? {} : raw);
  if (!parsed.success) throw invalidParams(declaration.method, parsed.error);
  return parsed.data as Output<D>;
}

/** A read: pinned snapshot in, wire shape out; the declaration says whether a failed project is answered. */
function read<D extends RequestDeclaration<z.ZodType<{ projectId: string }>, z.ZodType, string, 'read'>>(
  declaration: D,
  handle: (context: ReadContext, params: Output<D>) => MaybePromise<Result<D>>,
  fast?: (raw: unknown) => Output<D> | undefined,
): RequestRoute {
  return {
    kind: 'request',
    method: declaration.method,
    lane: declaration.lane,
    serve: (context, raw) => runRead(context, declaration, parse(declaration, raw, fast), handle),
  };
}

/** A write: prepared outside the lane (which project, which operation), then run inside it. */
function write<D extends RequestDeclaration<z.ZodType, z.ZodType, string, 'write'>, R extends Result<D>>(
  declaration: D,
  prepare: (context: ServerContext, params: Output<D>) => MaybePromise<PreparedWrite<R>>,
): RequestRoute {
  return {
    kind: 'request',
    method: declaration.method,
    lane: declaration.lane,
    serve: async (context, raw) => context.runWrite(await prepare(context, parse(declaration, raw))),
  };
}

/** A request of the server lane: it manages the set of open projects. */
function server<D extends RequestDeclaration<z.ZodType, z.ZodType, string, 'server'>>(
  declaration: D,
  handle: (context: ServerContext, params: Output<D>) => MaybePromise<Result<D>>,
): RequestRoute {
  return {
    kind: 'request',
    method: declaration.method,
    lane: declaration.lane,
    serve: async (context, raw) => handle(context, parse(declaration, raw)),
  };
}

/** How every packer request is served; the type demands one route per declared request. */
const packerRoutes: { readonly [N in PackerRequestName]: RequestRoute } = {
  openProject: server(packerRequests.openProject, openProject),
  closeProject: server(packerRequests.closeProject, closeProject),
  projectStatus: read(packerRequests.projectStatus, projectStatus),
  initWorkspace: write(packerRequests.initWorkspace, prepareInitWorkspace),
  listAssets: read(packerRequests.listAssets, listAssets),
  getAssetDetails: read(packerRequests.getAssetDetails, getAssetDetails, fastAssetDetailsParams),
  listQuarantine: read(packerRequests.listQuarantine, listQuarantine),
  doctor: read(packerRequests.doctor, doctor),
  packSummary: read(packerRequests.packSummary, packSummary),
  events: read(packerRequests.events, events),
  previewMutation: read(packerRequests.previewMutation, previewMutation),
  applyMutation: write(packerRequests.applyMutation, prepareApplyMutation),
  reconcile: write(packerRequests.reconcile, prepareReconcile),
  pack: write(packerRequests.pack, preparePack),
};

/** How every packer notification the server accepts is handled; those it only sends have none. */
const packerNotificationRoutes: { readonly [N in PackerNotificationName]: NotificationRoute | null } = {
  event: null,
  submissionRefused: null,
  submitMutation: {
    kind: 'notification',
    method: packerNotifications.submitMutation.method,
    lane: packerNotifications.submitMutation.lane,
    handle: (context, raw) => submitMutation(context, raw),
  },
};

/** The packer's request routes by short name, for the test that ties them to the declarations. */
export const packerRequestRoutes = packerRoutes;

/** A standard LSP notification handled by the language service. */
function standard(method: string, handle: (raw: unknown) => void): NotificationRoute {
  return { kind: 'notification', method, lane: 'lifecycle', handle: (_context, raw) => handle(raw) };
}

/** A standard LSP request served by the language service: reads of a document, or a command in a lane. */
function standardRequest(
  method: string,
  lane: 'read' | 'write',
  serve: (context: DispatchContext, raw: unknown) => Promise<unknown>,
): RequestRoute {
  return { kind: 'request', method, lane, serve };
}

/** The routes of the standard text-document and workspace messages. */
function standardRoutes(handlers: StandardHandlers): Route[] {
  return [
    standardRequest(HoverRequest.method, 'read', (_context, raw) => Promise.resolve(handlers.hover(raw))),
    standardRequest(CompletionRequest.method, 'read', (_context, raw) => Promise.resolve(handlers.completion(raw))),
    standardRequest(CodeActionRequest.method, 'read', (_context, raw) => Promise.resolve(handlers.codeAction(raw))),
    standardRequest(DocumentLinkRequest.method, 'read', (_context, raw) => Promise.resolve(handlers.documentLink(raw))),
    standardRequest(ExecuteCommandRequest.method, 'write', (context, raw) => handlers.executeCommand(context, raw)),
    standardRequest(WillRenameFilesRequest.method, 'read', (_context, raw) =>
      Promise.resolve(handlers.willRenameFiles(raw)),
    ),
    {
      kind: 'notification',
      method: DidRenameFilesNotification.method,
      lane: 'write',
      handle: (context, raw) => handlers.didRenameFiles(context, raw),
    },
    standard(DidOpenTextDocumentNotification.method, (raw) => handlers.didOpen(raw)),
    standard(DidChangeTextDocumentNotification.method, (raw) => handlers.didChange(raw)),
    standard(DidSaveTextDocumentNotification.method, (raw) => handlers.didSave(raw)),
    standard(DidCloseTextDocumentNotification.method, (raw) => handlers.didClose(raw)),
    standard(DidChangeConfigurationNotification.method, (raw) => handlers.didChangeConfiguration(raw)),
    standard(DidChangeWatchedFilesNotification.method, (raw) => handlers.didChangeWatchedFiles(raw)),
    standard(DidChangeWorkspaceFoldersNotification.method, (raw) => handlers.didChangeWorkspaceFolders(raw)),
  ];
}

/**
 * Every route of one connection, by method string: the LSP lifecycle, the standard text-document and
 * workspace messages (when a language service is given), then every packer method.
 */
export function createRoutes(
  lifecycle: LifecycleHandlers,
  standardHandlers?: StandardHandlers,
): ReadonlyMap<string, Route> {
  const routes: Route[] = [
    {
      kind: 'request',
      method: InitializeRequest.method,
      lane: 'lifecycle',
      beforeInitialize: true,
      serve: (_context, raw) => lifecycle.initialize(raw),
    },
    { kind: 'request', method: ShutdownRequest.method, lane: 'lifecycle', serve: () => lifecycle.shutdown() },
    {
      kind: 'notification',
      method: InitializedNotification.method,
      lane: 'lifecycle',
      handle: () => lifecycle.initialized(),
    },
    {
      kind: 'notification',
      method: ExitNotification.method,
      lane: 'lifecycle',
      inEveryPhase: true,
      handle: () => lifecycle.exit(),
    },
    {
      kind: 'notification',
      method: SetTraceNotification.type.method,
      lane: 'lifecycle',
      handle: (_context, raw) => lifecycle.setTrace(raw),
    },
    {
      kind: 'notification',
      method: WorkDoneProgressCancelNotification.method,
      lane: 'lifecycle',
      handle: (_context, raw) => lifecycle.cancelProgress(raw),
    },
    ...(standardHandlers !== undefined ? standardRoutes(standardHandlers) : []),
    ...Object.values(packerRoutes),
    ...Object.values(packerNotificationRoutes).filter((route) => route !== null),
  ];
  return new Map(routes.map((route) => [route.method, route]));
}
