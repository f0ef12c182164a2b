/**
 * The incremental cache: materialised payloads under `assets/.prometeu/cache/`, keyed by everything that
 * determines them. It only saves work: validation always runs before it is consulted, and an entry that is
 * missing, unreadable or corrupt is ignored and rebuilt. Being derived and verified on read, entries are
 * written without fsync (still confined: see `ProjectFs.writeFileDerived`), by a bounded background filler
 * that the pack does not wait for asset by asset.
 */
import type { AssetDeclarationFile } from '@prometeu/packer-protocol';
import { folderFs, type FolderLocation } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import { sha256Hex } from './assets-pa.js';
import { canonicalJson, type JsonObject } from './canonical-json.js';
import type { AssetFormat, MaterializedAsset } from './formats/format.js';

/** The 8 bytes that open a cache entry: ASCII `PPCACHE` and the entry layout version 1. */
const ENTRY_MAGIC = Uint8Array.of(0x50, 0x50, 0x43, 0x41, 0x43, 0x48, 0x45, 0x01);

/** A cache entry read back and verified, with the SHA-256 of its payload (checked while verifying). */
export interface CachedPayload {
  readonly asset: MaterializedAsset;
  readonly payloadSha256: string;
}

/** Materialised payloads by key. */
export interface PayloadCache {
  /**
   * The entry for `key`, or null when there is none or it does not verify. Never throws. Synchronous: a
   * pack asks once per asset, and an await per lookup cost more than the lookups (the caller yields
   * between assets instead).
   */
  read(key: string): CachedPayload | null;
  /**
   * Stores an entry (not flushed: derived data, verified on read); a failure to write only loses the
   * saving, so it is swallowed. `payloadSha256`, when the caller has it, saves hashing the payload again.
   */
  write(key: string, asset: MaterializedAsset, payloadSha256?: string): Promise<void>;
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
  read: () => null,
  write: () => Promise.resolve(),
});

/**
 * The cache kept in `folder` (created on first write); read and written through the confined file system.
 * Its entry names are listed once, when it is made.
 */
export function folderCache(folder: FolderLocation): PayloadCache {
  const cache = folderFs(folder);
  const pathOf = (key: string): string => `${key}.bin`;
  // Invariant: the entry names present when this cache was made; a lookup of any other key is a miss
  // without a system call (entries written since then were written by this pack, which does not ask twice).
  let present: ReadonlySet<string>;
  try {
    present = new Set(cache.listNames());
  } catch {
    present = new Set();
  }
  return {
    read(key) {
      if (!present.has(pathOf(key))) return null;
      let bytes: Uint8Array;
      try {
        bytes = cache.readFile(pathOf(key), SIZE_LIMITS.cacheEntry);
      } catch {
        return null;
      }
      return decodeEntry(bytes, key);
    },
    async write(key, asset, payloadSha256) {
      try {
        await cache.writeFileDerived(pathOf(key), encodeEntry(key, asset, payloadSha256 ?? sha256Hex(asset.payload)), {
          createParents: true,
        });
      } catch (error) {
        // Only I/O failures are tolerated; anything else is a bug and propagates.
        if (typeof (error as NodeJS.ErrnoException).code !== 'string') throw error;
      }
    },
  };
}

/**
 * Fills a cache in the background with at most `concurrency` writes in flight, in the order entries were
 * given, so that a pack hands over an entry and goes on with the next asset at once. One write in flight by
 * default: the entries all go into one folder, whose lock serialises their creations and renames anyway,
 * and more writes in flight only take the libuv threads the build's own writes need (measured: four in
 * flight made a first pack slower than one).
 */
export class CacheFiller {
  readonly #cache: PayloadCache;
  readonly #concurrency: number;
  /** Invariant: entries handed over and not yet started, oldest first. */
  readonly #waiting: (() => Promise<void>)[] = [];
  /** Invariant: the writes started and not yet settled. */
  #running = 0;
  /** Invariant: resolvers of {@link drained} calls, called when nothing is waiting or running. */
  #idle: (() => void)[] = [];

  constructor(cache: PayloadCache, concurrency = 1) {
    this.#cache = cache;
    this.#concurrency = concurrency;
  }

  /** Hands over one entry; returns at once. */
  add(key: string, asset: MaterializedAsset, payloadSha256: string): void {
    this.#waiting.push(() => this.#cache.write(key, asset, payloadSha256));
    this.#pump();
  }

  /** Settles once every entry handed over so far is written (or failed to be, which only loses the saving). */
  drained(): Promise<void> {
    if (this.#running === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #pump(): void {
    while (this.#running < this.#concurrency && this.#waiting.length > 0) {
      const write = this.#waiting.shift()!;
      this.#running++;
      // A write swallows I/O failures; anything else is a bug, and it must not leave the filler stuck.
      void write()
        .catch(() => undefined)
        .finally(() => {
          this.#running--;
          this.#pump();
          if (this.#running === 0 && this.#waiting.length === 0) {
            const idle = this.#idle;
            this.#idle = [];
            for (const resolve of idle) resolve();
          }
        });
    }
  }
}

/** The entry's bytes in two pieces, its prefix and the payload itself, so the payload is never copied. */
function encodeEntry(key: string, asset: MaterializedAsset, payloadSha256: string): Uint8Array[] {
  const facts = new TextEncoder().encode(
    canonicalJson({
      key,
      bank_type: asset.bankType,
      codec: asset.codec,
      decoded_size: asset.decodedSize,
      metadata: asset.metadata,
      size: asset.payload.length,
      sha256: payloadSha256,
    }),
  );
  const prefix = new Uint8Array(ENTRY_MAGIC.length + 4 + facts.length);
  prefix.set(ENTRY_MAGIC, 0);
  new DataView(prefix.buffer).setUint32(ENTRY_MAGIC.length, facts.length, true);
  prefix.set(facts, ENTRY_MAGIC.length + 4);
  return [prefix, asset.payload];
}

function decodeEntry(bytes: Uint8Array, key: string): CachedPayload | null {
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
  const payloadSha256 = sha256Hex(payload);
  if (
    facts['key'] !== key ||
    facts['size'] !== payload.length ||
    facts['sha256'] !== payloadSha256 ||
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
    asset: {
      payload,
      decodedSize: facts['decoded_size'],
      bankType: facts['bank_type'],
      codec: facts['codec'],
      metadata: metadata as JsonObject,
    },
    payloadSha256,
  };
}
