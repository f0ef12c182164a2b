/**
 * The snapshot a reload (reconcile, initWorkspace, recovery) publishes, made from a fresh crawl of the whole of
 * `assets/` at the cost of what changed: the fresh crawl is compared with the previous one between turns of the
 * event loop, and the previous snapshot is patched in the folders that differ, as a commit patches it. Where
 * that cannot be done (the registry file changed, too much changed, or a change bears on other assets), the
 * snapshot is joined whole, reusing every record whose registry entry and declaration are unchanged.
 */
import { compareStrings, type CrawlResult } from '../domain/crawl.js';
import type { FormatResults } from '../domain/format-results.js';
import { parentOf } from '../domain/paths.js';
import { parseDeclaration } from '../domain/declaration.js';
import type { ParsedRegistry } from '../domain/registry.js';
import {
  buildSnapshot,
  patchSnapshotForReload,
  type ParsedAnchor,
  type QuarantineEntry,
  type Snapshot,
} from '../domain/snapshot.js';
import { yieldToClients } from '../io/turns.js';
import { SliceClock } from '../pack/slice.js';

/** How many items of a crawl are compared between two turns of the event loop. */
const COMPARE_CHUNK = 2_000;

/**
 * Above this many folders that differ, the snapshot is joined whole: a patch is made in one piece, and its
 * cost grows with what changed, where the whole join parses the changed declarations in chunks.
 */
const MAX_PATCHED_FOLDERS = 256;

/**
 * The folders (relative to `assets/`) within which the crawl `after` of the whole of `assets/` differs from
 * `before`: an anchor's root when it appeared, vanished or its text changed, and the folder holding a file, a
 * link or a problem that appeared or vanished. Everything outside them is listed alike by both. Null when more
 * than `limit` folders differ, or when something differs at the top of `assets/` (a patch cannot take '').
 * Compared in chunks between turns of the event loop.
 */
export async function changedFolders(
  before: CrawlResult,
  after: CrawlResult,
  limit = MAX_PATCHED_FOLDERS,
): Promise<Set<string> | null> {
  const folders = new Set<string>();
  let steps = 0;
  const tooMany = (): boolean => folders.has('') || folders.size > limit;
  /** Walks two lists sorted by key and adds the folder of every item in one only, or differing in both. */
  const walk = async <T>(
    old: readonly T[],
    now: readonly T[],
    key: (item: T) => string,
    same: (a: T, b: T) => boolean,
    folderOf: (path: string) => string,
  ): Promise<boolean> => {
    for (let i = 0, j = 0; i < old.length || j < now.length;) {
      if (++steps % COMPARE_CHUNK === 0) {
        if (tooMany()) return false;
        await yieldToClients();
      }
      const was = old[i];
      const is = now[j];
      const order = was === undefined ? 1 : is === undefined ? -1 : compareStrings(key(was), key(is));
      if (order === 0) {
        if (!same(was!, is!)) folders.add(folderOf(key(was!)));
        i++;
        j++;
      } else if (order < 0) {
        folders.add(folderOf(key(was!)));
        i++;
      } else {
        folders.add(folderOf(key(is!)));
        j++;
      }
    }
    return !tooMany();
  };
  const equal = (): boolean => true;
  const itself = (path: string): string => path;
  const ok =
    (await walk(
      before.anchors,
      after.anchors,
      (anchor) => anchor.root,
      (a, b) => a.text === b.text && a.readError === b.readError,
      itself,
    )) &&
    (await walk(before.files, after.files, itself, equal, parentOf)) &&
    (await walk(before.symlinks, after.symlinks, itself, equal, parentOf)) &&
    (await walk(
      before.problems,
      after.problems,
      (problem) => `${problem.path}\0${problem.code}`,
      equal,
      (key) => parentOf(key.slice(0, key.indexOf('\0'))),
    ));
  return ok ? folders : null;
}

/** How many format results the patch's walk of them looks at between two looks at the clock. */
const CLOCK_EVERY = 256;

/** How many declarations a whole join parses between two turns of the event loop. */
const PARSE_CHUNK = 200;

/**
 * The snapshot of revision `revision` after `previous`, from `crawl` (a fresh crawl of the whole of `assets/`),
 * `quarantine` (read with it) and `formatResults` (those of `previous` the reload carries on). `registry` is the
 * registry read, or null when the file holds the very text `previous` was built from: `previous.parsedRegistry`
 * then stands for it (its entries the same objects, so records built on them are reused). Equal to
 * `buildSnapshot(revision, crawl, registry, { previous, quarantine, formatResults })`;
 * `test/domain/reload-patch.test.ts` pins the equality. Declarations whose text changed are parsed here, between
 * turns of the event loop.
 */
export async function reloadedSnapshot(
  revision: number,
  previous: Snapshot,
  crawl: CrawlResult,
  quarantine: readonly QuarantineEntry[],
  registry: ParsedRegistry | null,
  formatResults: FormatResults,
): Promise<Snapshot> {
  if (registry === null) {
    const folders = await changedFolders(previous.crawl, crawl);
    if (folders !== null) {
      // A result the reload dropped or renewed changes its record: its root is patched too. In time slices: a
      // walk of every result (a shared map's, through its generator) held the main thread for one pass at 100k.
      const clock = new SliceClock();
      let looked = 0;
      for (const [root, result] of previous.formatResults) {
        if (++looked % CLOCK_EVERY === 0) await clock.pause();
        if (formatResults.get(root) !== result) folders.add(root);
      }
      if (!folders.has('') && folders.size <= MAX_PATCHED_FOLDERS) {
        const patched = patchSnapshotForReload(
          revision,
          previous,
          crawl,
          previous.parsedRegistry,
          [...folders].sort(compareStrings),
          quarantine,
          formatResults,
        );
        if (patched !== undefined) return patched;
      }
    }
  }
  // A declaration whose text is unchanged keeps the very parse it had: format results and the records
  // built on it are matched by that identity, so the join keeps them. The others are parsed in chunks.
  const anchors = new Map<string, ParsedAnchor>();
  let parses = 0;
  for (const anchor of crawl.anchors) {
    const before = previous.parsedAnchors.get(anchor.root);
    if (before !== undefined && before.text !== null && before.text === anchor.text) {
      anchors.set(anchor.root, before);
      continue;
    }
    if (++parses % PARSE_CHUNK === 0) await yieldToClients();
    anchors.set(anchor.root, {
      text: anchor.text,
      parsed: parseDeclaration(anchor.root, anchor.text, anchor.readError),
    });
  }
  await yieldToClients();
  return buildSnapshot(revision, crawl, registry ?? previous.parsedRegistry, {
    quarantine,
    parsedAnchors: anchors,
    previous,
    formatResults,
  });
}
