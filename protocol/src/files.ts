/**
 * Schemas of the two files people and the packer share on disk: `asset.json` (a declaration) and
 * `assets/.prometeu/index.json` (the registry). On-disk keys stay snake_case; the JSON Schemas published
 * for editors are generated from these.
 */
import { z } from 'zod';

/** The only `schema_version` of `asset.json` this packer understands. */
export const DECLARATION_SCHEMA_VERSION = 1;
/** The only `schema_version` of `index.json` this packer understands. */
export const REGISTRY_SCHEMA_VERSION = 1;

/** A lowercase RFC 4122 UUID, as written in `asset.json`. */
export const AssetUuid = z
  .string()
  .regex(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    'must be a lowercase UUID such as 3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70',
  )
  .describe('Stable identity of an asset; survives moves and renames.');

/** A path relative to an asset root, POSIX separators, no `..` segments, not absolute. */
export const RelativeInputPath = z
  .string()
  .min(1, 'must not be empty')
  .describe('A POSIX path relative to the asset root; it may not be absolute or climb out with `..`.');

/** The `output` block of a declaration. */
export const OutputContract = z
  .strictObject({
    format: z.string().min(1).describe('The runtime contract, for example `GLYPH/indexed_v1`.'),
    codec: z.string().min(1).describe('How the bytes are stored; `NONE` for uncompressed.'),
    metadata: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Format-specific settings, for example `tile_size`.'),
  })
  .describe('What the asset becomes in the artifact.');

/** `asset.json`: makes its folder an asset root and declares the asset. */
export const AssetDeclarationFile = z
  .strictObject({
    schema_version: z.literal(DECLARATION_SCHEMA_VERSION).describe('Version of this file format.'),
    asset_uuid: AssetUuid,
    name: z.string().min(1, 'must not be empty').describe('Human and code-facing label; renaming it keeps identity.'),
    type: z.string().min(1).describe('Asset type, for example `glyph_bank`, `sound_bank` or `blob`.'),
    inputs: z
      .record(z.string().min(1), z.array(RelativeInputPath))
      .describe('Role (such as `sprites` or `palettes`) to the list of input paths, relative to the root.'),
    output: OutputContract,
    preload: z.strictObject({ enabled: z.boolean() }).describe('Whether the runtime preloads this asset.'),
    build: z.record(z.string(), z.unknown()).optional().describe('Optional build hints.'),
  })
  .describe('asset.json: the anchor file of an asset root.');
export type AssetDeclarationFile = z.infer<typeof AssetDeclarationFile>;

/** One registry entry. */
export const RegistryEntry = z.strictObject({
  asset_id: z.number().int().positive().describe('Runtime id; allocated once, never reused.'),
  asset_uuid: AssetUuid,
  root: z.string().min(1).describe('POSIX path of the root, relative to `assets/`.'),
  included_in_build: z.boolean().describe('Whether a pack includes the asset.'),
});
export type RegistryEntry = z.infer<typeof RegistryEntry>;

/** `assets/.prometeu/index.json`: the one authority on what is registered. */
export const RegistryFile = z
  .strictObject({
    schema_version: z.literal(REGISTRY_SCHEMA_VERSION).describe('Version of this file format.'),
    next_asset_id: z.number().int().positive().describe('The id the next registration receives.'),
    assets: z.array(RegistryEntry).describe('Entries sorted by `asset_id`.'),
  })
  .describe('index.json: the asset registry of a project.');
export type RegistryFile = z.infer<typeof RegistryFile>;
