/**
 * Mutations: preview, then apply. A preview is computed against one snapshot revision; an apply re-checks
 * it inside the project's writer lane and commits all of it or none of it.
 */
import { z } from 'zod';
import {
  MutationIntent,
  OperationClass,
  OperationId,
  ProjectId,
  ProjectParams,
  Revision,
  SafeFix,
  WriteParams,
} from './common.js';
import { defineNotification, defineRequest } from './method.js';
import { lazy } from './lazy.js';

/** One thing that would stop an apply, or one warning. */
export const PlanIssue = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    code: z
      .string()
      .describe(
        'Stable reason code, for example `assetNotFound`, `targetExists`, `pathOutsideProject`, `identityConflict`, `invalidDeclaration`, `unknownFix`.',
      ),
    message: z.string(),
    path: z.string().optional().describe('The path involved, relative to `assets/`.'),
  }),
);

/** A registry change the mutation makes. */
export const RegistryChange = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    change: z.enum(['add', 'remove', 'update']),
    assetId: z.number().int().positive(),
    assetUuid: z.string(),
    root: z.string().describe('The root after the change (before, for `remove`).'),
    before: z
      .strictObject({ root: z.string(), includedInBuild: z.boolean() })
      .optional()
      .describe('For `update`: the entry before.'),
    includedInBuild: z.boolean(),
  }),
);

/** A filesystem change the mutation makes. Paths are relative to `assets/`. */
export const FilesystemChange = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    change: z.enum(['create', 'modify', 'move', 'delete']),
    path: z.string().describe('The file or folder (the source, for `move`).'),
    to: z.string().optional().describe('For `move`: the destination.'),
    kind: z.enum(['file', 'folder']),
  }),
);

/** What a mutation would do, computed against `baseRevision`. */
export const MutationPreview = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    previewId: z.string().describe('Pass to `applyMutation` to apply exactly this preview.'),
    projectId: ProjectId,
    baseRevision: Revision,
    mutation: MutationIntent,
    operationClass: OperationClass,
    blockers: z.array(PlanIssue).describe('Non-empty means an apply would be rejected.'),
    warnings: z.array(PlanIssue),
    safeFixes: z.array(SafeFix).describe('Fixes on offer for the assets involved.'),
    registryChanges: z.array(RegistryChange),
    filesystemChanges: z.array(FilesystemChange),
    affectedAssets: z.array(
      z.strictObject({
        assetId: z.number().int().positive().optional(),
        assetUuid: z.string().nullable(),
        root: z.string(),
      }),
    ),
    requiresConsent: z
      .boolean()
      .describe('True for destructive and relocating mutations: apply needs `consent: true`.'),
  }),
);
export type MutationPreview = z.infer<typeof MutationPreview>;

/**
 * Why an apply was rejected. A write the writer lock refuses (another packer process writes this project) is
 * not a rejection but the error `WriterUnavailable` (1008), for every kind of write alike.
 */
export const RejectionReason = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    code: z.enum([
      'blocked',
      'consentRequired',
      'staleRevision',
      'stalePreview',
      'unknownPreview',
      'diskChanged',
      'diverged',
    ]),
    message: z.string(),
    issues: z.array(PlanIssue).optional().describe('For `blocked`: the blockers.'),
  }),
);

/** The params `applyMutation` and `submitMutation` share. Made in a pure call, so that a bundle leaves it out with them. */
const applyParams = /* @__PURE__ */ (() => ({
  ...ProjectParams,
  previewId: /* @__PURE__ */ lazy(() =>
    z.string().optional().describe('A preview to apply; its premises are re-checked.'),
  ),
  mutation: /* @__PURE__ */ lazy(() =>
    MutationIntent.optional().describe('An intent to preview and apply in one step.'),
  ),
  expectedRevision: /* @__PURE__ */ lazy(() =>
    Revision.optional().describe('Reject unless the current revision is exactly this.'),
  ),
  consent: /* @__PURE__ */ lazy(() =>
    z.boolean().optional().describe('Required (true) when the preview says `requiresConsent`.'),
  ),
  workDoneToken: WriteParams.workDoneToken,
}))();

/** The result of an apply: its final outcome. */
export const ApplyResult = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    operationId: z.string(),
    projectId: ProjectId,
    outcome: z.enum(['applied', 'rejected']),
    revision: Revision.describe('The current revision after the operation (the new one when applied with changes).'),
    reasons: z.array(RejectionReason).describe('Why it was rejected; empty when applied.'),
    preview: MutationPreview.nullable().describe('What was applied (or what was checked), as a preview.'),
    recovered: z.boolean().optional(),
  }),
);
export type ApplyResult = z.infer<typeof ApplyResult>;

export const previewMutation = /* @__PURE__ */ defineRequest({
  method: 'packer/previewMutation',
  lane: 'read',
  params: /* @__PURE__ */ lazy(() => z.strictObject({ ...ProjectParams, mutation: MutationIntent })),
  result: MutationPreview,
  summary:
    'Computes what a mutation would do against the current snapshot, without changing anything. Keeps the preview for `applyMutation`.',
});

export const applyMutation = /* @__PURE__ */ defineRequest({
  method: 'packer/applyMutation',
  lane: 'write',
  params: /* @__PURE__ */ lazy(() =>
    z
      .strictObject({ ...applyParams, operationId: WriteParams.operationId })
      .refine((p) => (p.previewId === undefined) !== (p.mutation === undefined), {
        message: 'give exactly one of previewId and mutation',
      }),
  ),
  result: ApplyResult,
  summary:
    'Applies a preview (or an intent) in the writer lane: re-checks its premises, demands consent where needed, and commits all of it or none of it.',
});

export const submitMutation = /* @__PURE__ */ defineNotification({
  method: 'packer/submitMutation',
  direction: 'clientToServer',
  lane: 'write',
  params: /* @__PURE__ */ lazy(() =>
    z
      .strictObject({ ...applyParams, operationId: OperationId })
      .refine((p) => (p.previewId === undefined) !== (p.mutation === undefined), {
        message: 'give exactly one of previewId and mutation',
      }),
  ),
  summary:
    'The notification form of `applyMutation`: joins the same lane in arrival order; its outcome is its terminal `packer/event`.',
});

/** Sent instead of a terminal event when a `packer/submitMutation` cannot be attributed to a project. */
export const submissionRefused = /* @__PURE__ */ defineNotification({
  method: 'packer/submissionRefused',
  direction: 'serverToClient',
  lane: 'none',
  params: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      operationId: z.string().nullable().describe("The submission's `operationId`, or null when it had none."),
      code: z
        .number()
        .int()
        .describe(
          'A documented error code: `-32602` when the params do not parse, else a packer code such as 1001 (unknown project).',
        ),
      message: z.string(),
    }),
  ),
  summary:
    'Tells the client that a `packer/submitMutation` was refused before it reached a project lane (unknown project, params that do not parse), so it will get no terminal event.',
});
