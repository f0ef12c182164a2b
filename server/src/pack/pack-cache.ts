/**
 * The incremental cache: materialised payloads under `assets/.prometeu/cache/`, keyed by everything that
 * determines them. It only saves work: validation always runs before it is consulted, and an entry that is
 * missing, unreadable or corrupt is ignored and rebuilt.
 */
import type { AssetDeclarationFile } from '@prometeu/packer-protocol';
import { folderFs, type FolderLocation } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import { sha256Hex } from './assets-pa.js';
import { canonicalJson, type JsonObject } from './canonical-json.js';
import type { AssetFormat, MaterializedAsset } from './formats/format.js';

/** The 8 bytes that open a cache entry: ASCII `PPCACHE` and the entry layout version 1. */
const ENTRY_MAGIC = Uint8Array.of(0x50, 0x50, 0x43, 0x41, 0x43, 0x48, 0x45, 0x01);

/** Materialised payloads by key. */
export interface PayloadCache {
  /** The entry for `key`, or null when there is none or it does not verify. Never throws. */
  read(key: string): Promise<MaterializedAsset | null>;
  /** Stores an entry atomically; a failure to write only loses the saving, so it is swallowed. */
  write(key: string, asset: MaterializedAsset): Promise<void>;
}

/**
 * The cache key of one materialisation: SHA-256 over the canonical JSON of the format name, the format
 * version, the whole declaration, and the SHA-256 of every input keyed by its canonical root-relative path.
 */
export function cacheKey(
  format: AssetFormat,
  declaration: AssetDeclarationFile,
  inputHashes: ReadonlyMap<string, string>,
): string {
  const inputs = [...inputHashes.keys()].sort().map((path) => [path, inputHashes.get(path)!]);
  return sha256Hex(
    canonicalJson(
      { cache_layout: 1, format: format.format, format_version: format.version, declaration, inputs },
      { allowFractions: true },
    ),
  );
}

/** A cache that stores nothing. */
export const NO_CACHE: PayloadCache = Object.freeze({
  read: () => Promise.resolve(null),
  write: () => Promise.resolve(),
});

/** The cache kept in `folder` (created on first write); read and written through the confined file system. */
export function folderCache(folder: FolderLocation): PayloadCache {
  const cache = folderFs(folder);
  const pathOf = (key: string): string => `${key}.bin`;
  return {
    read(key) {
      let bytes: Uint8Array;
      try {
        bytes = cache.readFile(pathOf(key), SIZE_LIMITS.cacheEntry);
      } catch {
        return Promise.resolve(null);
      }
      return Promise.resolve(decodeEntry(bytes, key));
    },
    async write(key, asset) {
      try {
        await cache.writeFileAtomic(pathOf(key), encodeEntry(key, asset), { createParents: true });
      } catch (error) {
        // Only I/O failures are tolerated; anything else is a bug and propagates.
        if (typeof (error as NodeJS.ErrnoException).code !== 'string') throw error;
      }
    },
  };
}

function encodeEntry(key: string, asset: MaterializedAsset): Uint8Array {
  const facts = new TextEncoder().encode(
    canonicalJson({
      key,
      bank_type: asset.bankType,
      codec: asset.codec,
      decoded_size: asset.decodedSize,
      metadata: asset.metadata,
      size: asset.payload.length,
      sha256: sha256Hex(asset.payload),
    }),
  );
  const bytes = new Uint8Array(ENTRY_MAGIC.length + 4 + facts.length + asset.payload.length);
  bytes.set(ENTRY_MAGIC, 0);
  new DataView(bytes.buffer).setUint32(ENTRY_MAGIC.length, facts.length, true);
  bytes.set(facts, ENTRY_MAGIC.length + 4);
  bytes.set(asset.payload, ENTRY_MAGIC.length + 4 + facts.length);
  return bytes;
}

function decodeEntry(bytes: Uint8Array, key: string): MaterializedAsset | null {
  const start = ENTRY_MAGIC.length + 4;
  if (bytes.length < start || ENTRY_MAGIC.some((byte, index) => bytes[index] !== byte)) return null;
  const factsLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(
    ENTRY_MAGIC.length,
    true,
  );
  if (start + factsLength > bytes.length) return null;
  let facts: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start, start + factsLength)),
    );
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return null;
    facts = parsed as Record<string, unknown>;
  } catch {
    return null;
  }
  const payload = bytes.subarray(start + factsLength);
  const metadata = facts['metadata'];
  if (
    facts['key'] !== key ||
    facts['size'] !== payload.length ||
    facts['sha256'] !== sha256Hex(payload) ||
    typeof facts['bank_type'] !== 'string' ||
    typeof facts['codec'] !== 'string' ||
    typeof facts['decoded_size'] !== 'number' ||
    !Number.isSafeInteger(facts['decoded_size']) ||
    typeof metadata !== 'object' ||
    metadata === null ||
    Array.isArray(metadata)
  ) {
    return null;
  }
  try {
    // The metadata goes into the header verbatim, so it must still be canonical-JSON material.
    canonicalJson(metadata);
  } catch {
    return null;
  }
  return {
    payload,
    decodedSize: facts['decoded_size'],
    bankType: facts['bank_type'],
    codec: facts['codec'],
    metadata: metadata as JsonObject,
  };
}
