/**
 * The asset types this packer knows and the output contract each one allows. Formats that materialise
 * bytes build on this table; diagnostics use it to check declarations.
 */
import { OUTPUT_CONTRACTS } from '@prometeu/packer-protocol';

/** The contract of one asset type. */
export interface AssetTypeContract {
  /** The only `output.format` allowed for the type. */
  readonly format: string;
  /** The `output.codec` values allowed for the type. */
  readonly codecs: readonly string[];
  /** The runtime bank type written into the asset table. */
  readonly bankType: string;
}

/** Known asset types: the output contracts of the protocol (which the published schemas state too) and their bank types. */
export const ASSET_TYPES: Readonly<Record<string, AssetTypeContract>> = Object.freeze({
  glyph_bank: { ...OUTPUT_CONTRACTS.glyph_bank, bankType: 'GLYPH' },
  sound_bank: { ...OUTPUT_CONTRACTS.sound_bank, bankType: 'SOUNDS' },
  blob: { ...OUTPUT_CONTRACTS.blob, bankType: 'BLOB' },
});

/** The contract of a type, or undefined when the type is unknown. */
export function contractOf(type: string): AssetTypeContract | undefined {
  return Object.hasOwn(ASSET_TYPES, type) ? ASSET_TYPES[type] : undefined;
}
