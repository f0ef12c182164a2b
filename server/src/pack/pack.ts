/**
 * Pack planning and materialisation: from a frozen snapshot to the bytes of every build artifact, as an
 * outcome value. Nothing here writes `build/` (see build-output.ts); the only files written are cache entries.
 */
import type { Diagnostic } from '@prometeu/packer-protocol';
import { ANCHOR_FILE, compareStrings } from '../domain/crawl.js';
import { compareDiagnostics } from '../domain/diagnostics.js';
import { CONTROL_FOLDER, joinAssetsPath } from '../domain/paths.js';
import { REGISTRY_PATH } from '../domain/registry.js';
import { inBuildSet, type AssetRecord, type Snapshot } from '../domain/snapshot.js';
import type { RegistryFile } from '@prometeu/packer-protocol';
import {
  buildArtifacts,
  layoutAssetsPaSliced,
  sha256Hex,
  type AssetFacts,
  type InputFacts,
  type PackArtifacts,
  type PaAsset,
} from './assets-pa.js';
import { folderFs, type FolderLocation, type ProjectFs } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import { canonicalJsonSliced } from './canonical-json.js';
import { isBlocked, type AssetFormat, type MaterializedAsset } from './formats/format.js';
import { formatNamed } from './formats/registry.js';
import { CacheFiller, cacheKey, folderCache, NO_CACHE, type PayloadCache } from './pack-cache.js';
import { lastPackState, packKey, ReadStamps, type RecordedAsset } from './pack-state.js';
import { PackHasher } from './pack-hasher.js';
import { buildSetKey, packStructure, plannedAssets, type PackPlan } from './pack-structure.js';
import { SliceClock } from './slice.js';
import { readIfFile, readIfFileInto } from './read-input.js';
import { yieldToClients } from '../io/turns.js';

/** The cache folder, relative to `assets/`. */
export const PACK_CACHE_PATH = `${CONTROL_FOLDER}/cache`;

/** Options of {@link packSnapshot}. */
export interface PackOptions {
  /** Checked before each asset and once more before the artifacts are assembled. */
  readonly signal?: AbortSignal;
  /**
   * Called after each asset of the build set has been handled (validated, and materialised when it could be),
   * as one run: `done` rises by one from 1 to `total` and never repeats. Until the rebuilt structure has
   * confirmed the snapshot's records, the calls are held back and all made, in order, once it has (the pack
   * packs the snapshot's records while its worker rebuilds them); a pack whose records it refutes is started
   * again on the rebuilt ones before it reports anything, so its progress still runs once.
   */
  onProgress?(done: number, total: number, assetName: string): void;
  /** Folder of the incremental cache. Defaults to `assets/.prometeu/cache`; null packs without a cache. */
  readonly cacheDir?: FolderLocation | null;
  /**
   * When given, the cache writes still in flight when the pack returns are handed over here (a promise that
   * never rejects) instead of being awaited, so the caller can write `build/` alongside them and await
   * them after. Without it, the pack returns once every cache entry is written.
   */
  onCacheFilling?(filled: Promise<void>): void;
}

/** One asset of a successful pack. */
export interface PackedAsset {
  readonly assetId: number;
  readonly assetUuid: string;
  readonly name: string;
  readonly root: string;
  readonly type: string;
  readonly format: string;
  readonly formatVersion: number;
  readonly bankType: string;
  readonly codec: string;
  /** Relative to the payload start of `assets.pa`. */
  readonly offset: number;
  readonly size: number;
  readonly decodedSize: number;
  readonly preload: boolean;
  readonly payloadSha256: string;
  /** Whether the payload came from the incremental cache rather than a fresh materialisation. */
  readonly fromCache: boolean;
}

/** Every build artifact was produced; nothing has been written to `build/` yet. */
export interface PackSucceeded {
  readonly status: 'succeeded';
  readonly artifacts: PackArtifacts;
  /** The asset table, in `asset_id` order. */
  readonly entries: readonly PackedAsset[];
  /** `asset_id`s materialised by this pack, ascending. */
  readonly materialized: readonly number[];
  /** `asset_id`s whose payload came from the cache, ascending. */
  readonly fromCache: readonly number[];
  /**
   * For a pack with a cache: what the pack-state record needs (see pack-state.ts), to save once `build/`
   * holds these artifacts; null without a cache, or when the snapshot has no pack key.
   */
  readonly record: PackRecord | null;
}

/** What a successful pack read and produced, for the pack-state record. */
export interface PackRecord {
  readonly revision: number;
  readonly key: string;
  readonly inputs: NonNullable<ReturnType<ReadStamps['recorded']>>;
  /** The SHA-256 of every input read, by path relative to `assets/`. */
  readonly hashes: Record<string, string>;
  /** The settled stamps of the folders on the way to the files read (see `PackState.folders` in pack-state.ts). */
  readonly folders: Record<string, string>;
  readonly assets: readonly RecordedAsset[];
}

/** Blocking diagnostics were found, every one of them (project-level, structural and format-specific). */
export interface PackBlocked {
  readonly status: 'blocked';
  readonly diagnostics: readonly Diagnostic[];
}

/** The signal was aborted; no artifact was produced. */
export interface PackCancelled {
  readonly status: 'cancelled';
}

/** The disk no longer matches the snapshot at these paths (relative to `assets/`, sorted); reconcile first. */
export interface PackDiverged {
  readonly status: 'diverged';
  readonly paths: readonly string[];
}

/** What a pack came to. Exceptions are reserved for bugs and I/O failures. */
export type PackOutcome = PackSucceeded | PackBlocked | PackCancelled | PackDiverged;

const CANCELLED: PackCancelled = Object.freeze({ status: 'cancelled' });

/** The artifacts with `assets.pa` being hashed on the worker from now on, while the caller goes on and writes it. */
function withPaHash(artifacts: PackArtifacts, hasher: PackHasher): PackArtifacts {
  const sha256 = hasher.hashPieces(artifacts['assets.pa'].pieces);
  return sha256 === null ? artifacts : { ...artifacts, 'assets.pa': { ...artifacts['assets.pa'], sha256 } };
}

/** `items.map(each)`, letting the event loop run between slices of the work (see slice.ts). */
async function mapSliced<T, U>(
  items: readonly T[],
  clock: SliceClock,
  each: (item: T, index: number) => U,
): Promise<U[]> {
  const mapped: U[] = [];
  for (let index = 0; index < items.length; index++) {
    mapped.push(each(items[index]!, index));
    if (clock.due) await clock.pause();
  }
  return mapped;
}

/** Whether the anchor read now is the one crawled: `crawledText` is its text then (undefined: there was none). */
function anchorMatches(crawledText: string | null | undefined, now: Uint8Array | null): boolean {
  if (crawledText === undefined) return now === null;
  if (now === null) return false;
  // The crawl decoded the file as UTF-8; decoding the same way makes equal bytes compare equal.
  return (
    crawledText !== null && Buffer.from(now.buffer, now.byteOffset, now.byteLength).toString('utf8') === crawledText
  );
}

/**
 * The canonical JSON of each snapshot's registry, made once: registries are immutable and shared by every
 * snapshot until a commit changes them, and at 10k entries the text takes tens of ms to make.
 */
const registryTexts = new WeakMap<RegistryFile, string>();

async function registryJsonOf(registry: RegistryFile | null): Promise<string> {
  if (registry === null) return canonicalJsonSliced(null);
  let text = registryTexts.get(registry);
  if (text === undefined) registryTexts.set(registry, (text = await canonicalJsonSliced(registry)));
  return text;
}

/** The snapshot's own build set: its registered records included in the build, by `asset_id`. */
function snapshotBuildSet(snapshot: Snapshot): AssetRecord[] {
  const buildSet = snapshot.assets.filter(inBuildSet);
  for (let index = 1; index < buildSet.length; index++)
    if (buildSet[index - 1]!.entry!.asset_id > buildSet[index]!.entry!.asset_id)
      return buildSet.sort((a, b) => a.entry!.asset_id - b.entry!.asset_id);
  return buildSet;
}

/**
 * What a pack of the snapshot's own records comes to when the rebuilt structure does not agree with them
 * (or could not be had from the worker): the pack is then done again on the rebuilt records, as they are.
 */
const REBUILD = Symbol('rebuild');

/** The plan of {@link PackHasher.plan}, made on this thread (no worker runs, or it failed). */
function planInline(revision: number, crawl: Snapshot['crawl'], registryText: string | null): PackPlan {
  const structure = packStructure(revision, crawl, registryText);
  return {
    exists: structure.exists,
    registryJson: structure.registryJson,
    blockers: structure.blockers,
    plan: plannedAssets(structure, crawl),
  };
}

/**
 * The places of the build set's records (in `asset_id` order) in the order their roots lie on disk: the
 * crawl's anchors, sorted by root. Read in that order, consecutive assets share their folders, which the
 * pack's scope keeps open (a few dozen of them); in `asset_id` order every asset opened its whole chain of
 * folders again (measured at 10k roots: 5.2 opens per asset instead of about 3). Records whose root the crawl
 * did not list come last. Every place appears exactly once.
 */
async function visitOrder(
  buildSet: readonly AssetRecord[],
  crawl: Snapshot['crawl'],
  clock: SliceClock,
): Promise<number[]> {
  const places = new Map<string, number[]>();
  for (let place = 0; place < buildSet.length; place++) {
    const root = buildSet[place]!.root;
    const same = places.get(root);
    if (same === undefined) places.set(root, [place]);
    else same.push(place);
    if (clock.due) await clock.pause();
  }
  const order: number[] = [];
  for (const anchor of crawl.anchors) {
    const same = places.get(anchor.root);
    if (same === undefined) continue;
    order.push(...same);
    places.delete(anchor.root);
    if (clock.due) await clock.pause();
  }
  for (const same of places.values()) order.push(...same);
  return order;
}

/** One asset that made it to the layout. */
interface BuiltAsset {
  readonly record: AssetRecord;
  readonly format: AssetFormat;
  readonly result: MaterializedAsset;
  readonly fromCache: boolean;
  /** Its facts for `asset_table_metadata.json`, once every input hash has settled. */
  facts(): AssetFacts;
}

/**
 * Packs the build set of a frozen snapshot: the registered assets included in the build, by `asset_id`.
 *
 * For each asset it re-reads `asset.json` and every input exactly once, and reports divergence when the
 * anchor's text, an input's existence or an input's content (its SHA-256 against the one the snapshot's
 * format validation recorded) no longer matches the snapshot (the registry is compared too). With a cache, an
 * `asset.json` that still has the settled stamp the last pack recorded, which read it with the SHA-256 of the
 * crawled text, is that text: it is stamped (through the same confined scope) instead of read. The snapshot
 * must be validated (no asset of the build set `pending`): a pack packs only what a snapshot validated.
 * It re-validates from scratch: every structural check is recomputed from the frozen crawl, and the
 * format's own validation always runs on the bytes just read. Only when nothing blocks does it
 * materialise (or take the payload from the cache, which is keyed by everything the payload depends on).
 */
export async function packSnapshot(
  snapshot: Snapshot,
  assetsDir: FolderLocation,
  options: PackOptions = {},
): Promise<PackOutcome> {
  // One scope for the whole pack: each folder is resolved once, every file still checked on its own.
  return folderFs(assetsDir).scope((assets) => packIn(snapshot, assets, options));
}

async function packIn(snapshot: Snapshot, assets: ProjectFs, options: PackOptions): Promise<PackOutcome> {
  if (options.signal?.aborted) return CANCELLED;
  const cacheDir = options.cacheDir === null ? null : (options.cacheDir ?? assets.at(PACK_CACHE_PATH));
  const cache: PayloadCache = cacheDir === null ? NO_CACHE : folderCache(cacheDir);
  // The cache is filled alongside the pack: each entry is handed over and the next asset goes on at once.
  const filler = new CacheFiller(cache);
  // The last pack's record beside the cache tells which inputs are still as it read and hashed them.
  const previous = cacheDir === null ? null : lastPackState(folderFs(cacheDir));
  const stampsFor = (): ReadStamps | null => (cacheDir === null ? null : new ReadStamps(assets, previous));
  try {
    const outcome = await packWith(snapshot, assets, options, cache, filler, stampsFor(), 'snapshot');
    if (outcome !== REBUILD) return outcome;
    const rebuilt = await packWith(snapshot, assets, options, cache, filler, stampsFor(), 'rebuilt');
    if (rebuilt === REBUILD) throw new Error('A pack of the rebuilt records asked to be rebuilt again.');
    return rebuilt;
  } finally {
    if (options.onCacheFilling !== undefined) options.onCacheFilling(filler.drained());
    else await filler.drained();
  }
}

async function packWith(
  snapshot: Snapshot,
  assets: ProjectFs,
  options: PackOptions,
  cache: PayloadCache,
  filler: CacheFiller,
  stamps: ReadStamps | null,
  records: 'snapshot' | 'rebuilt',
): Promise<PackOutcome | typeof REBUILD> {
  const { signal } = options;
  const diverged = new Set<string>();
  // SHA-256 of byte arrays already hashed, so a payload that is its input (a blob) or was verified on its way
  // out of the cache is not hashed again.
  const knownSha = new WeakMap<Uint8Array, string>();
  const shaOf = (bytes: Uint8Array): string => {
    let sha = knownSha.get(bytes);
    if (sha === undefined) knownSha.set(bytes, (sha = sha256Hex(bytes)));
    return sha;
  };
  // SHA-256 of the registry and of every declaration of an asset built, by path relative to `assets/`, for the
  // pack-state record (its racy entries, and its hashes: see ReadStamps.unchangedFile).
  const readSha = new Map<string, string>();
  // The SHA-256 of every input read, by path relative to `assets/`. An input of a format that is not cached
  // is hashed on the worker while the pack goes on (nothing needs its hash before the end): `expected`
  // then holds the hash its validation recorded (null: nothing to compare), checked once all have settled.
  const hasher = new PackHasher();
  const inputSha = new Map<string, string>();
  const pendingSha: Promise<void>[] = [];
  const expected = new Map<string, string | null | undefined>();

  const registryBytes = readIfFile(assets, REGISTRY_PATH, SIZE_LIMITS.registry, stamps?.reading(REGISTRY_PATH));
  if (stamps !== null && registryBytes !== null) readSha.set(REGISTRY_PATH, sha256Hex(registryBytes));
  const registryText = registryBytes === null ? null : Buffer.from(registryBytes).toString('utf8');
  // Built in slices, like every step over the whole project: reads are answered in between.
  const clock = new SliceClock();
  // Every structural check again, from the frozen crawl and the registry just read, on the worker when it runs
  // (inline otherwise). The snapshot's own records are packed while the worker rebuilds them, and only the
  // plan of the rebuilt build set comes back, checked against them before anything is laid out: cloning the
  // rebuilt records back, then packing them, kept both cores waiting on each other (docs/performance-history.md,
  // "Issue 13, small assets"). A plan that disagrees has the pack done again on the rebuilt records.
  const planned =
    records === 'snapshot'
      ? (hasher.parallel ? hasher.plan(snapshot.revision, snapshot.crawl, registryText) : Promise.resolve(null)).then(
          (plan) => plan ?? planInline(snapshot.revision, snapshot.crawl, registryText),
        )
      : null;
  // Awaited below; a pack cancelled before that must not leave its failure unhandled.
  planned?.catch(() => undefined);
  let buildSet: readonly AssetRecord[];
  let blockers: Diagnostic[];
  // The text the crawl read from a root's anchor (undefined when it saw none) and whether it saw a file.
  let crawledText: (root: string) => string | null | undefined;
  let crawled: (record: AssetRecord, path: string) => boolean;
  if (planned !== null) {
    buildSet = snapshotBuildSet(snapshot);
    blockers = [];
    // The snapshot's view of the crawl, which the plan's keys check: each anchor's text and each input's state.
    crawledText = (root) => snapshot.parsedAnchors.get(root)?.text;
    crawled = (record, path) => record.inputs.some((input) => input.assetsPath === path && input.state === 'present');
  } else {
    const structure =
      (await hasher.structure(snapshot.revision, snapshot.crawl, registryText)) ??
      packStructure(snapshot.revision, snapshot.crawl, registryText);
    if (
      structure.exists !== snapshot.workspaceInitialized ||
      structure.registryJson !== (await registryJsonOf(snapshot.registry))
    )
      diverged.add(REGISTRY_PATH);
    buildSet = structure.buildSet;
    blockers = [...structure.blockers];
    const anchors = new Map<string, string | null>();
    for (const anchor of snapshot.crawl.anchors) {
      anchors.set(anchor.root, anchor.text);
      if (clock.due) await clock.pause();
    }
    const crawledFiles = new Set<string>();
    for (const file of snapshot.crawl.files) {
      crawledFiles.add(file);
      if (clock.due) await clock.pause();
    }
    crawledText = (root) => anchors.get(root);
    crawled = (_record, path) => crawledFiles.has(path);
  }

  // Each input is read once; the bytes are dropped after the last asset that names it.
  const pendingReaders = new Map<string, number>();
  for (const record of buildSet) {
    for (const path of new Set(record.inputs.map((input) => input.assetsPath)))
      if (path !== null) pendingReaders.set(path, (pendingReaders.get(path) ?? 0) + 1);
    if (clock.due) await clock.pause();
  }
  const held = new Map<string, Uint8Array | null>();
  // Synchronous on purpose, like the read itself (see read-input.ts).
  // Stamped as it is read (see ReadStamps.reading).
  const takeInput = (path: string): Uint8Array | null => {
    const bytes = held.has(path)
      ? held.get(path)!
      : readIfFileInto(assets, path, SIZE_LIMITS.input, hasher.allocate, stamps?.reading(path));
    const remaining = pendingReaders.get(path)! - 1;
    pendingReaders.set(path, remaining);
    if (remaining > 0) held.set(path, bytes);
    else held.delete(path);
    return bytes;
  };

  // The rebuilt structure must be the snapshot's: the same registry, and record by record the same key, each
  // declaration parsed from the very text the key names. It is checked as soon as it arrives (between two
  // assets, or after the last one): a plan that disagrees has the pack started again on the rebuilt records at
  // once, and the progress of the records it refuted is never reported (see PackOptions.onProgress).
  let confirmed = planned === null;
  let arrived = null as PackPlan | null;
  void planned?.then(
    (plan) => (arrived = plan),
    () => undefined,
  );
  // The rebuilt structure's blocking diagnostics, once confirmed: the snapshot's records carry their own.
  const planBlockers: Diagnostic[] = [];
  const agrees = async (plan: PackPlan): Promise<boolean> => {
    if (
      plan.exists !== snapshot.workspaceInitialized ||
      plan.registryJson !== (await registryJsonOf(snapshot.registry)) ||
      plan.plan.length !== buildSet.length
    )
      return false;
    planBlockers.push(...plan.blockers);
    for (let index = 0; index < buildSet.length; index++) {
      const record = buildSet[index]!;
      const parsed = snapshot.parsedAnchors.get(record.root);
      const { key, anchorText, blocking } = plan.plan[index]!;
      if (
        (record.anchor !== null && parsed?.parsed !== record.anchor) ||
        parsed?.text !== anchorText ||
        buildSetKey(record) !== key
      )
        return false;
      planBlockers.push(...blocking);
      if (clock.due) await clock.pause();
    }
    return true;
  };
  // Invariant: the names of the assets handled and not reported yet, in order, kept while the records packed
  // are not confirmed (the first is asset `done - unreported.length + 1`).
  let unreported: string[] = [];
  const confirm = async (plan: PackPlan): Promise<boolean> => {
    if (!(await agrees(plan))) return false;
    confirmed = true;
    const names = unreported;
    unreported = [];
    for (let index = 0; index < names.length; index++) {
      options.onProgress?.(index + 1, buildSet.length, names[index]!);
      if (clock.due) await clock.pause();
    }
    return true;
  };

  // Whether a record's own blocking diagnostics were met (they are in `blockers` only with rebuilt records).
  let recordBlocked = false;
  // What made it to the layout, by the record's place in the build set (`asset_id` order).
  const slots: (BuiltAsset | undefined)[] = new Array<BuiltAsset | undefined>(buildSet.length);
  let done = 0;
  for (const place of await visitOrder(buildSet, snapshot.crawl, clock)) {
    const record = buildSet[place]!;
    // Queued requests (reads, a cancellation) run here, once per asset: the pack's safe point. Measured at 10k
    // (docs/performance-history.md, "Issue 13, goals 2 to 4"), yielding only every 3 ms of work instead made
    // reads during the pack wait several times longer at the median.
    await yieldToClients();
    if (signal?.aborted) return CANCELLED;
    if (!confirmed && arrived !== null && !(await confirm(arrived))) return REBUILD;
    const entry = record.entry!;
    const anchorPath = joinAssetsPath(record.root, ANCHOR_FILE);
    // Unchanged since the last pack read it (the same settled stamp, taken through the same confined scope) with
    // the very bytes of the crawled text: it is the crawled text, and reading it again would find nothing new.
    // Otherwise (changed, racy, another hash, no record) it is read and compared.
    const anchorText = crawledText(record.root);
    const keptSha = typeof anchorText === 'string' ? (stamps?.unchangedFile(anchorPath) ?? null) : null;
    let declarationSha: string | null = null;
    let anchorBytes: Uint8Array | null = null;
    if (keptSha !== null && keptSha === sha256Hex(anchorText!)) declarationSha = keptSha;
    else {
      anchorBytes = readIfFile(assets, anchorPath, SIZE_LIMITS.declaration, stamps?.reading(anchorPath));
      if (!anchorMatches(anchorText, anchorBytes)) diverged.add(anchorPath);
    }

    const inputs = new Map<string, Uint8Array>();
    const hashes = new Map<string, string>();
    let inputsComplete = true;
    // What the snapshot validated: every input read now must have exactly the content it hashed.
    const validated = snapshot.byRoot.get(record.root);
    if (validated?.validation === 'pending')
      throw new Error(
        `Asset ${record.root} of revision ${snapshot.revision} is not validated yet; a pack must be given a validated snapshot.`,
      );
    const validatedHashes = validated?.validation === 'done' ? validated.formatResult!.hashes : null;
    const declaration = record.anchor?.declaration ?? null;
    const format = declaration === null ? undefined : formatNamed(declaration.output.format);
    // Only a cached format needs its inputs' hashes now (for the cache key).
    const deferHashes = hasher.parallel && format !== undefined && !format.cached;
    for (const path of new Set(record.inputs.map((input) => input.assetsPath))) {
      if (path === null) {
        inputsComplete = false;
        continue;
      }
      const bytes = takeInput(path);
      if ((bytes !== null) !== crawled(record, path)) diverged.add(path);
      if (bytes === null) {
        inputsComplete = false;
        continue;
      }
      const relative = path.slice(record.root.length + 1);
      inputs.set(relative, bytes);
      let known = inputSha.get(path) ?? knownSha.get(bytes);
      if (known === undefined && validatedHashes !== null) {
        // Unchanged since the last pack read and hashed it (the same settled stamp), with the hash validated:
        // those bytes are the validated ones, and hashing them again would find nothing new.
        const unchanged = stamps?.unchangedSha(path) ?? null;
        if (unchanged !== null && unchanged === validatedHashes.get(path)) {
          known = unchanged;
          knownSha.set(bytes, unchanged);
        }
      }
      if (deferHashes && known === undefined) {
        if (!expected.has(path)) {
          expected.set(path, validatedHashes === null ? null : validatedHashes.get(path));
          pendingSha.push(
            hasher.hash(bytes).then((sha) => {
              inputSha.set(path, sha);
              knownSha.set(bytes, sha);
            }),
          );
        }
        continue;
      }
      const sha = known ?? shaOf(bytes);
      inputSha.set(path, sha);
      if (validatedHashes !== null && validatedHashes.get(path) !== sha) diverged.add(path);
      hashes.set(relative, sha);
    }

    // A snapshot's record also holds the format diagnostics its validation found: they are found again below.
    const own = record.diagnostics.filter((diagnostic) => diagnostic.blocking);
    if (planned === null) blockers.push(...own);
    if (own.length > 0) recordBlocked = true;
    if (declaration !== null && format === undefined && own.length === 0) {
      throw new Error(
        `Asset ${record.root} passed the declaration checks with output.format ${declaration.output.format}, but no format implements it.`,
      );
    }
    if (declaration !== null && format !== undefined && format.type === declaration.type && inputsComplete) {
      const asset = {
        declaration,
        root: record.root,
        inputs,
        identity: { assetId: entry.asset_id, assetUuid: declaration.asset_uuid },
      };
      if (blockers.length > 0 || recordBlocked || diverged.size > 0) {
        // Nothing will be built: the format's problems are still reported, every one of them.
        blockers.push(...format.validate(asset));
      } else {
        // A format that is not cached (its payload is an input) is materialised every time, for free.
        const key = format.cached ? cacheKey(format, declaration, hashes) : null;
        let cached = key === null ? null : cache.read(key);
        let result: MaterializedAsset | null = null;
        if (cached !== null) {
          // A cached payload is taken only for an asset that validates now.
          const problems = format.validate(asset);
          blockers.push(...problems);
          if (problems.length > 0) cached = null;
          else {
            result = cached.asset;
            knownSha.set(result.payload, cached.payloadSha256);
          }
        } else {
          // Materialising validates first and refuses with exactly the problems validate finds (see
          // AssetFormat.materialize): validating before it too checked, and decoded, every input twice.
          const made = format.materialize(asset);
          if (isBlocked(made)) {
            blockers.push(...made.blocked);
          } else {
            result = made;
            if (key !== null) filler.add(key, made, shaOf(made.payload));
          }
        }
        const fromCache = cached !== null;
        if (result !== null) {
          const declarationSha256 = declarationSha ?? sha256Hex(anchorBytes!);
          if (stamps !== null) readSha.set(anchorPath, declarationSha256);
          const payload = result.payload;
          slots[place] = {
            record,
            format,
            result,
            fromCache,
            facts: () => ({
              assetId: entry.asset_id,
              assetUuid: declaration.asset_uuid,
              root: record.root,
              type: declaration.type,
              format: format.format,
              formatVersion: format.version,
              declarationSha256,
              payloadSha256: shaOf(payload),
              inputs: record.inputs.map((input): InputFacts => ({
                role: input.role,
                path: input.path,
                size: inputs.get(input.assetsPath!.slice(record.root.length + 1))!.length,
                sha256: inputSha.get(input.assetsPath!)!,
              })),
            }),
          };
        }
      }
    }
    done++;
    if (confirmed) options.onProgress?.(done, buildSet.length, record.anchor?.name ?? record.root);
    else unreported.push(record.anchor?.name ?? record.root);
  }
  // Every deferred hash settles, and is checked against what the snapshot validated, before anything else.
  hasher.flush();
  await Promise.all(pendingSha);
  for (const [path, sha] of expected) if (sha !== null && inputSha.get(path) !== sha) diverged.add(path);
  if (!confirmed) {
    const plan = await planned!;
    if (signal?.aborted) return CANCELLED;
    if (!(await confirm(plan))) return REBUILD;
  }
  blockers.push(...planBlockers);
  if (signal?.aborted) return CANCELLED;
  if (diverged.size > 0) return { status: 'diverged', paths: [...diverged].sort(compareStrings) };
  if (blockers.length > 0) return { status: 'blocked', diagnostics: blockers.sort(compareDiagnostics) };

  const built = slots.filter((asset): asset is BuiltAsset => asset !== undefined);
  const layout: PaAsset[] = await mapSliced(built, clock, ({ record, result }) => ({
    assetId: record.entry!.asset_id,
    assetName: record.anchor!.declaration!.name,
    bankType: result.bankType,
    codec: result.codec,
    decodedSize: result.decodedSize,
    metadata: result.metadata,
    payload: result.payload,
    preload: record.anchor!.declaration!.preload.enabled,
  }));
  const pa = await layoutAssetsPaSliced(layout, hasher.allocate);
  const entries: PackedAsset[] = await mapSliced(built, clock, ({ record, format, result, fromCache }, index) => {
    const row = pa.assetTable[index]!;
    return {
      assetId: row.asset_id,
      assetUuid: record.anchor!.declaration!.asset_uuid,
      name: row.asset_name,
      root: record.root,
      type: format.type,
      format: format.format,
      formatVersion: format.version,
      bankType: row.bank_type,
      codec: row.codec,
      offset: row.offset,
      size: row.size,
      decodedSize: row.decoded_size,
      preload: layout[index]!.preload,
      payloadSha256: shaOf(result.payload),
      fromCache,
    };
  });
  const facts = await mapSliced(built, clock, (asset) => asset.facts());
  const key = stamps === null ? null : await packKey(snapshot);
  const recordedInputs =
    key === null ? null : stamps!.recorded((path) => readSha.get(path) ?? inputSha.get(path) ?? '');
  return {
    status: 'succeeded',
    record:
      key === null || recordedInputs === null
        ? null
        : {
            revision: snapshot.revision,
            key,
            inputs: recordedInputs,
            // Every file read: the inputs, and the declarations (see ReadStamps.unchangedFile) and the registry.
            hashes: Object.fromEntries([...inputSha, ...readSha]),
            folders: stamps!.folders(),
            assets: entries.map((asset) => ({
              assetId: asset.assetId,
              name: asset.name,
              root: asset.root,
              bankType: asset.bankType,
              format: asset.format,
              offset: asset.offset,
              size: asset.size,
              decodedSize: asset.decodedSize,
              preload: asset.preload,
            })),
          },
    artifacts: withPaHash(await buildArtifacts(pa, facts, snapshot.revision), hasher),
    entries,
    materialized: entries.filter((asset) => !asset.fromCache).map((asset) => asset.assetId),
    fromCache: entries.filter((asset) => asset.fromCache).map((asset) => asset.assetId),
  };
}
