/**
 * Parsing an `asset.json`: strict schema, then the checks that need no other file. Every problem becomes
 * a diagnostic; nothing here throws on bad input.
 */
import { jsonTextDepth, MAX_JSON_DEPTH } from './limits.js';
import { isNonEmptyString, isObject, LOWERCASE_UUID } from './plain-values.js';
import {
  AssetDeclarationFile,
  AssetUuid,
  DECLARATION_SCHEMA_VERSION,
  type Diagnostic,
} from '@prometeu/packer-protocol';
import { contractOf } from './asset-types.js';
import { ANCHOR_FILE } from './crawl.js';
import { describeIssues, makeDiagnostic } from './diagnostics.js';
import { checkRelativePath, joinAssetsPath } from './paths.js';
import { conflictMarkers } from './registry.js';

/** One declared input, checked against its root. */
export interface DeclaredInput {
  readonly role: string;
  /** As declared. */
  readonly path: string;
  /** Relative to `assets/`, or null when the declared path is not confined to the root. */
  readonly assetsPath: string | null;
}

/** What a declaration says, as far as it could be understood. */
export interface ParsedDeclaration {
  /** The valid declaration, or null when the file is unreadable or invalid. */
  readonly declaration: AssetDeclarationFile | null;
  /** Identity fields read even from an invalid file, when they are well-formed, so the asset can still be named. */
  readonly assetUuid: string | null;
  readonly name: string | null;
  readonly type: string | null;
  readonly inputs: readonly DeclaredInput[];
  /** Problems found in the file alone. `blocking` is decided later by the snapshot. */
  readonly diagnostics: readonly Diagnostic[];
}

/** The longest string {@link internWord} keeps, and how many it keeps at most (a hostile tree cannot grow it). */
const INTERNED_LENGTH = 64;
const INTERNED_COUNT = 4096;

/** Invariant: each word interned so far, as its own key; at most {@link INTERNED_COUNT} of them. */
const interned = new Map<string, string>();

/**
 * One string for every equal word of a small vocabulary (an asset type, an output format or codec, an input
 * role): `JSON.parse` and a structured clone make a new string for every occurrence, which every asset would
 * otherwise hold a copy of (10,000 copies of `"BLOB/raw_v1"` at 10k roots). Long or too many strings are
 * returned as they are.
 */
export function internWord(value: string): string {
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (value.length <= INTERNED_LENGTH && interned.size < INTERNED_COUNT) interned.set(value, value);
  return value;
}

/** Gives `declaration`'s type, output format and codec their interned strings, in place (it is a fresh parse). */
export function internDeclarationWords(declaration: AssetDeclarationFile): void {
  const writable = declaration as { type: string; output: { format: string; codec: string } };
  writable.type = internWord(declaration.type);
  writable.output.format = internWord(declaration.output.format);
  writable.output.codec = internWord(declaration.output.codec);
}

function stringField(value: unknown, key: string): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' && field.length > 0 ? field : null;
}

/**
 * The `asset_uuid` of a declaration with conflict markers, when every side names the same one (a conflict
 * elsewhere in the file): the root then keeps its identity, so it is not mistaken for a new asset.
 */
function identityAcrossMarkers(text: string): unknown {
  const uuids = new Set([...text.matchAll(/"asset_uuid"\s*:\s*"([^"]*)"/g)].map((match) => match[1]));
  return uuids.size === 1 ? { asset_uuid: [...uuids][0] } : undefined;
}

/** The keys an `asset.json` may hold (the schema is strict). */
const DECLARATION_KEYS: ReadonlySet<string> = new Set([
  '$schema',
  'schema_version',
  'asset_uuid',
  'name',
  'type',
  'inputs',
  'output',
  'preload',
  'build',
]);

/**
 * A copy of the JSON object `record`, its values shared, as the schema's `z.record(z.string(), z.unknown())`
 * gives it; null when a key is `__proto__` (which the schema drops: the schema then decides).
 */
function copiedRecord(record: Record<string, unknown>): Record<string, unknown> | null {
  const copy: Record<string, unknown> = {};
  for (const key in record) {
    if (key === '__proto__') return null;
    copy[key] = record[key];
  }
  return copy;
}

/**
 * The declaration `raw` (a fresh `JSON.parse` of an `asset.json` that holds an object) when it plainly matches
 * the schema, built as `AssetDeclarationFile.parse` builds it (new objects and arrays with the schema's key
 * order, the values of `output.metadata` and `build` shared, the records in the file's order); null when it
 * does not, or when it holds something this check leaves to the schema (a `__proto__` key). Every open parses
 * every declaration, and the schema's parse was most of the CPU of a declaration's parse; the schema still
 * decides, and words the diagnostic, whenever this returns null (`test/domain/declaration-fast-path.test.ts`
 * pins that both give the same declaration over the fixtures and random and hostile inputs).
 */
export function plainlyValidDeclaration(raw: Record<string, unknown>): AssetDeclarationFile | null {
  for (const key in raw) if (!DECLARATION_KEYS.has(key)) return null;
  const { $schema: schema, asset_uuid: uuid, name, type, inputs, output, preload, build } = raw;
  if (raw['schema_version'] !== DECLARATION_SCHEMA_VERSION) return null;
  if (schema !== undefined && typeof schema !== 'string') return null;
  if (typeof uuid !== 'string' || !LOWERCASE_UUID.test(uuid)) return null;
  if (!isNonEmptyString(name) || !isNonEmptyString(type)) return null;
  if (!isObject(inputs) || !isObject(output) || !isObject(preload)) return null;
  const copiedInputs: Record<string, string[]> = {};
  for (const role in inputs) {
    const paths = inputs[role];
    if (role === '__proto__' || role.length === 0 || !Array.isArray(paths)) return null;
    const copied: string[] = [];
    for (const path of paths as unknown[]) {
      if (!isNonEmptyString(path)) return null;
      copied.push(path);
    }
    copiedInputs[role] = copied;
  }
  const { format, codec, metadata } = output;
  for (const key in output) if (key !== 'format' && key !== 'codec' && key !== 'metadata') return null;
  if (!isNonEmptyString(format) || !isNonEmptyString(codec)) return null;
  let copiedMetadata: Record<string, unknown> | null = null;
  if (metadata !== undefined) {
    if (!isObject(metadata) || (copiedMetadata = copiedRecord(metadata)) === null) return null;
  }
  for (const key in preload) if (key !== 'enabled') return null;
  if (typeof preload['enabled'] !== 'boolean') return null;
  let copiedBuild: Record<string, unknown> | null = null;
  if (build !== undefined) {
    if (!isObject(build) || (copiedBuild = copiedRecord(build)) === null) return null;
  }
  // The schema's key order, each optional key only where the file has it.
  const declaration: Record<string, unknown> = {};
  if (schema !== undefined) declaration['$schema'] = schema;
  declaration['schema_version'] = DECLARATION_SCHEMA_VERSION;
  declaration['asset_uuid'] = uuid;
  declaration['name'] = name;
  declaration['type'] = type;
  declaration['inputs'] = copiedInputs;
  declaration['output'] = copiedMetadata === null ? { format, codec } : { format, codec, metadata: copiedMetadata };
  declaration['preload'] = { enabled: preload['enabled'] };
  if (copiedBuild !== null) declaration['build'] = copiedBuild;
  return declaration as AssetDeclarationFile;
}

/** Parses the text of `<root>/asset.json`. `readError` is set when the crawl could not read it. */
export function parseDeclaration(root: string, text: string | null, readError?: string): ParsedDeclaration {
  const path = joinAssetsPath(root, ANCHOR_FILE);
  const base = { root, path, severity: 'error' as const, blocking: false };
  const failed = (diagnostic: Diagnostic, raw?: unknown): ParsedDeclaration => {
    const uuid = stringField(raw, 'asset_uuid');
    return {
      declaration: null,
      assetUuid: uuid !== null && AssetUuid.safeParse(uuid).success ? uuid : null,
      name: stringField(raw, 'name'),
      type: stringField(raw, 'type'),
      inputs: [],
      diagnostics: [diagnostic],
    };
  };
  if (text === null) {
    return failed(
      makeDiagnostic('declaration-unreadable', {
        ...base,
        message: `${path} could not be read (${readError ?? 'unknown error'}).`,
      }),
    );
  }
  const markers = conflictMarkers(text);
  if (markers.length > 0) {
    return failed(
      makeDiagnostic('declaration-merge-conflict', {
        ...base,
        message: `${path} holds unresolved merge-conflict markers at line${markers.length === 1 ? '' : 's'} ${markers.map((marker) => marker.line).join(', ')}; resolve the conflict (keep one side of each hunk, or combine them), then remove the markers.`,
        related: markers.map((marker) => ({ path, message: `line ${marker.line}: ${marker.text}` })),
      }),
      identityAcrossMarkers(text),
    );
  }
  if (jsonTextDepth(text) > MAX_JSON_DEPTH) {
    return failed(
      makeDiagnostic('json-too-deep', {
        ...base,
        message: `${path} nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, the limit; it is not read. Simplify it; the packer will not rewrite it.`,
      }),
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return failed(
      makeDiagnostic('declaration-unreadable', {
        ...base,
        message: `${path} is not valid JSON: ${reason}. Fix the syntax; the packer will not rewrite it.`,
      }),
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return failed(
      makeDiagnostic('declaration-invalid', {
        ...base,
        message: `${path} must hold a JSON object, not ${Array.isArray(raw) ? 'an array' : raw === null ? 'null' : `a ${typeof raw}`}.`,
      }),
    );
  }
  const version = (raw as Record<string, unknown>)['schema_version'];
  if (version !== undefined && version !== DECLARATION_SCHEMA_VERSION) {
    return failed(
      makeDiagnostic('declaration-unsupported-version', {
        ...base,
        message: `${path} has schema_version ${JSON.stringify(version)}; this packer understands ${DECLARATION_SCHEMA_VERSION} only.`,
      }),
      raw,
    );
  }
  let declaration = plainlyValidDeclaration(raw as Record<string, unknown>);
  if (declaration === null) {
    // Not plainly valid: the schema decides, and words what is wrong.
    const parsed = AssetDeclarationFile.safeParse(raw);
    if (!parsed.success) {
      return failed(
        makeDiagnostic('declaration-invalid', {
          ...base,
          message: `${path} does not match the asset.json schema: ${describeIssues(parsed.error.issues)}.`,
        }),
        raw,
      );
    }
    declaration = parsed.data;
  }
  internDeclarationWords(declaration);
  const diagnostics: Diagnostic[] = [];
  const inputs: DeclaredInput[] = [];
  for (const role of Object.keys(declaration.inputs).sort()) {
    for (const input of declaration.inputs[role]!) {
      const checked = checkRelativePath(input);
      inputs.push({ role, path: input, assetsPath: checked.ok ? joinAssetsPath(root, checked.path) : null });
      if (!checked.ok) {
        diagnostics.push(
          makeDiagnostic('input-outside-root', {
            ...base,
            message: `Input ${JSON.stringify(input)} (role ${role}) in ${path} is not a path inside the root (${checked.reason}); inputs must be relative paths below the folder holding asset.json.`,
          }),
        );
      }
    }
  }
  const contract = contractOf(declaration.type);
  if (contract === undefined) {
    diagnostics.push(
      makeDiagnostic('unknown-asset-type', {
        ...base,
        message: `${path} declares type ${JSON.stringify(declaration.type)}, which this packer cannot build (known: blob, glyph_bank, sound_bank).`,
      }),
    );
  } else {
    if (declaration.output.format !== contract.format) {
      diagnostics.push(
        makeDiagnostic('output-contract-mismatch', {
          ...base,
          message: `${path} declares type ${declaration.type} with output.format ${JSON.stringify(declaration.output.format)}; that type requires ${contract.format}.`,
        }),
      );
    }
    if (!contract.codecs.includes(declaration.output.codec)) {
      diagnostics.push(
        makeDiagnostic('output-contract-mismatch', {
          ...base,
          message: `${path} declares output.codec ${JSON.stringify(declaration.output.codec)}; type ${declaration.type} allows ${contract.codecs.join(', ')}.`,
        }),
      );
    }
  }
  return {
    declaration,
    assetUuid: declaration.asset_uuid,
    name: declaration.name,
    type: declaration.type,
    inputs,
    diagnostics,
  };
}
