/**
 * Schemas of the two files people and the packer share on disk: `asset.json` (a declaration) and
 * `assets/.prometeu/index.json` (the registry), with the constants both the server and the published JSON
 * Schemas take their rules from. On-disk keys stay snake_case.
 *
 * The zod schemas check the shape the server parses; rules the server reports with their own diagnostic
 * codes (a known `type`, the output contract of each type, confined input paths and roots) are attached
 * as JSON Schema metadata (`.meta`), so the published schemas are as strict as the server without the
 * server losing those codes.
 */
import { z } from 'zod';
import { lazy } from './lazy.js';

/** The only `schema_version` of `asset.json` this packer understands. */
export const DECLARATION_SCHEMA_VERSION = 1;
/** The only `schema_version` of `index.json` this packer understands. */
export const REGISTRY_SCHEMA_VERSION = 1;

/** Longest path component, in UTF-8 bytes: the NAME_MAX of every file system the packer supports. */
export const MAX_COMPONENT_BYTES = 255;
/**
 * Longest path relative to `assets/`, in UTF-8 bytes. Linux allows 4096 bytes for a whole path (PATH_MAX),
 * and the project root, `assets/`, the quarantine prefix (`.prometeu/quarantine/<uuid>/root/`, 64 bytes)
 * and temporary-file names are added to it; 1024 leaves room for all of them under a project root of up to
 * about 2900 bytes, and stays below Windows' long-path limits.
 */
export const MAX_PATH_BYTES = 1024;
/** Deepest nesting of arrays and objects accepted in `asset.json`, `index.json` and declarations in requests. */
export const MAX_JSON_DEPTH = 64;

/** The output contract of one asset type: the one `output.format` and the `output.codec` values it allows. */
export interface OutputContractRule {
  readonly format: string;
  readonly codecs: readonly string[];
}

/** The asset types this packer builds, each with its output contract. */
export const OUTPUT_CONTRACTS = {
  blob: { format: 'BLOB/raw_v1', codecs: ['NONE'] },
  glyph_bank: { format: 'GLYPH/indexed_v1', codecs: ['NONE'] },
  sound_bank: { format: 'SOUNDS/pcm16le_v1', codecs: ['NONE'] },
} as const satisfies Record<string, OutputContractRule>;
/** An asset type this packer builds. */
export type KnownAssetType = keyof typeof OUTPUT_CONTRACTS;
/** The known asset types, sorted. */
export const KNOWN_ASSET_TYPES = Object.keys(OUTPUT_CONTRACTS).sort() as KnownAssetType[];

/** One character a path component may hold: no slash, backslash, C0/C1 control character or DEL. */
const PATH_CHARACTER = '[^/\\\\\\u0000-\\u001f\\u007f-\\u009f]';
/** One path component that is not `..`. Its byte limit is approximated by a character limit. */
const PATH_SEGMENT = `(?!\\.\\.(?:/|$))${PATH_CHARACTER}{1,${MAX_COMPONENT_BYTES}}`;
/**
 * A confined relative POSIX path, as `checkRelativePath` on the server accepts it: not absolute (no leading
 * `/`, no drive letter), no `..` or empty segment (one trailing slash is tolerated), not only `.` segments.
 */
export const CONFINED_PATH_PATTERN = `^(?![A-Za-z]:)(?!(?:\\.(?:/|$))+$)(?:${PATH_SEGMENT}/)*${PATH_SEGMENT}/?$`;
/** As {@link CONFINED_PATH_PATTERN}, and not inside the packer's control folder `.prometeu` (in any case). */
export const ASSETS_PATH_PATTERN = `^(?!(?:\\./)*\\.[Pp][Rr][Oo][Mm][Ee][Tt][Ee][Uu](?:/|$))${CONFINED_PATH_PATTERN.slice(1)}`;

/**
 * The JSON Schema rules the server enforces with its own diagnostics; attached with `.meta` so they appear
 * in the published schemas only. Byte limits are published as character limits: JSON Schema counts
 * characters, so a path of multi-byte characters can pass the schema and still be refused by the server.
 */
function confinedPathRules(pattern: string): Record<string, unknown> {
  return { pattern, maxLength: MAX_PATH_BYTES };
}

/** A lowercase RFC 4122 UUID, as written in `asset.json`. */
export const AssetUuid = /* @__PURE__ */ lazy(() =>
  z
    .string()
    .regex(
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      'must be a lowercase UUID such as 3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70',
    )
    .describe('Stable identity of an asset; survives moves and renames.'),
);

/** A path relative to an asset root, POSIX separators, no `..` segments, not absolute. */
export const RelativeInputPath = /* @__PURE__ */ lazy(() =>
  z
    .string()
    .min(1, 'must not be empty')
    .meta({
      ...confinedPathRules(CONFINED_PATH_PATTERN),
      description: 'A POSIX path relative to the asset root; it may not be absolute or climb out with `..`.',
    }),
);

/** A top-level `$schema` key, as editors add to attach a JSON Schema; accepted and ignored. */
const SchemaReference = /* @__PURE__ */ lazy(() =>
  z.string().optional().describe('The JSON Schema an editor validates the file with; ignored by the packer.'),
);

/** The `output` block of a declaration. */
export const OutputContract = /* @__PURE__ */ lazy(() =>
  z
    .strictObject({
      format: z.string().min(1).describe('The runtime contract, for example `GLYPH/indexed_v1`.'),
      codec: z.string().min(1).describe('How the bytes are stored; `NONE` for uncompressed.'),
      metadata: z
        .record(z.string(), z.unknown())
        .optional()
        .describe('Format-specific settings, for example `tile_size`.'),
    })
    .describe('What the asset becomes in the artifact.'),
);

/** For each known type, the `output` it requires (published as JSON Schema `if`/`then` rules). */
function outputContractRules(): Record<string, unknown>[] {
  return KNOWN_ASSET_TYPES.map((type) => ({
    if: { properties: { type: { type: 'string', const: type } }, required: ['type'] },
    then: {
      properties: {
        output: {
          type: 'object',
          properties: {
            format: { type: 'string', const: OUTPUT_CONTRACTS[type].format },
            codec: { type: 'string', enum: [...OUTPUT_CONTRACTS[type].codecs] },
          },
        },
      },
    },
  }));
}

/** `asset.json`: makes its folder an asset root and declares the asset. */
export const AssetDeclarationFile = /* @__PURE__ */ lazy(() =>
  z
    .strictObject({
      $schema: SchemaReference,
      schema_version: z.literal(DECLARATION_SCHEMA_VERSION).describe('Version of this file format.'),
      asset_uuid: AssetUuid,
      name: z.string().min(1, 'must not be empty').describe('Human and code-facing label; renaming it keeps identity.'),
      type: z
        .string()
        .min(1)
        .meta({ enum: KNOWN_ASSET_TYPES, description: 'Asset type: one of `blob`, `glyph_bank`, `sound_bank`.' }),
      inputs: z
        .record(z.string().min(1), z.array(RelativeInputPath))
        .describe('Role (such as `sprites` or `palettes`) to the list of input paths, relative to the root.'),
      output: OutputContract,
      preload: z.strictObject({ enabled: z.boolean() }).describe('Whether the runtime preloads this asset.'),
      build: z.record(z.string(), z.unknown()).optional().describe('Optional build hints.'),
    })
    .meta({ allOf: outputContractRules(), description: 'asset.json: the anchor file of an asset root.' }),
);
export type AssetDeclarationFile = z.infer<typeof AssetDeclarationFile>;

/** One registry entry. */
export const RegistryEntry = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    asset_id: z.number().int().positive().describe('Runtime id; allocated once, never reused.'),
    asset_uuid: AssetUuid,
    root: z
      .string()
      .min(1)
      .meta({
        ...confinedPathRules(ASSETS_PATH_PATTERN),
        description: 'POSIX path of the root, relative to `assets/`; not absolute, no `..`, not inside `.prometeu`.',
      }),
    included_in_build: z.boolean().describe('Whether a pack includes the asset.'),
  }),
);
export type RegistryEntry = z.infer<typeof RegistryEntry>;

/** `assets/.prometeu/index.json`: the one authority on what is registered. */
export const RegistryFile = /* @__PURE__ */ lazy(() =>
  z
    .strictObject({
      $schema: SchemaReference,
      schema_version: z.literal(REGISTRY_SCHEMA_VERSION).describe('Version of this file format.'),
      next_asset_id: z.number().int().positive().describe('The id the next registration receives.'),
      assets: z.array(RegistryEntry).describe('Entries sorted by `asset_id`.'),
    })
    .describe('index.json: the asset registry of a project.'),
);
export type RegistryFile = z.infer<typeof RegistryFile>;
