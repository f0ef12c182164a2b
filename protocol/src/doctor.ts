/**
 * Diagnostics reads: `packer/doctor` and `packer/packSummary`.
 */
import { z } from 'zod';
import { Diagnostic, ProjectParams, Revision } from './common.js';
import { defineRequest } from './method.js';
import { lazy } from './lazy.js';

/** An asset whose format checks are still pending. */
export const PendingAsset = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    assetId: z.number().int().positive().optional().describe('Present when registered.'),
    root: z.string(),
  }),
);

export const doctor = /* @__PURE__ */ defineRequest({
  method: 'packer/doctor',
  lane: 'read',
  params: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      ...ProjectParams,
      scope: z
        .enum(['registered', 'workspace'])
        .default('registered')
        .describe(
          '`registered`: structural checks of the registered world; `workspace`: everything, hygiene included.',
        ),
    }),
  ),
  result: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      revision: Revision,
      scope: z.enum(['registered', 'workspace']),
      diagnostics: z.array(Diagnostic).describe('Blocking first, then by severity, root and code.'),
      pending: z
        .array(PendingAsset)
        .describe(
          'Assets in scope whose format checks have not run yet: their format diagnostics are not known, so the list above may still grow.',
        ),
      summary: z.strictObject({
        errors: z.number().int(),
        warnings: z.number().int(),
        infos: z.number().int(),
        hints: z.number().int(),
        blocking: z.number().int(),
      }),
    }),
  ),
  summary: 'Diagnostics with stable codes, severities, blocking flags and safe fixes.',
});

export const packSummary = /* @__PURE__ */ defineRequest({
  method: 'packer/packSummary',
  lane: 'read',
  params: /* @__PURE__ */ lazy(() => z.strictObject({ ...ProjectParams })),
  result: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      revision: Revision,
      canPack: z
        .boolean()
        .describe(
          'False when any blocking diagnostic exists, or while `pending` is not empty (packing cannot be judged until every asset of the build set is validated; a pack waits for it).',
        ),
      pending: z
        .array(PendingAsset)
        .describe('Assets of the build set whose format checks have not run yet, in `assetId` order.'),
      buildSet: z.array(
        z.strictObject({
          assetId: z.number().int().positive(),
          assetUuid: z.string(),
          name: z.string().nullable(),
          type: z.string().nullable(),
          root: z.string(),
          blocked: z.boolean(),
        }),
      ),
      blockers: z.array(Diagnostic),
      excluded: z
        .array(z.strictObject({ assetId: z.number().int().positive(), root: z.string() }))
        .describe('Registered assets excluded from the build.'),
    }),
  ),
  summary: 'The build set (registered, included assets in `assetId` order) and whether a pack can start.',
});
