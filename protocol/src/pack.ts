/**
 * Packing: `packer/pack` writes `build/assets.pa` and its companions from a frozen snapshot.
 */
import { z } from 'zod';
import { Diagnostic, ProjectId, ProjectParams, Revision, WriteParams } from './common.js';
import { defineRequest } from './method.js';
import { lazy } from './lazy.js';

/** One artifact written to `build/`. */
export const PackArtifact = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    name: z.string().describe('File name inside `build/`, for example `assets.pa`.'),
    path: z.string().describe('Path relative to the project root.'),
    size: z.number().int().nonnegative(),
    sha256: z.string(),
  }),
);

/** One asset in the packed table. */
export const PackedAssetSummary = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    assetId: z.number().int().positive(),
    name: z.string(),
    root: z.string(),
    bankType: z.string(),
    format: z.string(),
    offset: z.number().int().nonnegative().describe('Relative to the payload start of `assets.pa`.'),
    size: z.number().int().nonnegative(),
    decodedSize: z.number().int().nonnegative(),
    preload: z.boolean(),
    fromCache: z.boolean().describe('Whether the payload came from the incremental cache.'),
  }),
);

export const pack = /* @__PURE__ */ defineRequest({
  method: 'packer/pack',
  lane: 'write',
  params: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      ...ProjectParams,
      incremental: z
        .boolean()
        .optional()
        .describe(
          'Reuse cached payloads whose inputs did not change (default true). The bytes are the same either way.',
        ),
      ...WriteParams,
    }),
  ),
  result: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      operationId: z.string(),
      projectId: ProjectId,
      outcome: z
        .enum(['succeeded', 'blocked', 'failed'])
        .describe(
          '`blocked`: validation found blocking diagnostics; `failed`: the inputs no longer match the snapshot. In both cases `build/` is untouched.',
        ),
      revision: Revision.describe(
        'The snapshot that was packed (validated first when it had pending assets); `build/asset_table_metadata.json` records it too.',
      ),
      blockers: z.array(Diagnostic).describe('For `blocked`: every blocking diagnostic.'),
      reason: z.string().optional().describe('For `failed`: what went wrong.'),
      failure: z
        .enum(['diverged'])
        .optional()
        .describe(
          'For `failed`: why. `diverged`: a file the pack read (an input, an `asset.json`, the registry) no longer has the content the snapshot validated, or no longer exists as it did; `divergedPaths` names them.',
        ),
      divergedPaths: z
        .array(z.string())
        .optional()
        .describe('For `failed` by divergence: the paths (relative to `assets/`, sorted) that no longer match.'),
      artifacts: z.array(PackArtifact).describe('For `succeeded`: what was written to `build/`.'),
      assets: z.array(PackedAssetSummary).describe('For `succeeded`: the asset table in `asset_id` order.'),
      materialized: z.number().int().nonnegative().describe('Assets whose payload was built by this pack.'),
      fromCache: z.number().int().nonnegative().describe('Assets whose payload came from the cache.'),
      upToDate: z
        .literal(true)
        .optional()
        .describe(
          'For `succeeded` by an incremental pack: present when nothing changed since the pack that wrote the current `build/` (the same snapshot revision and content, every asset validated, no divergence, every file it read and every artifact it wrote still as they were, checked by their stamps or, when recent, their SHA-256), so nothing was written and `build/` was left untouched. `artifacts` and `assets` then describe the artifacts in place; `materialized` and `fromCache` are 0.',
        ),
    }),
  ),
  summary:
    'Freezes the current snapshot, re-validates every asset of the build set, reads each input once (failing if it no longer matches the snapshot), materialises, stages and promotes `build/assets.pa` with `asset_table.json`, `preload.json` and `asset_table_metadata.json`. Progress is reported per asset, at most 100 times (after every asset of a pack of up to 100, evenly spaced above, and always after the last); cancellation stops at the next asset and leaves `build/` as it was.',
});
