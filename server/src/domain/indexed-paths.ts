/** A `Map` keyed by path that can also list its keys at or below given folders without testing every key. */
import { compareStrings, lowerBound } from './crawl.js';

/** How many keys set since the last sort are scanned one by one before they are sorted in. */
const UNSORTED_SCANNED = 1024;

/**
 * A `Map` from relative paths (`a/b/c`, no leading or trailing slash) to values that keeps, beside the map,
 * its keys in code-unit order, so that {@link keysWithin} finds the keys of a folder by binary search. The
 * order is kept lazily: a new key goes to a list of unsorted keys (merged in only when a lookup meets more
 * than a few of them), and a deleted key stays in the sorted list until a rebuild (each key found there is
 * tested against the map). Everything else behaves as a plain `Map`.
 */
export class IndexedPaths<V> extends Map<string, V> {
  /** Invariant: sorted and free of duplicates; holds every key of the map that is not in {@link #unsorted}, and perhaps deleted ones. */
  #sorted: string[] = [];
  /** Invariant: keys set since the last sort, not in the map when set and not above every sorted key (perhaps deleted since). */
  #unsorted = new Set<string>();
  /** How many entries of {@link #sorted} may be keys deleted since the last rebuild. */
  #stale = 0;

  override set(key: string, value: V): this {
    // The base constructor calls `set` before the fields exist (never with entries here).
    if (this.#unsorted !== undefined && !super.has(key)) {
      // Keys set in order (a crawl's files, as the verification pass sets them) go straight to the sorted list.
      const sorted = this.#sorted;
      if (sorted.length === 0 || key > sorted[sorted.length - 1]!) sorted.push(key);
      else this.#unsorted.add(key);
    }
    return super.set(key, value);
  }

  override delete(key: string): boolean {
    const had = super.delete(key);
    if (had && !this.#unsorted.delete(key)) this.#stale++;
    return had;
  }

  override clear(): void {
    super.clear();
    this.#sorted = [];
    this.#unsorted.clear();
    this.#stale = 0;
  }

  /**
   * The keys that are one of `folders` or lie below one of them, each once, in no particular order. Costs a
   * binary search per folder plus the keys found (and, now and then, a sort of the keys set since the last).
   */
  keysWithin(folders: readonly string[]): string[] {
    if (this.#unsorted.size > UNSORTED_SCANNED || this.#stale > Math.max(UNSORTED_SCANNED, this.#sorted.length / 2))
      this.#resort();
    const found = new Set<string>();
    const prefixes = folders.map((folder) => `${folder}/`);
    const within = (path: string): boolean => {
      for (let index = 0; index < folders.length; index++)
        if (path === folders[index] || path.startsWith(prefixes[index]!)) return true;
      return false;
    };
    const sorted = this.#sorted;
    for (const [index, folder] of folders.entries()) {
      const exact = lowerBound(sorted, folder);
      if (sorted[exact] === folder && super.has(folder)) found.add(folder);
      const prefix = prefixes[index]!;
      for (let at = lowerBound(sorted, prefix); at < sorted.length && sorted[at]!.startsWith(prefix); at++)
        if (super.has(sorted[at]!)) found.add(sorted[at]!);
    }
    for (const key of this.#unsorted) if (within(key)) found.add(key);
    return [...found];
  }

  /** Sorts the keys set since the last sort in, and drops the deleted ones (a pass over every key). */
  #resort(): void {
    const fresh = [...this.#unsorted].sort(compareStrings);
    const merged: string[] = [];
    const sorted = this.#sorted;
    let i = 0;
    let j = 0;
    while (i < sorted.length || j < fresh.length) {
      const next =
        j >= fresh.length || (i < sorted.length && compareStrings(sorted[i]!, fresh[j]!) <= 0)
          ? sorted[i++]!
          : fresh[j++]!;
      if (merged.length > 0 && merged[merged.length - 1] === next) continue;
      if (super.has(next)) merged.push(next);
    }
    this.#sorted = merged;
    this.#unsorted.clear();
    this.#stale = 0;
  }
}
