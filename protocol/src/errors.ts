/**
 * Error codes on the wire: the JSON-RPC and LSP codes the server uses, and the packer's own codes with
 * their typed `data`. Packer codes live in 1000-1999, outside the ranges JSON-RPC and LSP reserve.
 */
import { z } from 'zod';
import { lazy } from './lazy.js';

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
export const SchemaIssue = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    code: z.string().describe('The zod issue code, for example `invalid_type`.'),
    path: z.array(z.union([z.string(), z.number()])).describe('Where in `params` the problem is.'),
    message: z.string(),
  }),
);

/** `data` of a `-32602` invalid params error. */
export const InvalidParamsData = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    method: z.string(),
    issues: z.array(SchemaIssue),
  }),
);
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

/**
 * Typed `data` for each packer error code. Made in a pure call (its keys are computed), so that a bundle that
 * does not use it leaves it out.
 */
export const PackerErrorData = /* @__PURE__ */ (() =>
  ({
    [PackerErrorCodes.UnknownProject]: /* @__PURE__ */ lazy(() =>
      z.strictObject({ projectId: z.string(), openProjects: z.array(z.string()) }),
    ),
    [PackerErrorCodes.ProjectRootInvalid]: /* @__PURE__ */ lazy(() =>
      z.strictObject({ rootUri: z.string(), reason: z.string() }),
    ),
    [PackerErrorCodes.AssetsFolderMissing]: /* @__PURE__ */ lazy(() =>
      z.strictObject({ rootUri: z.string(), assetsPath: z.string() }),
    ),
    [PackerErrorCodes.AssetNotFound]: /* @__PURE__ */ lazy(() =>
      z.strictObject({
        projectId: z.string(),
        revision: z.number(),
        reference: z.record(z.string(), z.unknown()),
      }),
    ),
    [PackerErrorCodes.PathOutsideProject]: /* @__PURE__ */ lazy(() =>
      z.strictObject({
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
    ),
    [PackerErrorCodes.RegistryInvalid]: /* @__PURE__ */ lazy(() =>
      z.strictObject({ path: z.string(), problem: z.string() }),
    ),
    [PackerErrorCodes.ProjectFailed]: /* @__PURE__ */ lazy(() =>
      z.strictObject({ projectId: z.string(), reason: z.string() }),
    ),
    [PackerErrorCodes.WriterUnavailable]: /* @__PURE__ */ lazy(() =>
      z.strictObject({
        projectId: z.string(),
        holderPid: z.number().optional(),
        lockPath: z.string(),
      }),
    ),
    [PackerErrorCodes.EpochMismatch]: /* @__PURE__ */ lazy(() =>
      z.strictObject({ requested: z.string(), current: z.string() }),
    ),
    [PackerErrorCodes.WriteFailed]: /* @__PURE__ */ lazy(() =>
      z.strictObject({
        path: z.string().describe('The file or folder the failing step wrote, relative to the project root.'),
        cause: z.string().describe('The error message of the failing step.'),
        errno: z
          .string()
          .describe('The error code of the failing step, for example `ENOSPC`, `EROFS`, `ENAMETOOLONG`.'),
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
    ),
    [PackerErrorCodes.OperationIdInUse]: /* @__PURE__ */ lazy(() =>
      z.strictObject({
        projectId: z.string(),
        operationId: z.string(),
        usedBy: z
          .enum(['inFlight', 'retained'])
          .describe(
            '`inFlight`: an operation with this id is queued or running; `retained`: the event log still holds events of an earlier operation with this id.',
          ),
      }),
    ),
  }) as const)();

/** The `data` type carried by a packer error code. */
export type PackerErrorDataOf<C extends PackerErrorCode> = z.infer<(typeof PackerErrorData)[C]>;

/** Name of a packer error code, for messages and docs. */
export function packerErrorName(code: number): string | undefined {
  for (const [name, value] of Object.entries(PackerErrorCodes)) if (value === code) return name;
  return undefined;
}

/** One errno-like code: where it comes from and what it means for a project. */
export interface IoErrorCodeInfo {
  /**
   * `packer`: the server's confined file system refuses the path itself (no system call failed);
   * `system`: the operating system's own error, passed on as it is.
   */
  readonly origin: 'packer' | 'system';
  /** What it means, in a sentence a person can act on. */
  readonly meaning: string;
}

/**
 * The errno-like codes a client meets in `WriteFailed`'s `data.errno`, in a pack's failure, in crawl
 * problems (the `unreadable-entry` diagnostic) and in the read errors of `registry-unreadable` and
 * `unreadable-declaration`. The server's confined file system (`server/src/io`) refuses paths with the
 * `packer` codes; the `system` ones are the operating system's errors the packer meets most. Another
 * system code may appear: it keeps the meaning the operating system gives it.
 */
export const IoErrorCodes = {
  ELOOP: {
    origin: 'packer',
    meaning:
      'A symbolic link where the packer expected a file or a folder (the entry itself or a folder on the way to it). The packer never follows a link below the project root; replace the link by the real file or folder.',
  },
  ENOTDIR: {
    origin: 'packer',
    meaning: 'Something that is not a folder (a file, a FIFO, a device) where a folder was expected.',
  },
  EISDIR: { origin: 'packer', meaning: 'A folder where a file was expected.' },
  EFTYPE: {
    origin: 'packer',
    meaning:
      'A FIFO, a device node or a socket where a regular file was expected; it is refused by its type before anything is read, so it can never block the server.',
  },
  EFBIG: {
    origin: 'packer',
    meaning:
      'A file over its size limit (see "File size limits"), refused by its size before it is read, or cut off at the limit when it grew while being read.',
  },
  EOUTSIDE: {
    origin: 'packer',
    meaning:
      'A path that is not inside the project: absolute or climbing out with `..`, or a step whose result was not where it was meant to be because a folder on the way was moved or replaced meanwhile (the step was undone).',
  },
  EILSEQ: {
    origin: 'packer',
    meaning:
      'A name in `assets/` that is not valid UTF-8; the packer cannot name it back, so it is a crawl problem rather than a file. Rename it.',
  },
  ENOENT: {
    origin: 'system',
    meaning: 'The file or folder is not there (it may have vanished while the packer worked).',
  },
  EACCES: { origin: 'system', meaning: 'The packer has no permission to read or write the path.' },
  EPERM: { origin: 'system', meaning: 'The operating system does not allow the operation on the path.' },
  EROFS: {
    origin: 'system',
    meaning:
      'The file system is mounted read-only: reads are served, every write answers `WriteFailed`. An interrupted write recorded in the journal waits there (diagnostic `journal-pending`) until the disk is writable.',
  },
  ENOSPC: { origin: 'system', meaning: 'The disk is full; the write was rolled back. Free space and write again.' },
  EDQUOT: { origin: 'system', meaning: "The user's disk quota is used up; the write was rolled back." },
  ENAMETOOLONG: {
    origin: 'system',
    meaning: 'The file system refuses a name or a path this long (the packer limits a component to 255 bytes).',
  },
  EEXIST: { origin: 'system', meaning: 'Something already has the name the write needed.' },
  EIO: { origin: 'system', meaning: 'The disk reported a hardware or driver error.' },
  EUNKNOWN: { origin: 'packer', meaning: 'The failure carried no code; the message says what happened.' },
} as const satisfies Record<string, IoErrorCodeInfo>;

/** A code of {@link IoErrorCodes}. */
export type IoErrorCode = keyof typeof IoErrorCodes;

const KIB = 1024;
const MIB = 1024 * KIB;

/** One file size limit: the file it applies to, its value in bytes and why it has that value. */
export interface FileSizeLimit {
  /** The file, as a person names it. */
  readonly file: string;
  readonly bytes: number;
  readonly why: string;
}

/**
 * The most bytes the packer reads from each kind of file in a project, so no file can exhaust its memory.
 * A file over its limit is refused by its size (from `fstat`, before any byte is read) with `EFBIG`; a
 * file that grows while it is read is cut off at the limit and refused the same way.
 */
export const FileSizeLimits = {
  registry: {
    file: '`assets/.prometeu/index.json`',
    bytes: 64 * MIB,
    why: 'About 150 bytes per asset: over 400k assets.',
  },
  journal: {
    file: '`assets/.prometeu/journal.json`',
    bytes: 256 * MIB,
    why: 'The registry before and after (escaped as JSON strings) and the actions.',
  },
  writerLock: { file: '`assets/.prometeu/writer.lock`', bytes: 4 * KIB, why: 'A pid, a host name and a token.' },
  fingerprints: {
    file: '`assets/.prometeu/fingerprint.json`',
    bytes: 128 * MIB,
    why: 'About 60 bytes per file of the workspace.',
  },
  fingerprintLog: {
    file: '`assets/.prometeu/fingerprint.log`',
    bytes: 64 * MIB,
    why: 'The commits since the fingerprints were last saved.',
  },
  quarantineManifest: {
    file: '`assets/.prometeu/quarantine/<uuid>/manifest.json`',
    bytes: 64 * KIB,
    why: 'A handful of fields.',
  },
  declaration: {
    file: 'an `asset.json`',
    bytes: 1 * MIB,
    why: 'Real declarations are a few KiB; a glyph bank naming a thousand tiles is about 100 KiB.',
  },
  input: {
    file: 'an input file of an asset',
    bytes: 256 * MIB,
    why: 'A pack reads it whole into memory; far above any fantasy-console asset.',
  },
  buildTable: {
    file: '`build/asset_table.json` or `build/asset_table_metadata.json`',
    bytes: 64 * MIB,
    why: 'Read for editor hovers (the last packed entry): a few hundred bytes per asset.',
  },
  cacheEntry: {
    file: 'an entry of the incremental pack cache',
    bytes: 512 * MIB,
    why: 'A payload and its facts; a larger one is rebuilt rather than read.',
  },
} as const satisfies Record<string, FileSizeLimit>;
