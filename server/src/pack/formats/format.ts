/** The interface every output format implements, and the helpers formats share to check declarations. */
import type { AssetDeclarationFile, Diagnostic } from '@prometeu/packer-protocol';
import { ANCHOR_FILE } from '../../domain/crawl.js';
import { checkRelativePath, joinAssetsPath } from '../../domain/paths.js';
import type { JsonObject } from '../canonical-json.js';
import { makePackDiagnostic } from '../pack-diagnostics.js';

/** One asset as a format sees it: its declaration and the bytes of every declared input. */
export interface FormatAsset {
  /** The declaration, already valid against the `asset.json` schema. */
  readonly declaration: AssetDeclarationFile;
  /** The asset root, relative to `assets/`. */
  readonly root: string;
  /** Every declared input's bytes, keyed by its canonical path relative to the root (see `checkRelativePath`). */
  readonly inputs: ReadonlyMap<string, Uint8Array>;
  /** Identity copied into every diagnostic about the asset. */
  readonly identity: { readonly assetId?: number; readonly assetUuid?: string };
}

/** What a format made of one asset. */
export interface MaterializedAsset {
  /** The bytes stored in the payload region of `assets.pa`. */
  readonly payload: Uint8Array;
  /** The size once decoded by the runtime (equal to the payload size for codec `NONE`). */
  readonly decodedSize: number;
  /** The runtime bank type written into the asset table. */
  readonly bankType: string;
  /** How the payload is stored. */
  readonly codec: string;
  /** Format-specific facts for the runtime; integers only, as the header allows no fractions. */
  readonly metadata: JsonObject;
}

/** A materialisation that found a blocking problem instead of producing bytes. */
export interface BlockedAsset {
  readonly blocked: readonly Diagnostic[];
}

/**
 * An output format (`output.format` of a declaration). Both methods are pure functions of the asset: the
 * same declaration and input bytes always give the same diagnostics and the same bytes.
 */
export interface AssetFormat {
  /** The `output.format` this implements, for example `GLYPH/indexed_v1`. */
  readonly format: string;
  /** The asset `type` the format belongs to. */
  readonly type: string;
  /** The implementation's version; bump it whenever the bytes it produces for the same inputs change. */
  readonly version: number;
  /** The input roles the format accepts: the same rules `validate` checks with `checkRoles`. */
  readonly inputRoles: readonly RoleRule[];
  /**
   * Whether payloads go into the incremental cache. False when the payload is an input's bytes as they
   * are: the pack reads and hashes the input anyway, so a cache entry would only be a second copy to
   * write, read back and verify.
   */
  readonly cached: boolean;
  /** Every blocking problem of the asset for this format: declaration shape and input content. Empty when it can be built. */
  validate(asset: FormatAsset): Diagnostic[];
  /**
   * Builds the payload, validating first: when `validate` would find problems it refuses with exactly those
   * (the pack relies on it and does not call `validate` before it); it may refuse with more once it builds.
   */
  materialize(asset: FormatAsset): MaterializedAsset | BlockedAsset;
}

/** Whether a materialisation was refused. */
export function isBlocked(result: MaterializedAsset | BlockedAsset): result is BlockedAsset {
  return 'blocked' in result;
}

/** A blocking problem with the declaration's format-specific part; reported on the asset's `asset.json`. */
export function declarationProblem(asset: FormatAsset, message: string): Diagnostic {
  return makePackDiagnostic('format-declaration-invalid', {
    ...asset.identity,
    severity: 'error',
    blocking: true,
    root: asset.root,
    path: joinAssetsPath(asset.root, ANCHOR_FILE),
    message: `${asset.declaration.name} (${asset.declaration.output.format}): ${message}`,
  });
}

/** A blocking problem with the content of one input, named by its canonical path relative to the root. */
export function inputProblem(asset: FormatAsset, input: string, message: string): Diagnostic {
  return makePackDiagnostic('format-input-invalid', {
    ...asset.identity,
    severity: 'error',
    blocking: true,
    root: asset.root,
    path: joinAssetsPath(asset.root, input),
    message: `${asset.declaration.name} (${asset.declaration.output.format}): ${joinAssetsPath(asset.root, input)} ${message}`,
  });
}

/** The canonical root-relative paths declared under `role`, in declared order. Paths that are not confined are skipped (the declaration check reports them). */
export function declaredInputs(asset: FormatAsset, role: string): string[] {
  const paths: string[] = [];
  for (const input of asset.declaration.inputs[role] ?? []) {
    const checked = checkRelativePath(input);
    if (checked.ok) paths.push(checked.path);
  }
  return paths;
}

/** The canonical form of a root-relative path written in metadata, or null when it is not a confined path. */
export function canonicalInputPath(path: string): string | null {
  const checked = checkRelativePath(path);
  return checked.ok ? checked.path : null;
}

/** What a format accepts under one input role. */
export interface RoleRule {
  readonly role: string;
  readonly min: number;
  readonly max: number;
  /** How to say the role's purpose in messages, for example "tile images". */
  readonly describe: string;
  /** What each file of the role must hold, in words, for clients (`initialize` advertises it). */
  readonly content: string;
}

/** Checks the declared roles: no unknown role, counts within bounds, no path listed twice. */
export function checkRoles(asset: FormatAsset, rules: readonly RoleRule[]): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const known = new Set(rules.map((rule) => rule.role));
  const expected = rules.map((rule) => `"${rule.role}"`).join(', ');
  for (const role of Object.keys(asset.declaration.inputs).sort()) {
    if (!known.has(role))
      problems.push(
        declarationProblem(
          asset,
          `inputs has role "${role}", which this format does not use; its roles are ${expected}.`,
        ),
      );
  }
  for (const rule of rules) {
    const paths = declaredInputs(asset, rule.role);
    const count = (asset.declaration.inputs[rule.role] ?? []).length;
    if (count < rule.min) {
      problems.push(
        declarationProblem(
          asset,
          count === 0
            ? `inputs.${rule.role} lists no ${rule.describe}; at least ${rule.min} ${rule.min === 1 ? 'is' : 'are'} required.`
            : `inputs.${rule.role} lists ${count} ${rule.describe}; at least ${rule.min} are required.`,
        ),
      );
    }
    if (count > rule.max)
      problems.push(
        declarationProblem(
          asset,
          `inputs.${rule.role} lists ${count} ${rule.describe}; at most ${rule.max} ${rule.max === 1 ? 'is' : 'are'} allowed.`,
        ),
      );
    const seen = new Set<string>();
    for (const path of paths) {
      if (seen.has(path)) problems.push(declarationProblem(asset, `inputs.${rule.role} lists ${path} more than once.`));
      seen.add(path);
    }
  }
  return problems;
}

/** `output.metadata`, or an empty object when absent. */
export function metadataOf(asset: FormatAsset): Readonly<Record<string, unknown>> {
  return asset.declaration.output.metadata ?? {};
}

/** Checks that `output.metadata` has no key outside `allowed` (a misspelt key must not be silently ignored). */
export function checkMetadataKeys(asset: FormatAsset, allowed: readonly string[]): Diagnostic[] {
  const problems: Diagnostic[] = [];
  for (const key of Object.keys(metadataOf(asset)).sort()) {
    if (!allowed.includes(key)) {
      problems.push(
        declarationProblem(
          asset,
          allowed.length === 0
            ? `output.metadata has key "${key}", but this format takes no metadata.`
            : `output.metadata has key "${key}", which this format does not know; its keys are ${allowed.map((name) => `"${name}"`).join(', ')}.`,
        ),
      );
    }
  }
  return problems;
}

/** Describes a JSON value briefly for messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
