/**
 * Mutation intents: what a client asks the packer to change. Previewed with `packer/previewMutation`,
 * applied with `packer/applyMutation` or `packer/submitMutation`.
 */
import { z } from 'zod';
import { lazy } from './lazy.js';

/** A POSIX path relative to `assets/`. Validated and confined by the server. */
export const AssetsRelativePath = /* @__PURE__ */ lazy(() =>
  z
    .string()
    .min(1, 'must not be empty')
    .max(4096, 'must be at most 4096 characters')
    .describe('A POSIX path relative to `assets/`; absolute paths and `..` escapes are refused.'),
);

/** One of the three ways to name an asset. */
export const AssetReference = /* @__PURE__ */ lazy(() =>
  z
    .union(
      [
        z.strictObject({ assetId: z.number().int().positive().describe('The registry id.') }),
        z.strictObject({ assetUuid: z.string().min(1).describe('The `asset_uuid` of its `asset.json`.') }),
        z.strictObject({ root: AssetsRelativePath }),
      ],
      { error: 'must be exactly one of { assetId }, { assetUuid } or { root }' },
    )
    .describe('Names an asset by `assetId`, `assetUuid` or `root` (exactly one).'),
);
export type AssetReference = z.infer<typeof AssetReference>;

/** `asset.json` content without `asset_uuid`, as `createAsset` takes it (on-disk snake_case keys). */
export const DeclarationDraft = /* @__PURE__ */ lazy(() =>
  z.record(z.string(), z.unknown()).describe('The `asset.json` content without `asset_uuid`; validated by the server.'),
);

/** A mutation intent, tagged by `kind`. */
export const MutationIntent = /* @__PURE__ */ lazy(() =>
  z
    .discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('createAsset'),
        root: AssetsRelativePath,
        declaration: DeclarationDraft,
        register: z.boolean(),
      }),
      z.strictObject({ kind: z.literal('register'), root: AssetsRelativePath }),
      z.strictObject({ kind: z.literal('adopt'), root: AssetsRelativePath }),
      z.strictObject({ kind: z.literal('forget'), asset: AssetReference }),
      z.strictObject({ kind: z.literal('remove'), asset: AssetReference }),
      z.strictObject({ kind: z.literal('quarantine'), asset: AssetReference }),
      z.strictObject({
        kind: z.literal('restore'),
        asset: z.strictObject({ assetUuid: z.string().min(1) }),
        to: AssetsRelativePath.optional(),
      }),
      z.strictObject({ kind: z.literal('relocate'), asset: AssetReference, to: AssetsRelativePath }),
      z.strictObject({ kind: z.literal('rename'), asset: AssetReference, name: z.string().min(1) }),
      z.strictObject({ kind: z.literal('setBuildInclusion'), asset: AssetReference, included: z.boolean() }),
      z.strictObject({ kind: z.literal('applySafeFix'), fixId: z.string().min(1) }),
      z
        .strictObject({ kind: z.literal('normalizeRegistry') })
        .describe(
          'Rewrites `index.json` canonically (entries sorted by `asset_id`, keys sorted, two-space indentation); no entry changes.',
        ),
      z
        .strictObject({ kind: z.literal('reassignAssetId'), asset: AssetReference })
        .describe(
          'Gives a registered asset the next free `asset_id` (for two entries that received one id on two branches). Needs consent: the runtime refers to assets by id.',
        ),
    ])
    .describe('A mutation intent, tagged by `kind`.'),
);
export type MutationIntent = z.infer<typeof MutationIntent>;
