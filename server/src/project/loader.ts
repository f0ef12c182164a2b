/**
 * Reading a project's workspace from disk into a snapshot: crawl `assets/`, read the registry and the
 * quarantine, join. After a commit only the folders the commit touched are crawled again.
 */
import { join } from 'node:path';
import type { RegistryFile } from '@prometeu/packer-protocol';
import { compareStrings, crawlAssets, type CrawlResult } from '../domain/crawl.js';
import { folderFs, rootFs, type FolderLocation, type ProjectFs } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import { isWithin } from '../domain/paths.js';
import {
  checkRegistry,
  checkRegistryAfter,
  parseRegistry,
  REGISTRY_PATH,
  type ParsedRegistry,
} from '../domain/registry.js';
import { buildSnapshot, patchSnapshot, type QuarantineEntry, type Snapshot } from '../domain/snapshot.js';
import type { FormatResults } from '../domain/format-results.js';
import { QUARANTINE_FOLDER } from '../mutations/effects.js';

/** The `assets/` folder of a project root. */
export function assetsDirOf(projectRoot: string): string {
  return join(projectRoot, 'assets');
}

/**
 * Reads the registry file: text, or null when absent, or a read error code (a link, a FIFO or a file over
 * its size limit is refused by the confined file system with ELOOP, EFTYPE or EFBIG, without being read).
 */
export function readRegistryText(assetsDir: FolderLocation): { text: string | null; readError?: string } {
  try {
    return { text: folderFs(assetsDir).readText(REGISTRY_PATH, SIZE_LIMITS.registry) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    return code === 'ENOENT' ? { text: null } : { text: null, readError: code };
  }
}

/** Reads the quarantine manifests; unreadable ones are skipped (the folder stays for a person to inspect). */
export function loadQuarantine(assetsDir: FolderLocation): QuarantineEntry[] {
  const assets = folderFs(assetsDir);
  let names: string[];
  try {
    names = assets.listNames(QUARANTINE_FOLDER);
  } catch {
    return [];
  }
  const entries: QuarantineEntry[] = [];
  for (const name of names.sort(compareStrings)) {
    try {
      const manifestPath = `${QUARANTINE_FOLDER}/${name}/manifest.json`;
      const manifest = JSON.parse(assets.readText(manifestPath, SIZE_LIMITS.quarantineManifest)) as Record<
        string,
        unknown
      >;
      if (typeof manifest['asset_uuid'] !== 'string' || typeof manifest['root'] !== 'string') continue;
      entries.push({
        assetUuid: manifest['asset_uuid'],
        root: manifest['root'],
        assetId: typeof manifest['asset_id'] === 'number' ? manifest['asset_id'] : null,
        includedInBuild: manifest['included_in_build'] === true,
        name: typeof manifest['name'] === 'string' ? manifest['name'] : null,
        type:
          typeof manifest['type'] === 'string'
            ? manifest['type']
            : quarantinedType(assets, `${QUARANTINE_FOLDER}/${name}`),
        quarantinedAt:
          typeof manifest['quarantined_at'] === 'string'
            ? manifest['quarantined_at']
            : modifiedAt(assets, manifestPath),
      });
    } catch {
      // A half-written or foreign folder: not a quarantine entry.
    }
  }
  return entries;
}

/** The type the quarantined `asset.json` declares, for manifests written before they recorded it. */
function quarantinedType(assets: ProjectFs, entryFolder: string): string | null {
  try {
    const declaration = JSON.parse(
      assets.readText(`${entryFolder}/root/asset.json`, SIZE_LIMITS.declaration),
    ) as unknown;
    const type = (declaration as { type?: unknown } | null)?.type;
    return typeof type === 'string' ? type : null;
  } catch {
    return null;
  }
}

/** A file's modification time (ISO 8601), for manifests written before they recorded `quarantined_at`. */
function modifiedAt(assets: ProjectFs, path: string): string | null {
  return assets.stat(path)?.mtime.toISOString() ?? null;
}

/** When a crawl listed one folder (relative to `assets/`, '' for all of it), in ms since the epoch. */
interface CrawlTime {
  readonly folder: string;
  readonly at: number;
}

/**
 * Invariant: when each crawl the loader made listed what it holds, oldest first (a partial re-crawl adds its
 * folders to the times of the crawl it was spliced into). Crawls are immutable, so their times are too.
 */
const crawlTimes = new WeakMap<CrawlResult, readonly CrawlTime[]>();

/**
 * When the crawl of `crawl` that listed `path` began (ms since the epoch), or null when the loader did not
 * make that crawl (tests and tools build snapshots by hand). A file whose content changed after that
 * instant is not the file the snapshot saw, so a validation that reads it records nothing for it.
 */
export function crawledAt(crawl: CrawlResult, path: string): number | null {
  let latest: number | null = null;
  for (const time of crawlTimes.get(crawl) ?? [])
    if ((time.folder === '' || isWithin(time.folder, path)) && (latest === null || time.at > latest)) latest = time.at;
  return latest;
}

/** Records that the crawl `crawl` of the whole of `assets/` began at `at` (ms since the epoch). */
export function noteCrawlTime(crawl: CrawlResult, at: number): void {
  crawlTimes.set(crawl, [{ folder: '', at }]);
}

/** Loads a snapshot of the project at `projectRoot`. Throws only when `assets/` itself cannot be listed. */
export function loadSnapshot(
  projectRoot: FolderLocation,
  revision: number,
  previous?: Snapshot,
  formatResults?: FormatResults,
): Snapshot {
  const assetsDir = rootFs(projectRoot).at('assets');
  // Taken before the crawl: whatever it lists was last changed before this instant, or is distrusted.
  const at = Date.now();
  const crawl = crawlAssets(assetsDir);
  noteCrawlTime(crawl, at);
  const registry = readRegistryText(assetsDir);
  return buildSnapshot(revision, crawl, parseRegistry(registry.text, registry.readError), {
    quarantine: loadQuarantine(assetsDir),
    ...(previous ? { previous } : {}),
    ...(formatResults ? { formatResults } : {}),
  });
}

/** Crawls `folders` again and splices what they hold now into `previous`. */
export function recrawl(previous: CrawlResult, assetsDir: FolderLocation, folders: readonly string[]): CrawlResult {
  if (folders.length === 0) return previous;
  const at = Date.now();
  const spliced = recrawlFolders(previous, assetsDir, folders);
  // A time of a folder within one crawled now (or the same) says nothing any more: this one is later and covers
  // it. Dropped, so the list holds the folders touched since the last full crawl, not one time per commit.
  const covered = (time: CrawlTime): boolean =>
    time.folder !== '' && folders.some((folder) => isWithin(folder, time.folder));
  crawlTimes.set(spliced, [
    ...(crawlTimes.get(previous) ?? []).filter((time) => !covered(time)),
    ...folders.map((folder) => ({ folder, at })),
  ]);
  return spliced;
}

/** The most items one `splice` call inserts (its arguments). */
const SPLICED_AT_ONCE = 8192;

function recrawlFolders(previous: CrawlResult, assetsDir: FolderLocation, folders: readonly string[]): CrawlResult {
  const assets = folderFs(assetsDir);
  const parts = folders.map((folder) => crawlAssets(assets, folder));
  // Every list is sorted in code-unit order, so what lies within a folder (the folder itself, then every path
  // that starts with `folder/`) is one run of it, found by binary search: the untouched rest is copied in runs
  // and the few fresh items merged in, instead of testing and re-sorting every path of the project.
  const splice = <T>(
    kept: readonly T[],
    fresh: T[][],
    key: (item: T) => string,
    same: (a: T, b: T) => boolean = (a, b) => a === b,
  ): T[] => {
    // The first index of `kept` whose key does not sort below `value` (searched in place, no list of keys).
    const at = (value: string): number => {
      let low = 0;
      let high = kept.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if (key(kept[middle]!) < value) low = middle + 1;
        else high = middle;
      }
      return low;
    };
    const dropped: [number, number][] = [];
    for (const folder of folders) {
      const exact = at(folder);
      // '0' is the code unit after '/': the paths below `folder` end where those starting with `folder0` begin.
      if (exact < kept.length && key(kept[exact]!) === folder) dropped.push([exact, exact + 1]);
      dropped.push([at(`${folder}/`), at(`${folder}0`)]);
    }
    dropped.sort((a, b) => a[0] - b[0]);
    // What is kept: the runs of `kept` outside the dropped ones, as [from, to) ranges.
    const runs: [number, number][] = [];
    let start = 0;
    for (const [from, to] of dropped) {
      if (from > start) runs.push([start, from]);
      start = Math.max(start, to);
    }
    if (start < kept.length) runs.push([start, kept.length]);
    const isKept = (index: number): boolean => runs.some(([from, to]) => index >= from && index < to);
    const seen = new Set<string>();
    // Each fresh item goes where its key sorts among the kept ones; under a key that is also kept (a crawl
    // that strayed outside its folder) it loses, as before.
    const placed = fresh
      .flat()
      .filter((item) => (seen.has(key(item)) ? false : (seen.add(key(item)), true)))
      .sort((a, b) => compareStrings(key(a), key(b)))
      .map((item) => [at(key(item)), item] as const)
      .filter(([index, item]) => !(index < kept.length && key(kept[index]!) === key(item) && isKept(index)));
    // The list is copied whole natively (a spread) and the few changes spliced in from the end, not pushed
    // path by path: at 100k roots a commit's splice moved 400k paths one by one (and grew the list as it went).
    // The gaps between the kept runs are what goes.
    const gaps: [number, number][] = [];
    let end = 0;
    for (const [from, to] of runs) {
      if (from > end) gaps.push([end, from]);
      end = to;
    }
    if (end < kept.length) gaps.push([end, kept.length]);
    // The folders hold what they held (a commit that rewrote files in place, a rename's `asset.json`): the list
    // is the previous one itself, not a copy. Lists are never written after a crawl made them.
    if (sameItems(kept, gaps, placed, same)) return kept as T[];
    // A fresh item goes before the first kept item at or after its place: after the gaps below its place are
    // gone, at its place less the dropped items below it. Items at one place keep their order.
    const groups: { at: number; items: T[] }[] = [];
    let gap = 0;
    let droppedBelow = 0;
    for (const [index, item] of placed) {
      while (gap < gaps.length && gaps[gap]![1] <= index) droppedBelow += gaps[gap]![1] - gaps[gap++]![0];
      const inGap = gap < gaps.length && gaps[gap]![0] < index ? index - gaps[gap]![0] : 0;
      const at = index - droppedBelow - inGap;
      const last = groups[groups.length - 1];
      if (last !== undefined && last.at === at) last.items.push(item);
      else groups.push({ at, items: [item] });
    }
    const merged = [...kept];
    for (let index = gaps.length - 1; index >= 0; index--)
      merged.splice(gaps[index]![0], gaps[index]![1] - gaps[index]![0]);
    for (let index = groups.length - 1; index >= 0; index--) {
      const { at, items } = groups[index]!;
      // In slices, so that no call takes too many arguments.
      for (
        let from = Math.floor((items.length - 1) / SPLICED_AT_ONCE) * SPLICED_AT_ONCE;
        from >= 0;
        from -= SPLICED_AT_ONCE
      )
        merged.splice(at, 0, ...items.slice(from, from + SPLICED_AT_ONCE));
    }
    return merged;
  };
  return {
    anchors: splice(
      previous.anchors,
      parts.map((part) => [...part.anchors]),
      (anchor) => anchor.root,
      (a, b) => a.root === b.root && a.text === b.text && a.readError === b.readError,
    ),
    files: splice(
      previous.files,
      parts.map((part) => [...part.files]),
      (file) => file,
    ),
    symlinks: splice(
      previous.symlinks,
      parts.map((part) => [...part.symlinks]),
      (link) => link,
    ),
    problems: splice(
      previous.problems,
      parts.map((part) => [...part.problems]),
      (problem) => problem.path,
      (a, b) => a.path === b.path && a.code === b.code,
    ),
  };
}

/**
 * Whether the items of `kept` in `gaps` (ascending [from, to) ranges), in order, are `placed`'s items one for one
 * and each at the place of the kept item it equals: then splicing them in would give `kept` again.
 */
function sameItems<T>(
  kept: readonly T[],
  gaps: readonly (readonly [number, number])[],
  placed: readonly (readonly [number, T])[],
  same: (a: T, b: T) => boolean,
): boolean {
  let next = 0;
  for (const [from, to] of gaps)
    for (let index = from; index < to; index++) {
      const item = placed[next++];
      if (item === undefined || item[0] !== index || !same(kept[index]!, item[1])) return false;
    }
  return next === placed.length;
}

/**
 * The snapshot after a commit: the registry the commit wrote (checked, not re-read) and the touched
 * folders crawled again; everything else is carried over from `previous`.
 */
export function snapshotAfterCommit(
  previous: Snapshot,
  assetsDir: FolderLocation,
  registry: RegistryFile | null,
  folders: readonly string[],
): Snapshot {
  const parsedRegistry: ParsedRegistry =
    registry !== null ? checkRegistryAfter(previous.parsedRegistry, registry) : registryOf(previous, assetsDir);
  // Patched from the previous snapshot for what the commit touched (built whole when that cannot be done).
  return patchSnapshot(
    previous.revision + 1,
    previous,
    recrawl(previous.crawl, assetsDir, folders),
    parsedRegistry,
    folders,
    loadQuarantine(assetsDir),
  );
}

/** The registry after a commit that did not write it: the previous snapshot's, checked again only when it has none parsed. */
function registryOf(previous: Snapshot, assetsDir: FolderLocation): ParsedRegistry {
  // The same registry object gives the same check: checking it again cost a walk of every entry per rename.
  if (previous.registry !== null && previous.parsedRegistry.registry === previous.registry)
    return previous.parsedRegistry;
  if (previous.registry !== null) return checkRegistry(previous.registry);
  const registry = readRegistryText(assetsDir);
  return parseRegistry(registry.text, registry.readError);
}
