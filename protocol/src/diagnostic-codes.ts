/**
 * The stable diagnostic codes. Clients may switch on them; a code is never reused for another meaning.
 */

/** The two families of `domain.md`: structural problems block the build, hygiene is advisory. */
export type DiagnosticFamily = 'structural' | 'hygiene';

/** What is known of a diagnostic code, for docs and for clients that group diagnostics. */
export interface DiagnosticCodeInfo {
  readonly family: DiagnosticFamily;
  /** What the code means, in one sentence. */
  readonly meaning: string;
}

/** Every diagnostic code the server emits. */
export const DIAGNOSTIC_CODES = {
  'registry-missing': {
    family: 'structural',
    meaning:
      '`assets/.prometeu/index.json` does not exist: the workspace is not initialised, so nothing is registered.',
  },
  'registry-unreadable': { family: 'structural', meaning: '`index.json` could not be read or is not valid JSON.' },
  'registry-invalid': {
    family: 'structural',
    meaning: '`index.json` does not match its schema; nothing is trusted from it.',
  },
  'registry-unsupported-version': {
    family: 'structural',
    meaning: '`index.json` has a `schema_version` this packer does not understand.',
  },
  'registry-merge-conflict': {
    family: 'structural',
    meaning:
      '`index.json` holds unresolved merge-conflict markers (`<<<<<<<`, `=======`, `>>>>>>>`); the diagnostic names their lines. Nothing is trusted from it until the conflict is resolved.',
  },
  'registry-not-canonical': {
    family: 'hygiene',
    meaning:
      '`index.json` is valid but not in canonical form (entries out of `asset_id` order, other indentation or key order, as after a merge); its safe fix rewrites it canonically.',
  },
  'root-moved': {
    family: 'structural',
    meaning:
      "A registered root's `asset.json` is gone and an unregistered root carries its `asset_uuid`: the folder was moved outside the packer. Its safe fix relocates the registry entry to follow it.",
  },
  'missing-anchor': { family: 'structural', meaning: 'A registry entry names a root that has no `asset.json`.' },
  'declaration-unreadable': { family: 'structural', meaning: '`asset.json` could not be read or is not valid JSON.' },
  'declaration-merge-conflict': {
    family: 'structural',
    meaning:
      '`asset.json` holds unresolved merge-conflict markers (`<<<<<<<`, `=======`, `>>>>>>>`); the diagnostic names their lines.',
  },
  'declaration-invalid': { family: 'structural', meaning: '`asset.json` does not match its schema.' },
  'declaration-unsupported-version': {
    family: 'structural',
    meaning: '`asset.json` has a `schema_version` this packer does not understand.',
  },
  'input-missing': { family: 'structural', meaning: 'A declared input file does not exist.' },
  'input-outside-root': {
    family: 'structural',
    meaning: 'A declared input path is absolute or climbs out of its root with `..`.',
  },
  'output-contract-mismatch': {
    family: 'structural',
    meaning: 'The declared `output.format` or `output.codec` does not belong to the declared `type`.',
  },
  'unknown-asset-type': { family: 'structural', meaning: 'The declared `type` is not one this packer can build.' },
  'identity-duplicate-uuid': {
    family: 'structural',
    meaning: 'Two anchors, or two registry entries, carry the same `asset_uuid`.',
  },
  'identity-duplicate-root': { family: 'structural', meaning: 'Two registry entries name the same root.' },
  'identity-duplicate-id': {
    family: 'structural',
    meaning:
      'Two registry entries carry the same `asset_id` (as when two branches each registered an asset); each offers a safe fix that gives it a new id.',
  },
  'identity-uuid-mismatch': {
    family: 'structural',
    meaning: 'A registry entry and the `asset.json` at its root disagree on `asset_uuid`.',
  },
  'identity-id-not-allocated': {
    family: 'structural',
    meaning: 'A registry entry has an `asset_id` at or above `next_asset_id`, so it could be handed out again.',
  },
  'format-declaration-invalid': {
    family: 'structural',
    meaning:
      "The declaration's format-specific part (its input roles or `output.metadata`) breaks a rule of its `output.format`; found when a pack re-validates.",
  },
  'format-input-invalid': {
    family: 'structural',
    meaning:
      'An input file cannot be used by its format: it does not decode, or its content breaks a rule of the format; found when a pack re-validates.',
  },
  'nested-root': { family: 'structural', meaning: 'An asset root lies inside another asset root.' },
  'root-path-invalid': {
    family: 'structural',
    meaning: 'A registry `root` is absolute, climbs out of `assets/`, or points into packer control data.',
  },
  'unregistered-root': {
    family: 'hygiene',
    meaning: 'A folder has an `asset.json` but no registry entry: it is listed but never built.',
  },
  'unreferenced-file': {
    family: 'hygiene',
    meaning: 'A file inside an asset root is not referenced by its declaration.',
  },
  'stray-file': { family: 'hygiene', meaning: 'A file outside every asset root.' },
  'duplicate-content': { family: 'hygiene', meaning: 'Several files have the same content (by SHA-256).' },
  'large-unused-file': { family: 'hygiene', meaning: 'A large file that no declaration references.' },
  naming: {
    family: 'hygiene',
    meaning: 'A root path that will be awkward in code or on other systems (spaces, upper case, unusual characters).',
  },
  'symlink-not-followed': {
    family: 'hygiene',
    meaning:
      'A symbolic link inside `assets/`; the packer does not follow links, so what it points to is not part of the workspace.',
  },
  'json-too-deep': {
    family: 'structural',
    meaning:
      '`asset.json` or `index.json` nests arrays and objects deeper than 64 levels (the documented limit); it is treated as unreadable rather than parsed.',
  },
  'journal-unrecoverable': {
    family: 'hygiene',
    meaning:
      'A write journal left by a stopped packer could not be replayed or rolled back; it was moved aside (the diagnostic names where) so that later writes work, and what it describes needs a person to check.',
  },
  'journal-pending': {
    family: 'structural',
    meaning:
      "A write journal (`assets/.prometeu/journal.json`) is on disk and not finished: a packer is writing right now, or one stopped mid-write and this one could not finish or undo it because the disk refuses writes (read-only, full, no permission; the status's `lastRecovery` says which). What the disk shows may be between before and after that write, so packing is blocked; make the disk writable, then any write, a reconcile or reopening the project finishes it.",
  },
  'unreadable-entry': {
    family: 'hygiene',
    meaning: 'A folder or file inside `assets/` could not be read (permissions, or it vanished during the scan).',
  },
} as const satisfies Record<string, DiagnosticCodeInfo>;

/** A stable diagnostic code. */
export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;
