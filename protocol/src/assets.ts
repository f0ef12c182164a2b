/**
 * Asset reads: the list, one asset's details and the quarantine. All are answered from the current snapshot.
 */
import { z } from 'zod';
import {
  AssetReference,
  AssetSummary,
  Diagnostic,
  MutationKind,
  OperationClass,
  ProjectParams,
  Revision,
  Severity,
} from './common.js';
import { defineRequest } from './method.js';
import { lazy } from './lazy.js';

export const listAssets = /* @__PURE__ */ defineRequest({
  method: 'packer/listAssets',
  lane: 'read',
  params: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      ...ProjectParams,
      filter: z
        .strictObject({
          registered: z.boolean().optional().describe('Only registered (true) or only unregistered (false) assets.'),
          includedInBuild: z.boolean().optional(),
          type: z.string().optional().describe('Only this asset type.'),
          rootPrefix: z.string().optional().describe('Only roots under this folder (relative to `assets/`).'),
          minSeverity: Severity.optional().describe('Only assets with a diagnostic at least this severe.'),
          text: z.string().optional().describe('Case-insensitive substring of the name or root.'),
        })
        .optional(),
    }),
  ),
  result: /* @__PURE__ */ lazy(() => z.strictObject({ revision: Revision, assets: z.array(AssetSummary) })),
  summary:
    'Every asset root and registry entry (registered, unregistered and missing), ordered: registered by `assetId`, then the others by root.',
});

/** An input file's state in the snapshot. */
export const InputState = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    role: z.string(),
    path: z.string().describe('As declared, relative to the root.'),
    assetsPath: z
      .string()
      .nullable()
      .describe('Relative to `assets/`; null when the declared path is not confined to the root.'),
    state: z.enum(['present', 'missing', 'outsideRoot']),
    sha256: z
      .string()
      .nullable()
      .describe(
        'SHA-256 (hex) of the content the format checks validated; null until they ran (or when they cannot). A pack refuses an input whose content no longer has this hash.',
      ),
  }),
);

/** An action available on an asset: its mutation kind, what it touches, and whether it needs consent. */
export const AvailableAction = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    kind: MutationKind,
    operationClass: OperationClass,
    requiresConsent: z.boolean().describe('Whether applying it needs `consent: true` (it moves or deletes files).'),
  }),
);

export const getAssetDetails = /* @__PURE__ */ defineRequest({
  method: 'packer/getAssetDetails',
  lane: 'read',
  params: /* @__PURE__ */ lazy(() => z.strictObject({ ...ProjectParams, asset: AssetReference })),
  result: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      revision: Revision,
      asset: AssetSummary,
      declaration: z
        .record(z.string(), z.unknown())
        .nullable()
        .describe('The parsed `asset.json` (snake_case, as on disk) when it is valid, else null.'),
      declarationPath: z.string().describe('Path of `asset.json` relative to `assets/`.'),
      inputs: z.array(InputState),
      output: z
        .strictObject({ format: z.string(), codec: z.string(), metadata: z.record(z.string(), z.unknown()).optional() })
        .nullable(),
      preload: z.strictObject({ enabled: z.boolean() }).nullable(),
      files: z.array(z.string()).describe('Every file under the root, relative to the root, sorted.'),
      diagnostics: z.array(Diagnostic),
      availableActions: z.array(MutationKind),
      actions: z
        .array(AvailableAction)
        .describe(
          'The same actions as `availableActions`, each with what it touches and whether applying it needs consent, so a UI can label it without previewing. The preview of the concrete mutation is exact.',
        ),
    }),
  ),
  summary:
    'One asset, named by `assetId`, `assetUuid` or `root`: its declaration, inputs and their state, output contract, preload, diagnostics and actions.',
});

/** One asset in the packer's quarantine (`assets/.prometeu/quarantine/<asset_uuid>/`). */
export const QuarantineEntry = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    assetUuid: z.string().describe('Pass as `{ assetUuid }` to the `restore` mutation.'),
    name: z.string().nullable().describe('The asset name when it was quarantined.'),
    type: z.string().nullable().describe('The asset type when it was quarantined.'),
    originalRoot: z
      .string()
      .describe('Where the root was, relative to `assets/`: where `restore` puts it back by default.'),
    quarantinedAt: z
      .string()
      .nullable()
      .describe('When it was quarantined (ISO 8601); null when the manifest does not say and its time is unknown.'),
    assetId: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('The `asset_id` it had when it was quarantined, if registered; `restore` registers it again with it.'),
    includedInBuild: z.boolean().describe('Whether it was in the build set when it was quarantined.'),
  }),
);

export const listQuarantine = /* @__PURE__ */ defineRequest({
  method: 'packer/listQuarantine',
  lane: 'read',
  params: /* @__PURE__ */ lazy(() => z.strictObject({ ...ProjectParams })),
  result: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      revision: Revision,
      entries: z.array(QuarantineEntry).describe('Every quarantined asset, by `assetUuid`.'),
    }),
  ),
  summary:
    'The assets in quarantine, from the snapshot: what a Restore view lists, without reading `.prometeu/quarantine/` itself.',
});
