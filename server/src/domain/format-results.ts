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
  readonly hashes: ReadonlyMap<string, string | null>;
  /**
   * Each input's stat stamp (size, modification and change times, inode) right after it was read, by path
   * relative to `assets/`; null when it could not be read. A reload carries the result over to the next
   * snapshot while every stamp (or, failing that, every content hash) is unchanged.
   */
  readonly stamps: ReadonlyMap<string, string | null>;
  /** The format's blocking problems, without identity, severity or blocking decided (the snapshot stamps those). */
  readonly diagnostics: readonly Diagnostic[];
}

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
