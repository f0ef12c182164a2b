/** The `assets.pa` writer and its companion files; the byte layout is specified in docs/formats.md. */
import { createHash, hash, type Hash } from 'node:crypto';
import { canonicalJson, canonicalJsonSliced, canonicalJsonSlicedPieces, type JsonObject } from './canonical-json.js';
import { SliceClock } from './slice.js';

/** The 8 magic bytes that open `assets.pa`: ASCII `PROMPA` then two zero bytes. */
export const PA_MAGIC: Uint8Array = Uint8Array.of(0x50, 0x52, 0x4f, 0x4d, 0x50, 0x41, 0x00, 0x00);
/** The `schema_version` this writer produces. */
export const PA_SCHEMA_VERSION = 1;
/** Size of the fixed prelude in bytes; the header starts right after it. */
export const PA_PRELUDE_SIZE = 32;
/** Alignment of the payload region (relative to the file start) and of every asset inside it (relative to the payload start). */
export const PA_ALIGNMENT = 16;

/** One asset to lay out, in `asset_id` order. */
export interface PaAsset {
  readonly assetId: number;
  readonly assetName: string;
  readonly bankType: string;
  readonly codec: string;
  readonly decodedSize: number;
  readonly metadata: JsonObject;
  readonly payload: Uint8Array;
  readonly preload: boolean;
}

/** One entry of the header's `asset_table`, keys as written. */
export interface AssetTableEntry {
  readonly asset_id: number;
  readonly asset_name: string;
  readonly bank_type: string;
  readonly codec: string;
  readonly decoded_size: number;
  readonly metadata: JsonObject;
  /** Relative to the payload start. */
  readonly offset: number;
  readonly size: number;
}

/** A laid-out `assets.pa` and the pieces the companion files mirror. */
export interface AssetsPa {
  /**
   * The file's bytes in order, never joined: the prelude, header and padding up to the payload offset,
   * then each payload (the payload arrays themselves, not copies), with the zero padding between them.
   */
  readonly pieces: readonly Uint8Array[];
  /** The file's size in bytes (the pieces' lengths summed). */
  readonly size: number;
  readonly assetTable: readonly AssetTableEntry[];
  /** The `asset_id` of every asset with `preload.enabled`, ascending. */
  readonly preload: readonly number[];
  readonly headerLength: number;
  readonly payloadOffset: number;
  /** The canonical JSON of {@link assetTable}, as it appears inside the header. */
  readonly assetTableJson: string;
}

/** Rounds `value` up to a multiple of {@link PA_ALIGNMENT}. */
export function alignUp(value: number): number {
  return Math.ceil(value / PA_ALIGNMENT) * PA_ALIGNMENT;
}

/**
 * Lays out `assets.pa`: prelude, canonical JSON header, zero padding to the payload offset, then every
 * payload at its aligned offset with zero padding between. Throws when `assets` is not strictly ordered
 * by `asset_id` (a bug in the caller). `allocate` gives the memory of the prelude and header (shared
 * memory, for a worker to hash it without a copy).
 */
export function layoutAssetsPa(
  assets: readonly PaAsset[],
  allocate: (length: number) => Uint8Array = (length) => new Uint8Array(length),
): AssetsPa {
  const table = tableOf(assets);
  return layoutWith(assets, table, canonicalJson(table.assetTable), allocate);
}

/**
 * The same layout as {@link layoutAssetsPa}, with the header's canonical JSON produced in slices that let
 * the event loop run (see canonicalJsonSliced): what a pack of thousands of assets uses.
 */
export async function layoutAssetsPaSliced(
  assets: readonly PaAsset[],
  allocate: (length: number) => Uint8Array = (length) => new Uint8Array(length),
): Promise<AssetsPa> {
  const table = tableOf(assets);
  return layoutWith(assets, table, await canonicalJsonSliced(table.assetTable), allocate);
}

interface Table {
  readonly assetTable: AssetTableEntry[];
  readonly preload: number[];
  /** The end of the last payload, relative to the payload start. */
  readonly cursor: number;
}

function tableOf(assets: readonly PaAsset[]): Table {
  const assetTable: AssetTableEntry[] = [];
  const preload: number[] = [];
  let cursor = 0;
  let previousId = 0;
  for (const asset of assets) {
    if (!(asset.assetId > previousId))
      throw new Error(
        `layoutAssetsPa: asset_id ${asset.assetId} follows ${previousId}; assets must be strictly ordered by asset_id.`,
      );
    previousId = asset.assetId;
    const offset = alignUp(cursor);
    assetTable.push({
      asset_id: asset.assetId,
      asset_name: asset.assetName,
      bank_type: asset.bankType,
      codec: asset.codec,
      decoded_size: asset.decodedSize,
      metadata: asset.metadata,
      offset,
      size: asset.payload.length,
    });
    if (asset.preload) preload.push(asset.assetId);
    cursor = offset + asset.payload.length;
  }
  return { assetTable, preload, cursor };
}

function layoutWith(
  assets: readonly PaAsset[],
  { assetTable, preload, cursor }: Table,
  assetTableJson: string,
  allocate: (length: number) => Uint8Array,
): AssetsPa {
  // canonicalJson({ asset_table, preload }): the two keys in their sorted order, no whitespace.
  const header = new TextEncoder().encode(`{"asset_table":${assetTableJson},"preload":${canonicalJson(preload)}}`);
  const payloadOffset = alignUp(PA_PRELUDE_SIZE + header.length);
  const head = allocate(payloadOffset).fill(0);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  head.set(PA_MAGIC, 0);
  view.setUint32(8, PA_SCHEMA_VERSION, true);
  view.setUint32(12, header.length, true);
  view.setBigUint64(16, BigInt(payloadOffset), true);
  view.setUint32(24, 0, true); // flags
  view.setUint32(28, 0, true); // reserved
  head.set(header, PA_PRELUDE_SIZE);
  const pieces: Uint8Array[] = [head];
  let end = 0;
  assets.forEach((asset, index) => {
    const offset = assetTable[index]!.offset;
    if (offset > end) pieces.push(ZEROS.subarray(0, offset - end));
    if (asset.payload.length > 0) pieces.push(asset.payload);
    end = offset + asset.payload.length;
  });
  return {
    pieces,
    size: payloadOffset + cursor,
    assetTable,
    preload,
    headerLength: header.length,
    payloadOffset,
    assetTableJson,
  };
}

/** Zero bytes for the padding between payloads (always shorter than the alignment). */
const ZEROS = new Uint8Array(PA_ALIGNMENT);

/** The pieces of a streamed artifact joined into one array: for readers and tests, never on the pack's path. */
export function joinPieces(pieces: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(pieces.reduce((total, piece) => total + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    bytes.set(piece, offset);
    offset += piece.length;
  }
  return bytes;
}

/** An artifact written from its pieces in order, hashed while it is written (`assets.pa`). */
export interface StreamedArtifact {
  readonly pieces: readonly Uint8Array[];
  readonly size: number;
  /** The SHA-256 of the pieces, being computed elsewhere (a worker) while they are written; absent: hashed while flushing. */
  readonly sha256?: Promise<string>;
}

/**
 * An artifact whose end depends on the SHA-256 of artifacts written before it (`asset_table_metadata.json`
 * names the SHA-256 of `assets.pa` after its asset list): the bytes before that end are encoded, and hashed,
 * in slices while the pack prepares its artifacts; the end is produced, and the whole written, after every
 * other artifact.
 */
export interface DerivedArtifact {
  /** The artifact's first bytes, in order, never joined. */
  readonly head: readonly Uint8Array[];
  /** The SHA-256 state of {@link head}: readers copy it (`headHash.copy()`), never update it. */
  readonly headHash: Hash;
  /** The text that follows the head (UTF-8), given the SHA-256 of the artifacts written before. */
  tail(sha256Of: (name: string) => string): string;
}

/** Whether an artifact's content is a {@link DerivedArtifact}. */
export function isDerivedArtifact(content: unknown): content is DerivedArtifact {
  return typeof content === 'object' && content !== null && 'tail' in content && 'headHash' in content;
}

/** The build outputs of one pack, by file name inside `build/`. */
export type PackArtifacts = {
  readonly 'assets.pa': StreamedArtifact;
  readonly 'asset_table.json': string;
  readonly 'preload.json': string;
  readonly 'asset_table_metadata.json': DerivedArtifact;
};

/** One input as recorded in `asset_table_metadata.json`. */
export interface InputFacts {
  readonly role: string;
  /** Relative to the asset root, as declared. */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/** Facts about one packed asset for `asset_table_metadata.json`. */
export interface AssetFacts {
  readonly assetId: number;
  readonly assetUuid: string;
  readonly root: string;
  readonly type: string;
  readonly format: string;
  readonly formatVersion: number;
  readonly declarationSha256: string;
  /** SHA-256 of the payload laid out for this asset (known to the pack, so it is not hashed again here). */
  readonly payloadSha256: string;
  readonly inputs: readonly InputFacts[];
}

/** SHA-256 of bytes or of a string's UTF-8, as lowercase hex. */
export function sha256Hex(data: Uint8Array | string): string {
  // The one-shot hash: no Hash object per call (a pack hashes tens of thousands of small files and texts).
  return hash('sha256', data, 'hex');
}

/**
 * Builds the four artifacts. `asset_table.json` and `preload.json` are the header's two parts exactly
 * as they appear inside it, each followed by one newline. `asset_table_metadata.json` is the richer
 * record for tools, canonical with two-space indentation and a trailing newline. `facts` runs parallel
 * to the laid-out assets; `revision` is the snapshot they were validated and packed from.
 */
export async function buildArtifacts(
  pa: AssetsPa,
  facts: readonly AssetFacts[],
  revision: number,
): Promise<PackArtifacts> {
  const preloaded = new Set(pa.preload);
  // The asset list is the bulk of the text: it is produced now, in slices, and spliced into the small rest
  // once the SHA-256 of assets.pa is known. At depth 1 it is laid out exactly as inside the whole object.
  const assetsPieces = await canonicalJsonSlicedPieces(await assetRecords(pa, facts, preloaded), {
    indent: 2,
    depth: 1,
  });
  const tools = (paSha256: string): JsonObject => ({
    schema_version: 1,
    snapshot_revision: revision,
    assets_pa: {
      schema_version: PA_SCHEMA_VERSION,
      header_len: pa.headerLength,
      payload_offset: pa.payloadOffset,
      size: pa.size,
      sha256: paSha256,
    },
    assets: [],
  });
  // The rest holds only fixed keys, numbers and a hex digest, so its one `"assets": []` is the asset list's place;
  // `assets` sorts first, so what comes before the list never depends on the digest.
  const split = (paSha256: string): readonly [string, string] => {
    const text = canonicalJson(tools(paSha256), { indent: 2 });
    const place = text.indexOf(ASSETS_PLACE);
    return [text.slice(0, place + ASSETS_PLACE.length - 2), `${text.slice(place + ASSETS_PLACE.length)}\n`];
  };
  const [before] = split(''.padStart(64, '0'));
  const headHash = createHash('sha256');
  const head: Uint8Array[] = [];
  const clock = new SliceClock();
  for (const piece of [before, ...assetsPieces]) {
    const bytes = Buffer.from(piece, 'utf8');
    headHash.update(bytes);
    head.push(bytes);
    if (clock.due) await clock.pause();
  }
  return {
    'assets.pa': { pieces: pa.pieces, size: pa.size },
    'asset_table.json': `${pa.assetTableJson}\n`,
    'preload.json': `${canonicalJson(pa.preload)}\n`,
    'asset_table_metadata.json': {
      head,
      headHash,
      tail: (sha256Of) => {
        const [start, rest] = split(sha256Of('assets.pa'));
        if (start !== before) throw new Error('asset_table_metadata.json: the text before the asset list moved.');
        return rest;
      },
    },
  };
}

/** The asset list's place in the metadata's skeleton, laid out with two-space indentation. */
const ASSETS_PLACE = '"assets": []';

/** The `assets` list of `asset_table_metadata.json`. */
async function assetRecords(
  pa: AssetsPa,
  facts: readonly AssetFacts[],
  preloaded: ReadonlySet<number>,
): Promise<JsonObject[]> {
  const clock = new SliceClock();
  const records: JsonObject[] = [];
  for (const [index, entry] of pa.assetTable.entries()) {
    if (clock.due) await clock.pause();
    records.push(record(entry, index));
  }
  return records;
  function record(entry: AssetTableEntry, index: number): JsonObject {
    const fact = facts[index]!;
    // Keys in sorted order, so that the canonical text is produced natively (see canonical-json.ts).
    return {
      asset_id: entry.asset_id,
      asset_name: entry.asset_name,
      asset_uuid: fact.assetUuid,
      bank_type: entry.bank_type,
      codec: entry.codec,
      declaration_sha256: fact.declarationSha256,
      decoded_size: entry.decoded_size,
      format: fact.format,
      format_version: fact.formatVersion,
      inputs: fact.inputs.map((input) => ({
        path: input.path,
        role: input.role,
        sha256: input.sha256,
        size: input.size,
      })),
      offset: entry.offset,
      payload_sha256: fact.payloadSha256,
      preload: preloaded.has(entry.asset_id),
      root: fact.root,
      size: entry.size,
      type: fact.type,
    };
  }
}

/**
 * Every artifact as its final content, hashing `assets.pa` and joining its pieces: for tests and tools that
 * look at a pack's output without writing it (the pack itself streams it, see build-output.ts).
 */
export function resolveArtifacts(artifacts: PackArtifacts): {
  readonly 'assets.pa': Uint8Array;
  readonly 'asset_table.json': string;
  readonly 'preload.json': string;
  readonly 'asset_table_metadata.json': string;
} {
  const pa = joinPieces(artifacts['assets.pa'].pieces);
  const paSha = sha256Hex(pa);
  const metadata = artifacts['asset_table_metadata.json'];
  return {
    'assets.pa': pa,
    'asset_table.json': artifacts['asset_table.json'],
    'preload.json': artifacts['preload.json'],
    'asset_table_metadata.json': `${Buffer.from(joinPieces(metadata.head)).toString('utf8')}${metadata.tail((name) => {
      if (name !== 'assets.pa') throw new Error(`resolveArtifacts: no SHA-256 for ${name}.`);
      return paSha;
    })}`,
  };
}
