/**
 * Shapes shared by several methods: project and asset references, diagnostics, asset summaries.
 * Wire field names are camelCase.
 */
import { z } from 'zod';
import { DIAGNOSTIC_CODES, type DiagnosticCode } from './diagnostic-codes.js';
import { MutationIntent } from './intents.js';
import { lazy } from './lazy.js';

export { AssetReference, AssetsRelativePath, MutationIntent } from './intents.js';

/** A project handle returned by the server; stable for one root within and across server runs. */
export const ProjectId = /* @__PURE__ */ lazy(() =>
  z.string().min(1).max(256).describe('A project handle returned by the server.'),
);

/** A snapshot revision; only grows within a server run. */
export const Revision = /* @__PURE__ */ lazy(() =>
  z.number().int().nonnegative().describe('The snapshot revision the answer was computed from.'),
);

/** A client-chosen operation id, echoed in every event of the operation. */
export const OperationId = /* @__PURE__ */ lazy(() =>
  z.string().min(1).max(200).describe('A client-chosen id to correlate events.'),
);

/** An LSP work-done progress token (LSP's `ProgressToken`). */
export const WorkDoneToken = /* @__PURE__ */ lazy(() =>
  z
    .union([z.string(), z.number()])
    .describe(
      'LSP work-done progress token. `$/progress` sends `begin` when the write starts, `report` for its progress, `end` with its terminal event; nothing at all for a write cancelled while queued or refused. `cancellable` is true only while cancelling can still stop the work: for `packer/pack` until it starts promoting `build/` (then a `report` says `cancellable: false`); applies, submissions, reconciles and `initWorkspace` commit in one step and say false. `window/workDoneProgress/cancel` with this token cancels the request like `$/cancelRequest`.',
    ),
);

/** The params that name a project; spread into every project request's params. */
export const ProjectParams = { projectId: ProjectId } as const;

/**
 * The params every write accepts besides its own, spread into each write's params the way LSP spreads
 * `WorkDoneProgressParams` into its requests.
 */
export const WriteParams = {
  operationId: /* @__PURE__ */ lazy(() => OperationId.optional()),
  workDoneToken: /* @__PURE__ */ lazy(() => WorkDoneToken.optional()),
} as const;

/** One path that changed on disk behind the packer's back. */
export const DivergentChange = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    path: z.string().describe('Relative to `assets/`.'),
    change: z.enum(['added', 'changed', 'removed', 'moved']),
    from: z
      .string()
      .optional()
      .describe('For `moved`: the root the folder was moved from (`path` is where it is now).'),
    assetUuid: z.string().optional().describe('For `moved`: the `asset_uuid` that identifies the moved root.'),
  }),
);

/** A `file:` URI naming a folder. */
export const FolderUri = /* @__PURE__ */ lazy(() =>
  z
    .string()
    .min(1)
    .refine((value) => value.startsWith('file:'), { message: 'must be a file: URI, for example file:///home/me/game' })
    .describe('A file: URI naming a folder.'),
);

/** Severity, most severe first. */
export const Severity = /* @__PURE__ */ lazy(() =>
  z.enum(['error', 'warning', 'info', 'hint']).describe('How serious a diagnostic is.'),
);
export type Severity = z.infer<typeof Severity>;

/** The operation classes of `domain.md`: they tell a UI what an action touches. */
export const OperationClass = /* @__PURE__ */ lazy(() =>
  z
    .enum(['read', 'workspace', 'registry', 'workspace+registry', 'runtime-state', 'build'])
    .describe("What an operation touches: only the registry, the user's files, both, in-memory state, or `build/`."),
);
export type OperationClass = z.infer<typeof OperationClass>;

/**
 * Every mutation kind, in the protocol's order: what `initialize` announces as `experimental.packer.mutations`
 * (a plain list, so that answering `initialize` builds no schema).
 */
export const MUTATION_KINDS = [
  'createAsset',
  'register',
  'adopt',
  'forget',
  'remove',
  'quarantine',
  'restore',
  'relocate',
  'rename',
  'setBuildInclusion',
  'applySafeFix',
  'normalizeRegistry',
  'reassignAssetId',
] as const;

/** Mutation kinds, also used as "available actions" on assets. */
export const MutationKind = /* @__PURE__ */ lazy(() => z.enum(MUTATION_KINDS));
export type MutationKind = z.infer<typeof MutationKind>;

/** A diagnostic code on the wire. */
export const DiagnosticCodeSchema = /* @__PURE__ */ lazy(() =>
  z
    .enum(Object.keys(DIAGNOSTIC_CODES) as [DiagnosticCode, ...DiagnosticCode[]])
    .describe('A stable diagnostic code (see the code table).'),
);

/** A place involved in a diagnostic besides its main path. */
export const RelatedLocation = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    path: z.string().describe('Path relative to `assets/`.'),
    message: z.string().describe('What this place has to do with the diagnostic.'),
  }),
);

/** A fix the server offers; it is a mutation the user can preview and apply. */
export const SafeFix = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    fixId: z.string().describe('Pass to `applySafeFix`; stable for the same problem in the same place.'),
    title: z.string().describe('What the fix does, for a button or menu.'),
    mutation: MutationIntent.describe('The mutation intent the fix stands for.'),
  }),
);

/** One diagnostic. */
export const Diagnostic = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    code: DiagnosticCodeSchema,
    family: z.enum(['structural', 'hygiene']),
    severity: Severity,
    blocking: z.boolean().describe('Whether it blocks a pack.'),
    message: z.string().describe('What is wrong and what to do, for a person.'),
    assetId: z.number().int().positive().optional(),
    assetUuid: z.string().optional(),
    root: z.string().optional().describe('The asset root involved, relative to `assets/`.'),
    path: z.string().optional().describe('The file involved, relative to `assets/`.'),
    related: z.array(RelatedLocation).optional().describe('Every other place involved (for conflicts).'),
    safeFix: SafeFix.optional(),
  }),
);
export type Diagnostic = z.infer<typeof Diagnostic>;

/** How an asset sits in the registry and on disk. */
export const AssetState = /* @__PURE__ */ lazy(() =>
  z
    .enum(['ok', 'invalid', 'missing'])
    .describe('`ok`: anchor parses; `invalid`: the anchor is present but broken; `missing`: registered but no anchor.'),
);

/** Whether an asset's format checks have run. */
export const ValidationState = /* @__PURE__ */ lazy(() =>
  z
    .enum(['pending', 'done', 'notRun'])
    .describe(
      "Whether the format's blocking rules (`format-declaration-invalid`, `format-input-invalid`) have run on this declaration and these inputs. `pending`: not yet (they run off the main thread after every change; a `snapshot.published` event with cause `validation` brings the results), so the diagnostics may still be incomplete; `done`: they ran and their findings are in the diagnostics; `notRun`: they cannot run because the declaration is invalid or an input is missing or outside the root (those diagnostics come first).",
    ),
);
export type ValidationState = z.infer<typeof ValidationState>;

/** A row of `packer/listAssets`. */
export const AssetSummary = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    assetId: z.number().int().positive().optional().describe('Present when registered.'),
    assetUuid: z
      .string()
      .nullable()
      .describe('From `asset.json`, or from the registry when the anchor is missing; null when neither says.'),
    name: z.string().nullable(),
    type: z.string().nullable(),
    root: z.string().describe('POSIX path relative to `assets/`.'),
    registered: z.boolean(),
    includedInBuild: z.boolean().describe('False for unregistered assets.'),
    state: AssetState,
    worstSeverity: Severity.nullable().describe('Most severe diagnostic on this asset, or null.'),
    diagnosticCount: z.number().int().nonnegative(),
    availableActions: z.array(MutationKind).describe('Mutations that make sense for this asset now.'),
    validation: ValidationState,
  }),
);
export type AssetSummary = z.infer<typeof AssetSummary>;
