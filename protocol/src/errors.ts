/**
 * Error codes on the wire: the JSON-RPC and LSP codes the server uses, and the packer's own codes with
 * their typed `data`. Packer codes live in 1000-1999, outside the ranges JSON-RPC and LSP reserve.
 */
import { z } from 'zod';

/** Standard JSON-RPC 2.0 and LSP codes the server answers with. */
export const StandardErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  ServerNotInitialized: -32002,
  RequestCancelled: -32800,
} as const;

/** One schema issue, as `-32602` carries them in `data.issues`. */
export const SchemaIssue = z.strictObject({
  code: z.string().describe('The zod issue code, for example `invalid_type`.'),
  path: z.array(z.union([z.string(), z.number()])).describe('Where in `params` the problem is.'),
  message: z.string(),
});

/** `data` of a `-32602` invalid params error. */
export const InvalidParamsData = z.strictObject({
  method: z.string(),
  issues: z.array(SchemaIssue),
});
export type InvalidParamsData = z.infer<typeof InvalidParamsData>;

/** The packer's own error codes. */
export const PackerErrorCodes = {
  /** `projectId` names no open project. */
  UnknownProject: 1001,
  /** The project folder does not exist, is not a folder, or is not a `file:` URI. */
  ProjectRootInvalid: 1002,
  /** The project folder has no `assets/` folder. */
  AssetsFolderMissing: 1003,
  /** The asset reference matches no asset in the snapshot. */
  AssetNotFound: 1004,
  /** A path in the request is absolute, escapes with `..`, or leads out of the project through a link. */
  PathOutsideProject: 1005,
  /** `index.json` exists but is unreadable or invalid; the server will not overwrite it. */
  RegistryInvalid: 1006,
  /** The project failed to load; only `projectStatus` and `closeProject` answer. */
  ProjectFailed: 1007,
  /** Another packer process holds the project's writer lock. */
  WriterUnavailable: 1008,
  /** `packer/events` was asked about an epoch other than the current one. */
  EpochMismatch: 1009,
  /**
   * An I/O error while writing (a full or read-only disk, a name too long, a permission, a folder that
   * vanished); what had been done was rolled back, so nothing was committed. `data` says what and where.
   */
  WriteFailed: 1010,
  /**
   * The client-chosen `operationId` of a write is already used in the project: by an operation still queued
   * or running, or by one whose events the project's log still retains. Nothing was queued. Pick a new id.
   */
  OperationIdInUse: 1011,
} as const;
export type PackerErrorCode = (typeof PackerErrorCodes)[keyof typeof PackerErrorCodes];

/** Typed `data` for each packer error code. */
export const PackerErrorData = {
  [PackerErrorCodes.UnknownProject]: z.strictObject({ projectId: z.string(), openProjects: z.array(z.string()) }),
  [PackerErrorCodes.ProjectRootInvalid]: z.strictObject({ rootUri: z.string(), reason: z.string() }),
  [PackerErrorCodes.AssetsFolderMissing]: z.strictObject({ rootUri: z.string(), assetsPath: z.string() }),
  [PackerErrorCodes.AssetNotFound]: z.strictObject({
    projectId: z.string(),
    revision: z.number(),
    reference: z.record(z.string(), z.unknown()),
  }),
  [PackerErrorCodes.PathOutsideProject]: z.strictObject({
    path: z.string(),
    reason: z.enum([
      'absolute',
      'parent-segment',
      'control-data',
      'empty-segment',
      'invalid-character',
      'component-too-long',
      'path-too-long',
    ]),
  }),
  [PackerErrorCodes.RegistryInvalid]: z.strictObject({ path: z.string(), problem: z.string() }),
  [PackerErrorCodes.ProjectFailed]: z.strictObject({ projectId: z.string(), reason: z.string() }),
  [PackerErrorCodes.WriterUnavailable]: z.strictObject({
    projectId: z.string(),
    holderPid: z.number().optional(),
    lockPath: z.string(),
  }),
  [PackerErrorCodes.EpochMismatch]: z.strictObject({ requested: z.string(), current: z.string() }),
  [PackerErrorCodes.WriteFailed]: z.strictObject({
    path: z.string().describe('The file or folder the failing step wrote, relative to the project root.'),
    cause: z.string().describe('The error message of the failing step.'),
    errno: z.string().describe('The error code of the failing step, for example `ENOSPC`, `EROFS`, `ENAMETOOLONG`.'),
    step: z.string().describe('The step that failed, for example `journal`, `action-0`, `registry`, `promote`.'),
    rolledBack: z
      .array(z.string())
      .describe('What was undone, in the order it was undone (empty when the failure came before any change).'),
    restored: z
      .boolean()
      .describe(
        'True when the disk is exactly as before the request. False only when undoing failed too; then the journal stays and the next write or open finishes the rollback.',
      ),
  }),
  [PackerErrorCodes.OperationIdInUse]: z.strictObject({
    projectId: z.string(),
    operationId: z.string(),
    usedBy: z
      .enum(['inFlight', 'retained'])
      .describe(
        '`inFlight`: an operation with this id is queued or running; `retained`: the event log still holds events of an earlier operation with this id.',
      ),
  }),
} as const;

/** The `data` type carried by a packer error code. */
export type PackerErrorDataOf<C extends PackerErrorCode> = z.infer<(typeof PackerErrorData)[C]>;

/** Name of a packer error code, for messages and docs. */
export function packerErrorName(code: number): string | undefined {
  for (const [name, value] of Object.entries(PackerErrorCodes)) if (value === code) return name;
  return undefined;
}
