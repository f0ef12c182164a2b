/**
 * What format validation found for one asset, as the snapshot keeps it, and when the format checks can run.
 * Pure types and one predicate: the validation itself (reading, hashing, the formats) lives in
 * `server/src/validation/`.
 */
import type { AssetDeclarationFile, Diagnostic } from '@prometeu/packer-protocol';
import { contractOf } from './asset-types.js';
import type { ParsedDeclaration } from './declaration.js';

/**
 * Whether an asset's format checks have run: `pending` (not yet, for this declaration and these inputs),
 * `done` (the format's blockers are in the asset's diagnostics), `notRun` (they cannot run: the declaration
 * is invalid or an input is missing, and those diagnostics come first).
 */
export type ValidationState = 'pending' | 'done' | 'notRun';

/** The result of one asset's format validation, computed for one parsed declaration. */
export interface FormatResult {
  /** The parsed anchor it was computed for; it applies to a record only while the record has this very object. */
  readonly anchor: ParsedDeclaration;
  /**
   * The SHA-256 (hex) of each input's content as it was read and validated, by path relative to `assets/`;
   * null when the file could not be read as a regular file at the time.
   */
  readonly hashes: InputValues;
  /**
   * Each input's stat stamp (size, modification and change times, inode) right after it was read, by path
   * relative to `assets/`; null when it could not be read. A reload carries the result over to the next
   * snapshot while every stamp (or, failing that, every content hash) is unchanged.
   */
  readonly stamps: InputValues;
  /** The format's blocking problems, without identity, severity or blocking decided (the snapshot stamps those). */
  readonly diagnostics: readonly Diagnostic[];
}

/**
 * One value per input path, read-only, as a {@link FormatResult}'s `hashes` and `stamps` hold them: two arrays
 * instead of a `Map` per asset, the paths array shared by both and made of the snapshot's own path strings (a
 * `Map` of one or two entries costs about 150 bytes of hash table; at 100k assets two of them and the worker's
 * copies of every path were about 0.6 KiB per asset, docs/performance-history.md, "Memory watching, sixth round").
 * Lookups scan the paths, which is what a hash table costs at the one to four inputs an asset mostly has; an
 * asset with more inputs gets an index built on its first lookup.
 */
export class InputValues implements ReadonlyMap<string, string | null> {
  /** Invariant: the same length as `values`, each path once; never written after construction. */
  readonly #paths: readonly string[];
  /** Invariant: the value of `#paths[i]` at `i`; never written after construction. */
  readonly #values: readonly (string | null)[];
  /** Built on the first lookup of an asset with many inputs; then never written again. */
  #index: Map<string, number> | undefined;

  /** `paths` and `values` are kept as given (not copied): neither may be written afterwards. */
  constructor(paths: readonly string[], values: readonly (string | null)[]) {
    if (paths.length !== values.length) throw new Error('InputValues: one value per path.');
    this.#paths = paths;
    this.#values = values;
  }

  /** The paths, shared with any other {@link InputValues} built on the same array. */
  get paths(): readonly string[] {
    return this.#paths;
  }

  /** The same paths with other values (the shared paths array is reused). */
  with(values: readonly (string | null)[]): InputValues {
    return new InputValues(this.#paths, values);
  }

  get size(): number {
    return this.#paths.length;
  }

  #indexOf(path: string): number {
    if (this.#paths.length <= INDEXED_FROM) return this.#paths.indexOf(path);
    this.#index ??= new Map(this.#paths.map((each, index) => [each, index]));
    return this.#index.get(path) ?? -1;
  }

  get(path: string): string | null | undefined {
    const index = this.#indexOf(path);
    return index < 0 ? undefined : this.#values[index];
  }

  has(path: string): boolean {
    return this.#indexOf(path) >= 0;
  }

  *entries(): MapIterator<[string, string | null]> {
    for (let index = 0; index < this.#paths.length; index++) yield [this.#paths[index]!, this.#values[index]!];
  }

  keys(): MapIterator<string> {
    return this.#paths[Symbol.iterator]();
  }

  values(): MapIterator<string | null> {
    return this.#values[Symbol.iterator]();
  }

  [Symbol.iterator](): MapIterator<[string, string | null]> {
    return this.entries();
  }

  forEach(callback: (value: string | null, key: string, map: ReadonlyMap<string, string | null>) => void): void {
    for (let index = 0; index < this.#paths.length; index++) callback(this.#values[index]!, this.#paths[index]!, this);
  }
}

/** From this many inputs on, {@link InputValues} looks paths up through an index instead of a scan. */
const INDEXED_FROM = 8;

/** Format results by asset root. Immutable once a snapshot holds it. */
export type FormatResults = ReadonlyMap<string, FormatResult>;

/** No result at all (a snapshot just read from disk). */
export const NO_FORMAT_RESULTS: FormatResults = new Map();

/**
 * Whether the format checks can run on this declaration: it is valid and its `output.format` is the one
 * its type requires (every such format has an implementation; the pack fails loudly if one has not).
 */
export function formatCheckable(declaration: AssetDeclarationFile | null): boolean {
  return declaration !== null && contractOf(declaration.type)?.format === declaration.output.format;
}
