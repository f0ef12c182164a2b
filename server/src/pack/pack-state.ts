/**
 * What the last pack wrote, kept beside the cache (`assets/.prometeu/cache/pack-state.json`), so that a pack
 * with nothing changed can prove `build/` is exactly what this snapshot would produce by stat alone, and
 * leave it untouched. The record is derived data: it is trusted only when everything it names still
 * matches, and any doubt means a full pack. Every stat and read goes through the confined file system.
 */
import { createHash } from 'node:crypto';
import { inBuildSet, type Snapshot } from '../domain/snapshot.js';
import type { ProjectFs } from '../io/project-fs.js';

import { SIZE_LIMITS } from '../io/size-limits.js';
import { PA_SCHEMA_VERSION, sha256Hex } from './assets-pa.js';
import { BUILD_FOLDER, hasInterruptedPromotion, type WrittenArtifact } from './build-output.js';
import { formatNamed } from './formats/registry.js';
import { SliceClock } from './slice.js';

/** The nanosecond stats of a file (what `ProjectFs.bigStat` gives). */
type BigIntStats = NonNullable<ReturnType<ProjectFs['bigStat']>>;

/** The record's file name inside the cache folder. */
export const PACK_STATE_FILE = 'pack-state.json';
/** Bumped whenever the record's layout or the meaning of its key changes; another version is ignored. */
const PACK_STATE_VERSION = 4;
/** The most bytes of a record read back (about 150 bytes per file a pack read); a larger one is ignored. */
const PACK_STATE_LIMIT = 256 * 1024 * 1024;
/** The most bytes of an artifact read back to verify a racy one by its hash; a larger one is not trusted. */
const ARTIFACT_LIMIT = 4 * 1024 * 1024 * 1024;
/**
 * How long after a file's last change its stamp is trusted (1 s, the coarsest timestamp of the usual file
 * systems). A file changed less than this before its stamp was taken could change again within the same
 * timestamp tick without its stamp changing ("racy", as git calls it), so it is verified by its hash instead.
 */
const RACY_WINDOW_NS = 1_000_000_000n;

/**
 * What identifies a file's content without reading it: device, inode, size, modification and change time
 * (nanoseconds). An edit in place changes the change time, which no unprivileged tool can set back; an
 * atomic replace changes the inode.
 */
export interface FileStamp {
  readonly stamp: string;
  /** Whether the stamp alone proves the content (the file last changed at least the racy window earlier). */
  readonly settled: boolean;
}

/**
 * The stamp of the regular file `relative` of `files` now, or null when there is none (absent, a link, a
 * folder, a special file, or a link or non-folder on the way: nothing the packer would read or trust).
 */
export function stampOf(files: ProjectFs, relative: string): FileStamp | null {
  return stampWith(files, relative, 'confined', nowNs());
}

/** The wall clock in nanoseconds, as file times are. */
function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * {@link stampOf}, the folders on the way resolved one by one (`confined`) or the entry stamped by its path
 * (`identity`: see {@link ProjectFs.identityStat}; a stamp taken so can only equal one recorded by a confined
 * read when it is that very entry, unchanged), `now` the clock it is settled against; null when the entry is not
 * of the kind asked for.
 */
function entryStampWith(
  files: ProjectFs,
  relative: string,
  how: 'confined' | 'identity',
  now: bigint,
  kind: 'file' | 'folder',
): FileStamp | null {
  let stats: ReturnType<ProjectFs['bigStat']>;
  try {
    stats = how === 'confined' ? files.bigStat(relative) : files.identityStat(relative);
  } catch {
    return null;
  }
  if (stats === null || !(kind === 'file' ? stats.isFile() : stats.isDirectory())) return null;
  return stampFrom(stats, now);
}

/** The stamp `stats` give, settled against `now` (the clock read before the stats were taken). */
function stampFrom(stats: BigIntStats, now: bigint): FileStamp {
  const changed = stats.mtimeNs > stats.ctimeNs ? stats.mtimeNs : stats.ctimeNs;
  return {
    stamp: `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}`,
    settled: now - changed >= RACY_WINDOW_NS,
  };
}

/** The stamp of the file `relative` of `files` (see {@link entryStampWith}). */
function stampWith(files: ProjectFs, relative: string, how: 'confined' | 'identity', now: bigint): FileStamp | null {
  return entryStampWith(files, relative, how, now, 'file');
}

/**
 * The stamp of the folder `relative` of `files`, settled against `now`, or null when it is not a folder.
 * A folder's times change whenever an entry is added to it, removed from it or renamed in or out of it (and its
 * change time cannot be set back), so a settled stamp that still matches proves every entry in it is the one
 * recorded: no folder below it was moved out and replaced by a link.
 */
function folderStampWith(
  files: ProjectFs,
  relative: string,
  how: 'confined' | 'identity',
  now: bigint,
): FileStamp | null {
  return entryStampWith(files, relative, how, now, 'folder');
}

/** The folder `relative` is in ('' for a path without a slash). */
function parentOf(relative: string): string {
  const slash = relative.lastIndexOf('/');
  return slash < 0 ? '' : relative.slice(0, slash);
}

/** One file as the record keeps it: its stamp, and its SHA-256 when the stamp alone proves nothing (racy). */
type RecordedFile = readonly [stamp: string, sha256: string | null];

/** The asset table of the response, as the pack that wrote `build/` answered it. */
export interface RecordedAsset {
  readonly assetId: number;
  readonly name: string;
  readonly root: string;
  readonly bankType: string;
  readonly format: string;
  readonly offset: number;
  readonly size: number;
  readonly decodedSize: number;
  readonly preload: boolean;
}

/** The record of one pack that wrote `build/`. */
export interface PackState {
  readonly version: number;
  /** The snapshot revision packed, which `asset_table_metadata.json` in `build/` records. */
  readonly revision: number;
  /** {@link packKey} of the snapshot packed. */
  readonly key: string;
  /** Every file the pack read (relative to `assets/`), stamped before it was read. */
  readonly inputs: Readonly<Record<string, RecordedFile>>;
  /**
   * The SHA-256 of every file that pack read (relative to `assets/`: the inputs, the registry and every
   * declaration), as it read it: the next pack reuses it for an input whose stamp has not changed since (see
   * {@link ReadStamps.unchangedSha}) instead of hashing it again, and for a declaration (see
   * {@link ReadStamps.unchangedFile}) instead of reading it again.
   */
  readonly hashes: Readonly<Record<string, string>>;
  /**
   * The settled stamps of the folders whose entries lead to the inputs (relative to `assets/`, '' for `assets/`
   * itself: every folder above the folder of a file read), each taken before anything below it was read. A
   * folder that was racy then is left out: the folders in it are then each checked to be a folder.
   */
  readonly folders: Readonly<Record<string, string>>;
  /** Every artifact in `build/`, stamped after the promotion. */
  readonly artifacts: Readonly<Record<string, RecordedFile>>;
  /** The artifacts as the pack's response named them, in name order. */
  readonly written: readonly WrittenArtifact[];
  readonly assets: readonly RecordedAsset[];
}

/**
 * Everything the artifacts depend on, as a SHA-256, computed from the snapshot alone: the layout and
 * record versions, then for every asset of the build set in `asset_id` order its id, uuid and root, the
 * format and its version, the SHA-256 of its `asset.json` text, and every input's role, path and the
 * SHA-256 its validation recorded. Null when the snapshot could not be packed as it is (a blocking
 * diagnostic, a check pending or not run, an input without a hash): then only a full pack can answer.
 */
export function packKey(snapshot: Snapshot): Promise<string | null> {
  // A snapshot is immutable, so its key is computed once (packs with nothing changed share the snapshot).
  let key = keys.get(snapshot);
  if (key === undefined) keys.set(snapshot, (key = computePackKey(snapshot)));
  return key;
}

/** {@link packKey} by snapshot. */
const keys = new WeakMap<Snapshot, Promise<string | null>>();

/** Computed in slices (see slice.ts): at 10k assets it is tens of milliseconds of hashing. */
async function computePackKey(snapshot: Snapshot): Promise<string | null> {
  const clock = new SliceClock();
  if (!snapshot.workspaceInitialized || snapshot.projectDiagnostics.some((diagnostic) => diagnostic.blocking))
    return null;
  const anchors = new Map(snapshot.crawl.anchors.map((anchor) => [anchor.root, anchor]));
  const hash = createHash('sha256').update(`pack-state ${PACK_STATE_VERSION} assets.pa ${PA_SCHEMA_VERSION}\n`);
  const buildSet = snapshot.assets.filter(inBuildSet).sort((a, b) => a.entry!.asset_id - b.entry!.asset_id);
  for (const record of buildSet) {
    if (clock.due) await clock.pause();
    const declaration = record.anchor?.declaration ?? null;
    const text = anchors.get(record.root)?.text ?? null;
    if (record.diagnostics.some((diagnostic) => diagnostic.blocking) || declaration === null || text === null)
      return null;
    if (record.validation !== 'done' || record.formatResult === null) return null;
    const format = formatNamed(declaration.output.format);
    if (format === undefined) return null;
    const inputs: (string | null)[][] = [];
    for (const input of record.inputs) {
      const sha = input.assetsPath === null ? undefined : record.formatResult.hashes.get(input.assetsPath);
      if (sha === undefined || sha === null) return null;
      inputs.push([input.role, input.path, input.assetsPath, sha]);
    }
    hash.update(
      `${JSON.stringify([record.entry!.asset_id, declaration.asset_uuid, record.root, format.format, format.version, sha256Hex(text), inputs])}\n`,
    );
  }
  return hash.digest('hex');
}

/**
 * Stamps the files a pack reads, each just before it is read, so that a record never vouches for content
 * newer than what was read: a change after the stamp shows as another stamp next time.
 */
export class ReadStamps {
  /** Invariant: every file stamped so far by path relative to `assets/`; null when it was not a regular file. */
  readonly #stamps = new Map<string, FileStamp | null>();
  /**
   * Invariant: every folder stamped so far (see {@link PackState.folders}), null when it was not a folder; with
   * a folder, every folder above it.
   */
  readonly #folders = new Map<string, FileStamp | null>();
  readonly #assets: ProjectFs;
  readonly #previous: PackState | null;

  /**
   * `assets` is the confined view of `assets/` the pack reads through (a scoped one: its folders stay open);
   * `previous` the record of the last pack, if any (see {@link unchangedSha}).
   */
  constructor(assets: ProjectFs, previous: PackState | null = null) {
    this.#assets = assets;
    this.#previous = previous;
  }

  /**
   * The SHA-256 the previous pack read `assetsPath` with, when the stamp just taken ({@link reading}) is the one
   * that pack recorded and both are settled: the file has not changed since it was read and hashed then.
   * Null otherwise (no record, another stamp, a racy file then or now). The caller still compares it with
   * the hash the snapshot validated.
   */
  unchangedSha(assetsPath: string): string | null {
    const now = this.#stamps.get(assetsPath);
    const before = this.#previous?.inputs[assetsPath];
    if (now === undefined || now === null || before === undefined || !now.settled) return null;
    if (before[1] !== null || before[0] !== now.stamp) return null;
    return this.#previous!.hashes[assetsPath] ?? null;
  }

  /**
   * The SHA-256 the previous pack read `assetsPath` with, when its stamp taken now through the pack's confined
   * scope (as a read would) is the settled one that pack recorded: the file has not changed since that pack read
   * and hashed it, so the caller need not read it again when that hash is the one it expects (which it must check).
   * It is then stamped with that stamp. Null otherwise (no record or hash of it, another stamp, a racy one then or
   * now, stamped already), and it is left unstamped: the caller reads it, through {@link reading}.
   */
  unchangedFile(assetsPath: string): string | null {
    const before = this.#previous?.inputs[assetsPath];
    const sha = this.#previous?.hashes[assetsPath];
    if (before === undefined || before[1] !== null || sha === undefined || this.#stamps.has(assetsPath)) return null;
    const slash = assetsPath.lastIndexOf('/');
    if (slash > 0) this.#stampFoldersAbove(assetsPath.slice(0, slash));
    const now = stampOf(this.#assets, assetsPath);
    if (now === null || !now.settled || now.stamp !== before[0]) return null;
    this.#stamps.set(assetsPath, now);
    return sha;
  }

  /**
   * Call it right before reading `assetsPath`, unless it was read already: stamps the folders above it not stamped
   * yet, and returns what to give the read (the `stamped` of `ProjectFs.readFileIfRegularInto`), which stamps the
   * file from the `fstat` of the very descriptor it is read through, once the read's checks passed and before a
   * byte of it is read: no `lstat` of its own, and a change after the stamp shows as another stamp next time.
   * Undefined when the file was stamped already. A file the read refuses (absent, not a regular file) stays
   * stamped null.
   */
  reading(assetsPath: string): ((stats: BigIntStats) => void) | undefined {
    if (this.#stamps.has(assetsPath)) return undefined;
    const slash = assetsPath.lastIndexOf('/');
    if (slash > 0) this.#stampFoldersAbove(assetsPath.slice(0, slash));
    // The clock is read before the stats are taken, as stampOf does: a file changed just before is never settled.
    const now = nowNs();
    this.#stamps.set(assetsPath, null);
    return (stats) => {
      this.#stamps.set(assetsPath, stampFrom(stats, now));
    };
  }

  /**
   * Stamps the folders above `folder` that are not stamped yet, top down, each before anything below it is read.
   * Once the folder just above it is stamped, every folder above that one is too: one lookup per file read.
   */
  #stampFoldersAbove(folder: string): void {
    const slash = folder.lastIndexOf('/');
    const above = slash < 0 ? '' : folder.slice(0, slash);
    if (this.#folders.has(above)) return;
    if (slash >= 0) this.#stampFoldersAbove(above);
    this.#folders.set(above, folderStampWith(this.#assets, above, 'confined', nowNs()));
  }

  /** The folders part of a record: the settled folder stamps (see {@link PackState.folders}). */
  folders(): Record<string, string> {
    const folders: Record<string, string> = {};
    for (const [path, stamp] of this.#folders) if (stamp !== null && stamp.settled) folders[path] = stamp.stamp;
    return folders;
  }

  /**
   * The inputs part of a record, given the SHA-256 of each file's bytes as read (for the racy ones); null
   * when a stamped file was not a regular file (such a pack does not succeed anyway).
   */
  recorded(shaOf: (assetsPath: string) => string): Record<string, RecordedFile> | null {
    const inputs: Record<string, RecordedFile> = {};
    for (const [path, stamp] of this.#stamps) {
      if (stamp === null) return null;
      inputs[path] = [stamp.stamp, stamp.settled ? null : shaOf(path)];
    }
    return inputs;
  }
}

/**
 * Whether the file at `path` is still what `recorded` says: the same stamp, and for a racy one the same
 * SHA-256 of its bytes read now. Returns the entry to record from now on (settled once the racy window has
 * passed), or null when the file is not what was recorded.
 */
async function stillRecorded(
  files: ProjectFs,
  relative: string,
  recorded: RecordedFile,
  limit: number,
): Promise<RecordedFile | null> {
  const now = stampOf(files, relative);
  if (now === null) return null;
  if (recorded[1] === null) return now.stamp === recorded[0] ? recorded : null;
  // Racy: the stamp may stay the same across a change, so the content decides. The stamp was taken before
  // the read, so a change after it shows as another stamp next time. Read and hashed in chunks, each a
  // short task: right after a pack this is all of assets.pa, which must not hold the event loop.
  if (now.stamp !== recorded[0] && !sameSize(now.stamp, recorded[0])) return null;
  const hash = createHash('sha256');
  let length = 0;
  try {
    await files.readChunks(relative, (chunk) => {
      length += chunk.length;
      if (length > limit) throw new RangeError(`${relative} grew past ${limit} bytes.`);
      hash.update(chunk);
    });
  } catch {
    return null;
  }
  if (hash.digest('hex') !== recorded[1]) return null;
  return [now.stamp, now.settled ? null : recorded[1]];
}

/** Whether two stamps name the same size (a racy file of another size cannot hold the recorded bytes). */
function sameSize(a: string, b: string): boolean {
  return a.split(':')[2] === b.split(':')[2];
}

/**
 * Invariant: the last record read or written per record path, with the stamp its file had and the SHA-256
 * of its text; reused while the file keeps that stamp (and, while the stamp is racy, that text), so a pack
 * with nothing changed does not parse it again.
 */
const lastRecord = new Map<string, { readonly stamp: string; readonly sha256: string; readonly state: PackState }>();

function readState(cache: ProjectFs): PackState | null {
  const path = cache.path(PACK_STATE_FILE);
  const stamp = stampOf(cache, PACK_STATE_FILE);
  const last = lastRecord.get(path);
  if (stamp === null) {
    lastRecord.delete(path);
    return null;
  }
  if (last !== undefined && last.stamp === stamp.stamp && stamp.settled) return last.state;
  let text: string;
  try {
    text = cache.readText(PACK_STATE_FILE, PACK_STATE_LIMIT);
  } catch {
    lastRecord.delete(path);
    return null;
  }
  const sha256 = sha256Hex(text);
  // Racy but the same text (a record this process just wrote): hashing it is cheaper than parsing it.
  if (last !== undefined && last.stamp === stamp.stamp && last.sha256 === sha256) return last.state;
  const state = parseState(text);
  if (state === null) lastRecord.delete(path);
  else lastRecord.set(path, { stamp: stamp.stamp, sha256, state });
  return state;
}

function parseState(text: string): PackState | null {
  try {
    const parsed = JSON.parse(text) as Partial<PackState>;
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      parsed.version !== PACK_STATE_VERSION ||
      typeof parsed.revision !== 'number' ||
      typeof parsed.key !== 'string' ||
      typeof parsed.inputs !== 'object' ||
      parsed.inputs === null ||
      typeof parsed.hashes !== 'object' ||
      parsed.hashes === null ||
      typeof parsed.folders !== 'object' ||
      parsed.folders === null ||
      typeof parsed.artifacts !== 'object' ||
      !Array.isArray(parsed.written) ||
      !Array.isArray(parsed.assets)
    )
      return null;
    return parsed as PackState;
  } catch {
    return null;
  }
}

/**
 * The record of the last pack in the cache folder `cache`, whatever it vouches for (null when there is none
 * or it cannot be read): a pack that goes on to pack uses its input hashes ({@link ReadStamps.unchangedSha}).
 */
export function lastPackState(cache: ProjectFs): PackState | null {
  return readState(cache);
}

/** A record that proved `build/` up to date. */
export interface UpToDate {
  readonly state: PackState;
  /** The same record with the racy files that have settled since restamped, to save; null when none did. */
  readonly refreshed: PackState | null;
}

/** Where {@link upToDateState} looks: the project root, its `assets/` and the cache folder, all confined. */
export interface PackStateLocation {
  /** The project root (for `build/` and the promotion leftovers beside it). */
  readonly root: ProjectFs;
  /** `assets/`, the files a pack reads. */
  readonly assets: ProjectFs;
  /** The cache folder, which holds the record. */
  readonly cache: ProjectFs;
}

/**
 * The record of the pack that wrote the current `build/`, when it proves that `build/` holds exactly what
 * packing `snapshot` would write:
 * - the record is for this very revision (which `asset_table_metadata.json` carries) and the snapshot's
 *   {@link packKey} equals the recorded one (so every asset of the build set is validated, nothing blocks,
 *   and the declarations and validated input hashes are the ones packed);
 * - every file that pack read still has its stamp (the registry, every `asset.json` and input: a file
 *   changed behind the packer's back shows here, and a full pack then reports it as diverged);
 * - no promotion was interrupted (no `.build-next-*` or `.build-previous-*` beside `build/`), and `build/`
 *   is a real folder whose artifacts are exactly the recorded ones, each with the stamp it had right after
 *   the promotion (a deleted, replaced or edited `assets.pa` shows here; a link is never trusted).
 * Racy files are verified by their SHA-256 instead. Null otherwise. Reads nothing but the record, the
 * stamps and the racy files. The caller must also rule out divergence the watcher knows of.
 */
export async function upToDateState(snapshot: Snapshot, where: PackStateLocation): Promise<UpToDate | null> {
  const state = readState(where.cache);
  if (state === null || state.revision !== snapshot.revision || (await packKey(snapshot)) !== state.key) return null;
  if (hasInterruptedPromotion(where.root)) return null;
  const written = new Set(state.written.map((artifact) => artifact.name));
  const recordedNames = Object.keys(state.artifacts);
  if (recordedNames.length !== written.size || recordedNames.some((name) => !written.has(name))) return null;
  let changed = false;
  const now = nowNs();
  const check = async (
    files: ProjectFs,
    entries: Readonly<Record<string, RecordedFile>>,
    prefix: string,
    limit: number,
    wayOk: (relative: string) => boolean,
  ): Promise<Readonly<Record<string, RecordedFile>> | null> => {
    // The entries as they are, unless one was restamped: only then is a new record built.
    let next: Record<string, RecordedFile> | null = null;
    const names = Object.keys(entries);
    // Settled entries need their stamp alone, taken by path (one system call each; see stampWith) in slices
    // of the event loop's time; only a racy one is read, through the confined file system.
    const clock = new SliceClock();
    for (let index = 0; index < names.length; index++) {
      const name = names[index]!;
      const recorded = entries[name]!;
      const relative = `${prefix}${name}`;
      if (!wayOk(relative)) return null;
      const still =
        recorded[1] === null
          ? stampWith(files, relative, 'identity', now)?.stamp === recorded[0]
            ? recorded
            : null
          : await stillRecorded(files, relative, recorded, limit);
      if (still === null) return null;
      if (clock.due) await clock.pause();
      if (still !== recorded && next === null) {
        next = {};
        for (const earlier of names.slice(0, index)) next[earlier] = entries[earlier]!;
      }
      if (next !== null) next[name] = still;
    }
    if (next === null) return entries;
    changed = true;
    return next;
  };
  // A file reached through a link stays out even when its stamp would match (a folder moved out of the project
  // and linked back): every folder on the way must be the folder recorded. Its entry lives in the folder above
  // it, so a folder above whose settled stamp still matches vouches for every folder in it (its times change
  // with any entry added, removed or renamed); a folder in one that does not (or was racy) is checked itself
  // to be a folder, not a link. Each folder is settled once, top down.
  const wayThrough = (files: ProjectFs, recordedFolders: Readonly<Record<string, string>>) => {
    // Invariant: folders known to be the recorded folders (or checked to be folders), their way included.
    const verified = new Set<string>(['']);
    // Invariant: by folder, whether its stamp still matches the recorded one (so its entries are as recorded).
    const vouches = new Map<string, boolean>();
    const vouched = (folder: string): boolean => {
      let still = vouches.get(folder);
      if (still === undefined) {
        const recorded = recordedFolders[folder];
        still = recorded !== undefined && folderStampWith(files, folder, 'identity', now)?.stamp === recorded;
        vouches.set(folder, still);
      }
      return still;
    };
    return (relative: string): boolean => {
      const own = parentOf(relative);
      if (verified.has(own)) return true;
      for (let slash = own.indexOf('/'); ; slash = own.indexOf('/', slash + 1)) {
        const folder = slash < 0 ? own : own.slice(0, slash);
        if (!verified.has(folder)) {
          if (!vouched(parentOf(folder)) && files.identityStat(folder)?.isDirectory() !== true) return false;
          verified.add(folder);
        }
        if (slash < 0) return true;
      }
    };
  };
  // One scope each: every folder is resolved once, every file still stamped on its own.
  const inputs = await where.assets.scope((assets) =>
    check(assets, state.inputs, '', SIZE_LIMITS.input, wayThrough(assets, state.folders)),
  );
  if (inputs === null) return null;
  const artifacts = await where.root.scope((root) => {
    const build = root.kind(BUILD_FOLDER);
    // build/ itself was just checked to be a folder: nothing vouches for it by stamp.
    return build === 'folder'
      ? check(root, state.artifacts, `${BUILD_FOLDER}/`, ARTIFACT_LIMIT, wayThrough(root, {}))
      : Promise.resolve(null);
  });
  if (artifacts === null) return null;
  return { state, refreshed: changed ? { ...state, inputs, artifacts } : null };
}

/** Saves a record again (see {@link UpToDate.refreshed}); not flushed, failures swallowed. */
export async function resavePackState(cache: ProjectFs, state: PackState): Promise<void> {
  await writeState(cache, state);
}

async function writeState(cache: ProjectFs, state: PackState): Promise<void> {
  const text = `${JSON.stringify(state)}\n`;
  try {
    await cache.writeFileDerived(PACK_STATE_FILE, text, { createParents: true });
  } catch (error) {
    if (typeof (error as NodeJS.ErrnoException).code !== 'string') throw error;
    return;
  }
  // Kept with the stamp the file has now, so the next check needs no parse (see readState).
  const stamp = stampOf(cache, PACK_STATE_FILE);
  if (stamp === null) lastRecord.delete(cache.path(PACK_STATE_FILE));
  else lastRecord.set(cache.path(PACK_STATE_FILE), { stamp: stamp.stamp, sha256: sha256Hex(text), state });
}

/** Removes the record (a pack that did not write `build/` as recorded); failures swallowed. */
export async function forgetPackState(cache: ProjectFs): Promise<void> {
  lastRecord.delete(cache.path(PACK_STATE_FILE));
  try {
    await cache.unlink(PACK_STATE_FILE);
  } catch (error) {
    if (typeof (error as NodeJS.ErrnoException).code !== 'string') throw error;
  }
}

/**
 * Writes the record of a pack that just promoted `written` into `build/` (not flushed: a lost or torn
 * record only costs the next pack its shortcut). `inputs` comes from {@link ReadStamps.recorded}. A
 * failure is swallowed for the same reason.
 */
export async function savePackState(
  where: Pick<PackStateLocation, 'root' | 'cache'>,
  record: {
    readonly revision: number;
    readonly key: string;
    readonly inputs: Record<string, RecordedFile>;
    readonly hashes: Record<string, string>;
    readonly folders: Record<string, string>;
    readonly assets: readonly RecordedAsset[];
  },
  written: readonly WrittenArtifact[],
): Promise<void> {
  const artifacts: Record<string, RecordedFile> = {};
  for (const artifact of written) {
    const stamp = stampOf(where.root, `${BUILD_FOLDER}/${artifact.name}`);
    if (stamp === null) return;
    artifacts[artifact.name] = [stamp.stamp, stamp.settled ? null : artifact.sha256];
  }
  await writeState(where.cache, { version: PACK_STATE_VERSION, ...record, artifacts, written: [...written] });
}
