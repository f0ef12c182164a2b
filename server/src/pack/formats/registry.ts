/** The registry of output formats: adding a format is one new file and one line here. */
import { BLOB_RAW_V1 } from './blob-raw.js';
import type { AssetFormat } from './format.js';
import { GLYPH_INDEXED_V1 } from './glyph-indexed.js';
import { SOUND_PCM16LE_V1 } from './sound-pcm16.js';

/** Every format the packer can build, by `output.format`. */
export const FORMATS: ReadonlyMap<string, AssetFormat> = new Map(
  [BLOB_RAW_V1, GLYPH_INDEXED_V1, SOUND_PCM16LE_V1].map((format) => [format.format, format]),
);

/** The format named by `output.format`, or undefined when the packer has none. */
export function formatNamed(name: string): AssetFormat | undefined {
  return FORMATS.get(name);
}
