/**
 * `GLYPH/indexed_v1`: PNG tiles mapped through declared palettes onto one 256×256 sheet of 4-bit
 * palette indices, followed by 64 palettes of 16 RGB565 colours. The layout is specified in docs/formats.md.
 */
import type { Diagnostic } from '@prometeu/packer-protocol';
import { PNG } from 'pngjs';
import { ASSET_TYPES } from '../../domain/asset-types.js';
import {
  canonicalInputPath,
  checkMetadataKeys,
  checkRoles,
  declarationProblem,
  declaredInputs,
  describeValue,
  inputProblem,
  metadataOf,
  type AssetFormat,
  type BlockedAsset,
  type FormatAsset,
  type MaterializedAsset,
  type RoleRule,
} from './format.js';

/** Width and height of the sheet, in pixels. */
export const GLYPH_SHEET_SIZE = 256;
/** Number of palettes stored after the sheet. */
export const GLYPH_PALETTE_SLOTS = 64;
/** Colours per palette. */
export const GLYPH_PALETTE_COLORS = 16;
/** Bytes of the palette block: 64 palettes × 16 colours × 2 bytes. */
export const GLYPH_PALETTE_BYTES = GLYPH_PALETTE_SLOTS * GLYPH_PALETTE_COLORS * 2;
/** The allowed `tile_size` values. */
export const GLYPH_TILE_SIZES: readonly number[] = [8, 16, 32];

const SHEET_PIXELS = GLYPH_SHEET_SIZE * GLYPH_SHEET_SIZE;
const SHEET_BYTES = Math.ceil(SHEET_PIXELS / 2);
const COLOR_PATTERN = /^#[0-9a-fA-F]{6}$/;
const TILE_ENTRY_KEYS = ['index', 'palette', 'source'];
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** One placement from `output.metadata.tiles`. */
interface TilePlacement {
  readonly where: string;
  readonly index: number;
  readonly source: string;
  readonly palette: number;
}

/** What the analysis of one asset found. */
interface GlyphAnalysis {
  readonly problems: Diagnostic[];
  readonly tileSize: number;
  /** One palette index per sheet pixel, row-major; meaningful only when `problems` is empty. */
  readonly sheet: Uint8Array;
  /** The declared palettes as 24-bit RGB integers. */
  readonly palettes: (readonly number[] | null)[];
  readonly tileCount: number;
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function listSome(values: readonly number[], limit = 8): string {
  const shown = values.slice(0, limit).join(', ');
  return values.length > limit ? `${shown} and ${values.length - limit} more` : shown;
}

function hexColor(rgb: number): string {
  return `#${rgb.toString(16).padStart(6, '0')}`;
}

/** Parses a palette file `{ "colors": ["#rrggbb", ...] }` into 24-bit RGB integers, or says what is wrong. */
function parsePalette(bytes: Uint8Array): number[] | string {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'is not UTF-8 text; a palette is a JSON file { "colors": ["#rrggbb", ...] }.';
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    return `is not valid JSON (${error instanceof Error ? error.message : String(error)}); a palette is { "colors": ["#rrggbb", ...] }.`;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return 'must hold a JSON object { "colors": ["#rrggbb", ...] }.';
  const extra = Object.keys(raw).filter((key) => key !== 'colors');
  if (extra.length > 0) return `has key ${extra.map((key) => `"${key}"`).join(', ')}; a palette holds only "colors".`;
  const colors = (raw as Record<string, unknown>)['colors'];
  if (!Array.isArray(colors))
    return `has colors ${describeValue(colors)}; it must be a list of 1 to ${GLYPH_PALETTE_COLORS} "#rrggbb" strings.`;
  if (colors.length === 0) return `lists no colours; a palette holds 1 to ${GLYPH_PALETTE_COLORS}.`;
  if (colors.length > GLYPH_PALETTE_COLORS)
    return `lists ${colors.length} colours; a palette holds at most ${GLYPH_PALETTE_COLORS}.`;
  const parsed: number[] = [];
  const bad: string[] = [];
  colors.forEach((color: unknown, index) => {
    if (typeof color === 'string' && COLOR_PATTERN.test(color)) parsed.push(Number.parseInt(color.slice(1), 16));
    else bad.push(`colors[${index}] is ${describeValue(color)}`);
  });
  if (bad.length > 0)
    return `has malformed colours: ${bad.slice(0, 4).join(', ')}${bad.length > 4 ? ` and ${bad.length - 4} more` : ''}; each colour is written "#rrggbb".`;
  return parsed;
}

/** The input roles of a glyph bank. */
const GLYPH_ROLES: readonly RoleRule[] = [
  {
    role: 'tiles',
    min: 1,
    max: 1024,
    describe: 'tile images',
    content:
      'PNG images of output.metadata.tile_size (8, 16 or 32) pixels square; output.metadata.tiles places each one by index with a palette.',
  },
  {
    role: 'palettes',
    min: 1,
    max: GLYPH_PALETTE_SLOTS,
    describe: 'palette files',
    content: `JSON files { "colors": [...] } of 1 to ${GLYPH_PALETTE_COLORS} "#rrggbb" colours; a tile names one by its position in the list.`,
  },
];

/** Reads `output.metadata` and the roles; returns the placements it could make sense of. */
function readPlacements(asset: FormatAsset, problems: Diagnostic[]): { tileSize: number; placements: TilePlacement[] } {
  problems.push(...checkRoles(asset, GLYPH_ROLES));
  problems.push(...checkMetadataKeys(asset, ['tile_size', 'tiles']));
  const metadata = metadataOf(asset);
  const tilePaths = new Set(declaredInputs(asset, 'tiles'));
  const paletteCount = declaredInputs(asset, 'palettes').length;

  const rawSize = metadata['tile_size'];
  let tileSize = 0;
  if (typeof rawSize === 'number' && GLYPH_TILE_SIZES.includes(rawSize)) tileSize = rawSize;
  else
    problems.push(
      declarationProblem(asset, `output.metadata.tile_size is ${describeValue(rawSize)}; it must be 8, 16 or 32.`),
    );
  const capacity = tileSize === 0 ? 0 : (GLYPH_SHEET_SIZE / tileSize) ** 2;

  const rawTiles = metadata['tiles'];
  if (!Array.isArray(rawTiles)) {
    problems.push(
      declarationProblem(
        asset,
        `output.metadata.tiles is ${describeValue(rawTiles)}; it must list the tiles as { "index": n, "source": "path.png", "palette": p }.`,
      ),
    );
    return { tileSize, placements: [] };
  }
  if (rawTiles.length === 0)
    problems.push(declarationProblem(asset, 'output.metadata.tiles lists no tiles; a glyph bank holds at least one.'));

  const placements: TilePlacement[] = [];
  const firstByIndex = new Map<number, string>();
  const used = new Set<string>();
  rawTiles.forEach((raw: unknown, position) => {
    const where = `output.metadata.tiles[${position}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(
        declarationProblem(
          asset,
          `${where} is ${describeValue(raw)}; it must be { "index": n, "source": "path.png", "palette": p }.`,
        ),
      );
      return;
    }
    const entry = raw as Record<string, unknown>;
    const unknown = Object.keys(entry)
      .filter((key) => !TILE_ENTRY_KEYS.includes(key))
      .sort();
    if (unknown.length > 0)
      problems.push(
        declarationProblem(
          asset,
          `${where} has key ${unknown.map((key) => `"${key}"`).join(', ')}; a tile entry has only "index", "source" and "palette".`,
        ),
      );
    let ok = unknown.length === 0;
    const index = entry['index'];
    if (!isIndex(index)) {
      problems.push(
        declarationProblem(asset, `${where}.index is ${describeValue(index)}; it must be an integer from 0.`),
      );
      ok = false;
    } else if (capacity > 0 && index >= capacity) {
      problems.push(
        declarationProblem(
          asset,
          `${where}.index is ${index}, but a sheet of ${tileSize}×${tileSize} tiles holds ${capacity} (indices 0 to ${capacity - 1}).`,
        ),
      );
      ok = false;
    } else if (firstByIndex.has(index)) {
      problems.push(
        declarationProblem(
          asset,
          `${where} and ${firstByIndex.get(index)!} both have index ${index}; each index holds one tile.`,
        ),
      );
      ok = false;
    } else {
      firstByIndex.set(index, where);
    }
    const rawSource = entry['source'];
    const source = typeof rawSource === 'string' ? canonicalInputPath(rawSource) : null;
    if (source === null || !tilePaths.has(source)) {
      problems.push(
        declarationProblem(
          asset,
          `${where}.source is ${describeValue(rawSource)}; it must be one of the paths listed in inputs.tiles.`,
        ),
      );
      ok = false;
    } else {
      used.add(source);
    }
    const palette = entry['palette'];
    if (!isIndex(palette) || palette >= paletteCount) {
      problems.push(
        declarationProblem(
          asset,
          paletteCount === 0
            ? `${where}.palette is ${describeValue(palette)}, but inputs.palettes lists no palette.`
            : `${where}.palette is ${describeValue(palette)}; it must be the position of a file in inputs.palettes (0 to ${paletteCount - 1}).`,
        ),
      );
      ok = false;
    }
    if (ok) placements.push({ where, index: index as number, source: source!, palette: palette as number });
  });

  // Gaps: the indices below the highest one that no entry claims. Only against a known sheet: there every index
  // kept is below its capacity (at most 1,024), while without one (a tile_size already refused above) an index
  // may be any integer, and listing the gaps below 2,000,000,000 would exhaust the memory of the thread checking.
  if (capacity > 0 && firstByIndex.size > 0) {
    const highest = Math.max(...firstByIndex.keys());
    const missing: number[] = [];
    for (let index = 0; index <= highest; index++) if (!firstByIndex.has(index)) missing.push(index);
    if (missing.length > 0) {
      problems.push(
        declarationProblem(
          asset,
          `tile indices must run from 0 without gaps, but ${missing.length === 1 ? 'index' : 'indices'} ${listSome(missing)} ${missing.length === 1 ? 'is' : 'are'} not declared (highest is ${highest}).`,
        ),
      );
    }
  }
  for (const path of tilePaths) {
    if (!used.has(path))
      problems.push(
        declarationProblem(asset, `inputs.tiles lists ${path}, but no entry of output.metadata.tiles uses it.`),
      );
  }
  return { tileSize, placements };
}

function inputBytes(asset: FormatAsset, path: string): Uint8Array {
  const bytes = asset.inputs.get(path);
  if (bytes === undefined) throw new Error(`GLYPH/indexed_v1: input ${path} of ${asset.root} was not provided.`);
  return bytes;
}

/** Decodes a tile image with pngjs, or says why it cannot be used. */
function decodeTile(bytes: Uint8Array, tileSize: number): { data: Uint8Array } | string {
  // The PNG specification puts IHDR first: its size fields are read before decoding, so that a huge
  // image is refused without allocating its pixels.
  if (
    bytes.length >= 24 &&
    PNG_SIGNATURE.every((byte, index) => bytes[index] === byte) &&
    String.fromCharCode(...bytes.subarray(12, 16)) === 'IHDR'
  ) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const [width, height] = [view.getUint32(16), view.getUint32(20)];
    if (width !== tileSize || height !== tileSize)
      return `is ${width}×${height} pixels; tiles of this bank are ${tileSize}×${tileSize}.`;
  }
  let image: PNG;
  try {
    image = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (error) {
    return `is not a PNG image that decodes (${error instanceof Error ? error.message : String(error)}).`;
  }
  if (image.width !== tileSize || image.height !== tileSize)
    return `is ${image.width}×${image.height} pixels; tiles of this bank are ${tileSize}×${tileSize}.`;
  return { data: image.data };
}

/** Validates everything and, when nothing blocks, fills the sheet. */
function analyse(asset: FormatAsset): GlyphAnalysis {
  const problems: Diagnostic[] = [];
  const { tileSize, placements } = readPlacements(asset, problems);

  const palettePaths = declaredInputs(asset, 'palettes');
  // A path listed twice is reported by checkRoles; each file is parsed and reported once.
  const parsedPalettes = new Map<string, number[] | null>();
  for (const path of new Set(palettePaths)) {
    const parsed = parsePalette(inputBytes(asset, path));
    if (typeof parsed === 'string') problems.push(inputProblem(asset, path, parsed));
    parsedPalettes.set(path, typeof parsed === 'string' ? null : parsed);
  }
  const palettes = palettePaths.map((path) => parsedPalettes.get(path)!);

  const sheet = new Uint8Array(SHEET_PIXELS);
  if (tileSize === 0) return { problems, tileSize, sheet, palettes, tileCount: 0 };
  const decoded = new Map<string, { data: Uint8Array } | null>();
  for (const path of new Set(declaredInputs(asset, 'tiles'))) {
    const tile = decodeTile(inputBytes(asset, path), tileSize);
    if (typeof tile === 'string') {
      problems.push(inputProblem(asset, path, tile));
      decoded.set(path, null);
    } else {
      decoded.set(path, tile);
    }
  }

  const perRow = GLYPH_SHEET_SIZE / tileSize;
  for (const placement of placements) {
    const tile = decoded.get(placement.source);
    const palette = palettes[placement.palette];
    if (!tile || !palette) continue;
    const lookup = new Map<number, number>();
    palette.forEach((rgb, index) => {
      if (!lookup.has(rgb)) lookup.set(rgb, index);
    });
    const originX = (placement.index % perRow) * tileSize;
    const originY = Math.floor(placement.index / perRow) * tileSize;
    let outside = 0;
    let firstOutside = '';
    let translucent = 0;
    let firstTranslucent = '';
    for (let y = 0; y < tileSize; y++) {
      for (let x = 0; x < tileSize; x++) {
        const offset = (y * tileSize + x) * 4;
        const alpha = tile.data[offset + 3]!;
        let index = 0;
        if (alpha === 255) {
          const rgb = (tile.data[offset]! << 16) | (tile.data[offset + 1]! << 8) | tile.data[offset + 2]!;
          const found = lookup.get(rgb);
          if (found === undefined) {
            if (outside++ === 0) firstOutside = `pixel (${x}, ${y}) has colour ${hexColor(rgb)}`;
          } else {
            index = found;
          }
        } else if (alpha !== 0) {
          if (translucent++ === 0) firstTranslucent = `pixel (${x}, ${y}) has alpha ${alpha}`;
        }
        sheet[(originY + y) * GLYPH_SHEET_SIZE + originX + x] = index;
      }
    }
    const paletteName = `palette ${placement.palette} (${palettePaths[placement.palette]})`;
    if (outside > 0) {
      problems.push(
        inputProblem(
          asset,
          placement.source,
          `(${placement.where}, tile ${placement.index}): ${firstOutside}, which ${paletteName} does not hold; ${outside} ${outside === 1 ? 'pixel has a colour' : 'pixels have colours'} outside the palette.`,
        ),
      );
    }
    if (translucent > 0) {
      problems.push(
        inputProblem(
          asset,
          placement.source,
          `(${placement.where}, tile ${placement.index}): ${firstTranslucent}; ${translucent} ${translucent === 1 ? 'pixel is' : 'pixels are'} partly transparent. Pixels must be opaque (alpha 255) or fully transparent (alpha 0, written as index 0).`,
        ),
      );
    }
  }
  return { problems, tileSize, sheet, palettes, tileCount: placements.length };
}

/** Packs a colour as RGB565: the top 5 bits of red, 6 of green, 5 of blue. */
export function rgb565(rgb: number): number {
  return (((rgb >> 19) & 0x1f) << 11) | (((rgb >> 10) & 0x3f) << 5) | ((rgb >> 3) & 0x1f);
}

function validate(asset: FormatAsset): Diagnostic[] {
  return analyse(asset).problems;
}

function materialize(asset: FormatAsset): MaterializedAsset | BlockedAsset {
  const analysis = analyse(asset);
  if (analysis.problems.length > 0) return { blocked: analysis.problems };
  const payload = new Uint8Array(SHEET_BYTES + GLYPH_PALETTE_BYTES);
  const { sheet } = analysis;
  // Two pixels per byte: the even-x pixel in the low nibble, the odd-x pixel in the high nibble.
  for (let pixel = 0; pixel < SHEET_PIXELS; pixel += 2)
    payload[pixel >> 1] = (sheet[pixel]! & 0x0f) | ((sheet[pixel + 1]! & 0x0f) << 4);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  analysis.palettes.forEach((palette, slot) => {
    palette!.forEach((rgb, color) =>
      view.setUint16(SHEET_BYTES + (slot * GLYPH_PALETTE_COLORS + color) * 2, rgb565(rgb), true),
    );
  });
  return {
    payload,
    decodedSize: SHEET_PIXELS + GLYPH_PALETTE_BYTES,
    bankType: ASSET_TYPES['glyph_bank']!.bankType,
    codec: 'NONE',
    metadata: {
      tile_size: analysis.tileSize,
      width: GLYPH_SHEET_SIZE,
      height: GLYPH_SHEET_SIZE,
      palette_count: analysis.palettes.length,
      tile_count: analysis.tileCount,
    },
  };
}

/** The indexed glyph bank format: type `glyph_bank`, inputs `tiles` (PNG) and `palettes` (JSON). */
export const GLYPH_INDEXED_V1: AssetFormat = Object.freeze({
  format: 'GLYPH/indexed_v1',
  type: 'glyph_bank',
  version: 1,
  inputRoles: GLYPH_ROLES,
  cached: true,
  validate,
  materialize,
});
