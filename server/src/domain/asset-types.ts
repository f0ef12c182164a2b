/**
 * The asset types this packer knows and the output contract each one allows. Formats that materialise
 * bytes build on this table; diagnostics use it to check declarations.
 */

/** The contract of one asset type. */
export interface AssetTypeContract {
  /** The only `output.format` allowed for the type. */
  readonly format: string;
  /** The `output.codec` values allowed for the type. */
  readonly codecs: readonly string[];
  /** The runtime bank type written into the asset table. */
  readonly bankType: string;
}

/** Known asset types. */
export const ASSET_TYPES: Readonly<Record<string, AssetTypeContract>> = Object.freeze({
  glyph_bank: { format: 'GLYPH/indexed_v1', codecs: ['NONE'], bankType: 'GLYPH' },
  sound_bank: { format: 'SOUNDS/pcm16le_v1', codecs: ['NONE'], bankType: 'SOUNDS' },
  blob: { format: 'BLOB/raw_v1', codecs: ['NONE'], bankType: 'BLOB' },
});

/** The contract of a type, or undefined when the type is unknown. */
export function contractOf(type: string): AssetTypeContract | undefined {
  return Object.hasOwn(ASSET_TYPES, type) ? ASSET_TYPES[type] : undefined;
}
