/**
 * Schemas of the standard LSP params the server reads, as far as it reads them: a client's notification
 * that does not match is ignored with a log line (a notification has no answer), a request gets `-32602`.
 * Each is built at its first use, as the protocol's are, so that start-up and `initialize` build none.
 */
import { lazy } from '@prometeu/packer-protocol';
import { z } from 'zod';

const Position = /* @__PURE__ */ lazy(() =>
  z.looseObject({ line: z.number().int().nonnegative(), character: z.number().int().nonnegative() }),
);
const Range = /* @__PURE__ */ lazy(() => z.looseObject({ start: Position, end: Position }));
const DocumentUri = /* @__PURE__ */ lazy(() => z.string().min(1));
const TextDocumentIdentifier = /* @__PURE__ */ lazy(() => z.looseObject({ uri: DocumentUri }));

/** `textDocument/didOpen`. */
export const DidOpenParams = /* @__PURE__ */ lazy(() =>
  z.looseObject({
    textDocument: z.looseObject({
      uri: DocumentUri,
      languageId: z.string(),
      version: z.number().int(),
      text: z.string(),
    }),
  }),
);

/** `textDocument/didChange`: incremental changes (with a range) or whole-text ones. */
export const DidChangeParams = /* @__PURE__ */ lazy(() =>
  z.looseObject({
    textDocument: z.looseObject({ uri: DocumentUri, version: z.number().int() }),
    contentChanges: z.array(
      z.union([
        z.looseObject({ range: Range, rangeLength: z.number().int().optional(), text: z.string() }),
        z.looseObject({ text: z.string() }),
      ]),
    ),
  }),
);

/** `textDocument/didClose`. */
export const DidCloseParams = /* @__PURE__ */ lazy(() => z.looseObject({ textDocument: TextDocumentIdentifier }));

/** `textDocument/didSave`. */
export const DidSaveParams = /* @__PURE__ */ lazy(() =>
  z.looseObject({ textDocument: TextDocumentIdentifier, text: z.string().optional() }),
);

const WorkspaceFolder = /* @__PURE__ */ lazy(() => z.looseObject({ uri: DocumentUri, name: z.string() }));

/** `workspace/didChangeWorkspaceFolders`. */
export const DidChangeWorkspaceFoldersParams = /* @__PURE__ */ lazy(() =>
  z.looseObject({
    event: z.looseObject({ added: z.array(WorkspaceFolder), removed: z.array(WorkspaceFolder) }),
  }),
);

/** A position in a document: hover, completion. */
export const TextDocumentPositionParams = /* @__PURE__ */ lazy(() =>
  z.looseObject({ textDocument: TextDocumentIdentifier, position: Position }),
);

/** `textDocument/codeAction`. */
export const CodeActionParams = /* @__PURE__ */ lazy(() =>
  z.looseObject({
    textDocument: TextDocumentIdentifier,
    range: Range,
    context: z.looseObject({ diagnostics: z.array(z.looseObject({})), only: z.array(z.string()).optional() }),
  }),
);

/** `textDocument/documentLink`. */
export const DocumentLinkParams = /* @__PURE__ */ lazy(() => z.looseObject({ textDocument: TextDocumentIdentifier }));

/** `workspace/executeCommand`. */
export const ExecuteCommandParams = /* @__PURE__ */ lazy(() =>
  z.looseObject({
    command: z.string(),
    arguments: z.array(z.unknown()).optional(),
    workDoneToken: z.union([z.string(), z.number().int()]).optional(),
  }),
);

/** `workspace/willRenameFiles` and `workspace/didRenameFiles`. */
export const RenameFilesParams = /* @__PURE__ */ lazy(() =>
  z.looseObject({
    files: z.array(z.looseObject({ oldUri: DocumentUri, newUri: DocumentUri })),
  }),
);

/**
 * `workspace/didChangeConfiguration`: `settings` is whatever the client's configuration holds (an object,
 * or null from a client that expects to be asked); the handler reads the packer's keys out of it.
 */
export const DidChangeConfigurationParams = /* @__PURE__ */ lazy(() => z.looseObject({ settings: z.unknown() }));
