/**
 * The standard LSP notifications of one connection, bound to its language service: text documents go to
 * the service, workspace folders added or removed open or close projects. Params that do not parse are
 * logged and ignored (a notification has no answer).
 */
import type { z } from 'zod';
import { MAX_DIAGNOSTICS_DELAY_MS } from '@prometeu/packer-protocol';
import type { MessageType } from 'vscode-languageserver-protocol';
import { invalidParams } from '../dispatch/invalid-params.js';
import type { StandardHandlers } from '../dispatch/routes.js';
import { runCommand } from './commands.js';
import { didRenameFiles, willRenameFiles } from './renames.js';
import { projectIdOf, resolveProjectRoot, type PackerHost } from '../host.js';
import { toWireError } from '../wire/errors.js';
import type { LanguageService } from './language-service.js';
import {
  CodeActionParams,
  DidChangeConfigurationParams,
  DidChangeParams,
  DidChangeWorkspaceFoldersParams,
  DidCloseParams,
  DidOpenParams,
  DocumentLinkParams,
  ExecuteCommandParams,
  RenameFilesParams,
  TextDocumentPositionParams,
} from './params.js';

/** What the handlers need from the connection. */
export interface StandardHandlerOptions {
  readonly host: PackerHost;
  readonly service: LanguageService;
  /** Logs a problem for the client (`window/logMessage`, warning). */
  readonly warn: (message: string) => void;
  /** What `initialize` asked for the projects this connection opens. */
  readonly defaults: () => { autoReconcile?: boolean };
  /** Tells the user something (`window/showMessage`). */
  readonly showMessage: (type: MessageType, message: string) => void;
  /**
   * Asks the user to pick one of `actions` (`window/showMessageRequest`); resolves with the title picked,
   * or null when the client has no answer.
   */
  readonly ask: (message: string, actions: string[]) => Promise<string | null>;
  /** A fresh progress token the client agreed to (`window/workDoneProgress/create`), or undefined. */
  readonly createProgress: () => Promise<string | undefined>;
}

/** Binds the standard notifications to a language service. */
export function createStandardHandlers(options: StandardHandlerOptions): StandardHandlers {
  const { host, service, warn } = options;
  const parsed = <S extends z.ZodType>(method: string, schema: S, raw: unknown): z.output<S> | undefined => {
    const result = schema.safeParse(raw);
    if (result.success) return result.data;
    warn(`${method} was ignored: its params do not parse (${result.error.issues[0]?.message ?? 'invalid'}).`);
    return undefined;
  };
  /** Projects this connection opened from workspace folders, by id: only those close when their folder goes. */
  const fromFolders = new Set<string>();

  const addFolder = async (uri: string): Promise<void> => {
    try {
      const project = await host.open(uri, options.defaults());
      fromFolders.add(project.id);
      service.refresh(project);
    } catch (error) {
      warn(`Workspace folder ${uri} was not opened: ${toWireError(error).message}`);
    }
  };
  const removeFolder = async (uri: string): Promise<void> => {
    let id: string;
    try {
      id = projectIdOf(resolveProjectRoot(uri));
    } catch {
      // The folder is gone from disk: find its project by URI.
      const found = host.list().find((project) => project.rootUri === uri || `${project.rootUri}/` === uri);
      if (found === undefined) return;
      id = found.id;
    }
    if (!host.list().some((project) => project.id === id)) return;
    // Closed first, so that when the client sees the diagnostics cleared the project is gone too.
    if (fromFolders.delete(id)) {
      try {
        await host.close(id);
      } catch (error) {
        warn(`Workspace folder ${uri} was not closed: ${toWireError(error).message}`);
      }
    }
    service.forget(id);
  };

  /** The params of a request, or `-32602`. */
  const requestParams = <S extends z.ZodType>(method: string, schema: S, raw: unknown): z.output<S> => {
    const result = schema.safeParse(raw);
    if (!result.success) throw invalidParams(method, result.error);
    return result.data;
  };

  return {
    hover: (raw) => {
      const params = requestParams('textDocument/hover', TextDocumentPositionParams, raw);
      return service.hover(params.textDocument.uri, params.position);
    },
    completion: (raw) => {
      const params = requestParams('textDocument/completion', TextDocumentPositionParams, raw);
      return service.completion(params.textDocument.uri, params.position);
    },
    codeAction: (raw) => {
      const params = requestParams('textDocument/codeAction', CodeActionParams, raw);
      return service.codeActions(params.textDocument.uri, params.range);
    },
    documentLink: (raw) => {
      const params = requestParams('textDocument/documentLink', DocumentLinkParams, raw);
      return service.documentLinks(params.textDocument.uri);
    },
    willRenameFiles: (raw) =>
      willRenameFiles(host, requestParams('workspace/willRenameFiles', RenameFilesParams, raw).files),
    didRenameFiles: (context, raw) => {
      const params = parsed('workspace/didRenameFiles', RenameFilesParams, raw);
      if (params !== undefined) void didRenameFiles(context, host, params.files, warn);
    },
    executeCommand: async (context, raw) =>
      runCommand(options, context, requestParams('workspace/executeCommand', ExecuteCommandParams, raw)),
    didOpen: (raw) => {
      const params = parsed('textDocument/didOpen', DidOpenParams, raw);
      if (params !== undefined) service.didOpen(params);
    },
    didChange: (raw) => {
      const params = parsed('textDocument/didChange', DidChangeParams, raw);
      if (params !== undefined) service.didChange(params);
    },
    didClose: (raw) => {
      const params = parsed('textDocument/didClose', DidCloseParams, raw);
      if (params !== undefined) service.didClose(params);
    },
    // The packer watches its projects itself: a save or a file event the editor saw reaches it through its
    // own watcher, so these are understood and need nothing more.
    didSave: () => undefined,
    didChangeConfiguration: (raw) => {
      const params = parsed('workspace/didChangeConfiguration', DidChangeConfigurationParams, raw);
      if (params === undefined) return;
      const delay = packerSettingsOf(params.settings)?.['diagnosticsDelayMs'];
      if (delay === undefined) return;
      // Bounded as at `initialize`: Node runs a timer set beyond 2^31 - 1 ms after 1 ms, which would mean no pause.
      if (typeof delay === 'number' && Number.isFinite(delay) && delay >= 0 && delay <= MAX_DIAGNOSTICS_DELAY_MS)
        service.setDiagnosticsDelay(delay);
      else
        warn(
          `workspace/didChangeConfiguration: diagnosticsDelayMs must be a number of ms from 0 to ${MAX_DIAGNOSTICS_DELAY_MS}; kept the delay.`,
        );
    },
    didChangeWatchedFiles: () => undefined,
    didChangeWorkspaceFolders: (raw) => {
      const params = parsed('workspace/didChangeWorkspaceFolders', DidChangeWorkspaceFoldersParams, raw);
      if (params === undefined) return;
      // One after the other, removals first, so a folder removed and added again ends open.
      void (async () => {
        for (const folder of params.event.removed) await removeFolder(folder.uri);
        for (const folder of params.event.added) await addFolder(folder.uri);
      })();
    },
  };
}

/**
 * The packer's section of a client's settings: `settings.packer` when the client sends it as one section
 * among others, else `settings` itself (the shape of `initializationOptions`); undefined when there is none.
 */
function packerSettingsOf(settings: unknown): Record<string, unknown> | undefined {
  const isRecord = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null && !Array.isArray(value);
  if (!isRecord(settings)) return undefined;
  return isRecord(settings['packer']) ? settings['packer'] : settings;
}
