/**
 * An independent reader of `assets.pa`, written from docs/formats.md alone. It shares no code with the
 * packer on purpose: a test that packs with one and reads with the other checks the document as well.
 */

/** The magic bytes of docs/formats.md. */
const MAGIC = [0x50, 0x52, 0x4f, 0x4d, 0x50, 0x41, 0x00, 0x00];
const PRELUDE_BYTES = 32;
const ENTRY_KEYS = ['asset_id', 'asset_name', 'bank_type', 'codec', 'decoded_size', 'metadata', 'offset', 'size'];

/** One row of the asset table, with its bytes. */
export interface PaEntry {
  readonly assetId: number;
  readonly assetName: string;
  readonly bankType: string;
  readonly codec: string;
  readonly decodedSize: number;
  readonly metadata: Record<string, unknown>;
  readonly offset: number;
  readonly size: number;
  /** The entry's slice of the payload region. */
  readonly bytes: Uint8Array;
}

/** What a valid `assets.pa` says. */
export interface PaFile {
  readonly schemaVersion: number;
  readonly headerLen: number;
  readonly payloadOffset: number;
  /** The header text exactly as stored. */
  readonly headerText: string;
  /** The `asset_table` value's text, as it appears inside the header. */
  readonly assetTableText: string;
  /** The `preload` value's text, as it appears inside the header. */
  readonly preloadText: string;
  readonly entries: readonly PaEntry[];
  readonly preload: readonly number[];
}

/** A violation of the format. */
export class PaFormatError extends Error {
  override readonly name = 'PaFormatError';
}

function fail(message: string): never {
  throw new PaFormatError(message);
}

function hex4(unit: number): string {
  return `\\u${unit.toString(16).padStart(4, '0')}`;
}

/** Writes a string by the escaping rules of the document, one UTF-16 unit at a time. */
function quote(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit === 0x22) out += '\\"';
    else if (unit === 0x5c) out += '\\\\';
    else if (unit === 0x08) out += '\\b';
    else if (unit === 0x09) out += '\\t';
    else if (unit === 0x0a) out += '\\n';
    else if (unit === 0x0c) out += '\\f';
    else if (unit === 0x0d) out += '\\r';
    else if (unit < 0x20) out += hex4(unit);
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : -1;
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += text[i]! + text[i + 1]!;
        i++;
      } else out += hex4(unit);
    } else if (unit >= 0xdc00 && unit <= 0xdfff) out += hex4(unit);
    else out += text[i]!;
  }
  return `${out}"`;
}

/** Re-serialises a parsed value by the document's canonical rules; fails on anything they forbid. */
export function canonicalize(value: unknown): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER)
      fail(`number ${value} is not a safe integer`);
    return value === 0 ? '0' : String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    // UTF-16 code unit order, spelled out rather than relying on a library helper.
    keys.sort((a, b) => {
      const n = Math.min(a.length, b.length);
      for (let i = 0; i < n; i++) if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.charCodeAt(i) - b.charCodeAt(i);
      return a.length - b.length;
    });
    return `{${keys.map((key) => `${quote(key)}:${canonicalize((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return fail(`value of type ${typeof value} cannot appear in canonical JSON`);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Parses and checks every rule of docs/formats.md that `assets.pa` alone can show. Throws {@link PaFormatError}. */
export function readAssetsPa(file: Uint8Array): PaFile {
  if (file.length < PRELUDE_BYTES) fail(`file is ${file.length} bytes, shorter than the 32-byte prelude`);
  for (let i = 0; i < MAGIC.length; i++)
    if (file[i] !== MAGIC[i]) fail(`magic byte ${i} is ${file[i]}, expected ${MAGIC[i]}`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const schemaVersion = view.getUint32(8, true);
  const headerLen = view.getUint32(12, true);
  const payloadOffsetBig = view.getBigUint64(16, true);
  const flags = view.getUint32(24, true);
  const reserved = view.getUint32(28, true);
  if (schemaVersion !== 1) fail(`schema_version ${schemaVersion}, expected 1`);
  if (flags !== 0) fail(`flags ${flags}, expected 0`);
  if (reserved !== 0) fail(`reserved ${reserved}, expected 0`);
  if (payloadOffsetBig > BigInt(file.length))
    fail(`payload_offset ${payloadOffsetBig} lies past the end of the file (${file.length})`);
  const payloadOffset = Number(payloadOffsetBig);
  const headerEnd = PRELUDE_BYTES + headerLen;
  if (headerEnd > payloadOffset) fail(`header ends at ${headerEnd}, after payload_offset ${payloadOffset}`);
  const expectedOffset = Math.ceil(headerEnd / 16) * 16;
  if (payloadOffset !== expectedOffset)
    fail(`payload_offset ${payloadOffset}, expected align16(32 + ${headerLen}) = ${expectedOffset}`);
  for (let i = headerEnd; i < payloadOffset; i++)
    if (file[i] !== 0) fail(`padding byte at ${i} is ${file[i]}, expected 0`);

  let headerText: string;
  try {
    headerText = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(
      file.subarray(PRELUDE_BYTES, headerEnd),
    );
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(headerText);
  } catch (error) {
    return fail(`header is not JSON: ${String(error)}`);
  }
  if (canonicalize(header) !== headerText) fail('header is not canonical JSON (re-serialising it gives other bytes)');
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not an object');
  const top = header as Record<string, unknown>;
  if (Object.keys(top).sort().join(',') !== 'asset_table,preload')
    fail(`header keys are ${Object.keys(top).join(',')}, expected asset_table and preload`);
  const table = top['asset_table'];
  const preload = top['preload'];
  if (!Array.isArray(table)) fail('asset_table is not a list');
  if (!Array.isArray(preload)) fail('preload is not a list');

  const entries: PaEntry[] = [];
  let previousId = 0;
  let previousEnd = 0;
  table.forEach((raw: unknown, position) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      fail(`asset_table[${position}] is not an object`);
    const row = raw as Record<string, unknown>;
    if (Object.keys(row).sort().join(',') !== ENTRY_KEYS.join(','))
      fail(`asset_table[${position}] has keys ${Object.keys(row).sort().join(',')}`);
    const {
      asset_id: id,
      asset_name: name,
      bank_type: bank,
      codec,
      decoded_size: decoded,
      metadata,
      offset,
      size,
    } = row;
    if (!isCount(id) || id < 1) fail(`asset_table[${position}].asset_id is ${String(id)}`);
    if (id <= previousId) fail(`asset_table is not sorted by asset_id: ${id} follows ${previousId}`);
    if (typeof name !== 'string' || typeof bank !== 'string' || typeof codec !== 'string')
      fail(`asset_table[${position}] has a non-string name, bank_type or codec`);
    if (!isCount(decoded) || !isCount(offset) || !isCount(size))
      fail(`asset_table[${position}] has a non-count decoded_size, offset or size`);
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
      fail(`asset_table[${position}].metadata is not an object`);
    if (offset % 16 !== 0) fail(`asset_table[${position}].offset ${offset} is not a multiple of 16`);
    const expectedStart = Math.ceil(previousEnd / 16) * 16;
    if (offset !== expectedStart)
      fail(
        `asset_table[${position}] starts at ${offset}; the previous asset ends at ${previousEnd}, so it must start at ${expectedStart}`,
      );
    const start = payloadOffset + offset;
    if (start + size > file.length)
      fail(`asset_table[${position}] runs to ${start + size}, past the end of the file (${file.length})`);
    for (let i = payloadOffset + previousEnd; i < start; i++) if (file[i] !== 0) fail(`gap byte at ${i} is not zero`);
    entries.push({
      assetId: id,
      assetName: name,
      bankType: bank,
      codec,
      decodedSize: decoded,
      metadata: metadata as Record<string, unknown>,
      offset,
      size,
      bytes: file.subarray(start, start + size),
    });
    previousId = id;
    previousEnd = offset + size;
  });
  if (payloadOffset + previousEnd !== file.length)
    fail(`file is ${file.length} bytes; the payload region ends at ${payloadOffset + previousEnd}`);
  const ids = new Set(entries.map((entry) => entry.assetId));
  let previousPreload = 0;
  for (const id of preload) {
    if (!isCount(id) || id <= previousPreload)
      fail(`preload is not an ascending list of asset ids: ${String(id)} after ${previousPreload}`);
    if (!ids.has(id)) fail(`preload names asset ${id}, which is not in asset_table`);
    previousPreload = id;
  }
  const assetTableText = canonicalize(table);
  const preloadText = canonicalize(preload);
  if (headerText !== `{"asset_table":${assetTableText},"preload":${preloadText}}`)
    fail('header is not exactly {"asset_table":...,"preload":...}');
  return {
    schemaVersion,
    headerLen,
    payloadOffset,
    headerText,
    assetTableText,
    preloadText,
    entries,
    preload: preload as number[],
  };
}

/** Checks that the two mirror files are the header's parts followed by one newline. */
export function checkMirrors(pa: PaFile, assetTableJson: string, preloadJson: string): void {
  if (assetTableJson !== `${pa.assetTableText}\n`)
    fail('asset_table.json is not the header asset_table followed by a newline');
  if (preloadJson !== `${pa.preloadText}\n`) fail('preload.json is not the header preload followed by a newline');
}

/** A decoded `GLYPH/indexed_v1` payload. */
export interface GlyphPayload {
  /** Palette index of pixel (x, y) of the 256×256 sheet. */
  indexAt(x: number, y: number): number;
  /** RGB565 value of colour `c` of palette `p`. */
  color(p: number, c: number): number;
}

/** Reads a glyph payload by the layout of docs/formats.md. */
export function readGlyphPayload(bytes: Uint8Array): GlyphPayload {
  if (bytes.length !== 32768 + 2048) fail(`glyph payload is ${bytes.length} bytes, expected 34816`);
  return {
    indexAt(x, y) {
      const byte = bytes[(y * 256 + x) >> 1]!;
      return x % 2 === 0 ? byte & 0x0f : byte >> 4;
    },
    color(p, c) {
      const at = 32768 + (p * 16 + c) * 2;
      return bytes[at]! | (bytes[at + 1]! << 8);
    },
  };
}

/** A sample range of a `SOUNDS/pcm16le_v1` entry, with its bytes. */
export interface SoundSample {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Splits a sound bank entry into its samples, checking that the ranges tile the payload. */
export function readSoundSamples(entry: PaEntry): SoundSample[] {
  const samples = entry.metadata['samples'];
  if (!Array.isArray(samples)) fail('sound metadata has no samples list');
  let cursor = 0;
  const found: SoundSample[] = [];
  for (const raw of samples as unknown[]) {
    const sample = raw as { name?: unknown; offset?: unknown; size?: unknown };
    if (typeof sample.name !== 'string' || !isCount(sample.offset) || !isCount(sample.size))
      fail('malformed sample range');
    if (sample.offset !== cursor) fail(`sample ${sample.name} starts at ${sample.offset}, expected ${cursor}`);
    cursor += sample.size;
    if (cursor > entry.size) fail(`sample ${sample.name} runs past the payload`);
    found.push({ name: sample.name, bytes: entry.bytes.subarray(sample.offset, sample.offset + sample.size) });
  }
  if (cursor !== entry.size) fail(`samples cover ${cursor} of ${entry.size} bytes`);
  return found;
}
