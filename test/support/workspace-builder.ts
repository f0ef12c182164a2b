/**
 * Test fixtures: writes a Prometeu project (an `assets/` folder with asset roots, inputs, a registry and
 * any extra mess) from a compact description, so each test can state the world it needs in a few lines.
 * It depends on nothing in the server, so a fixture never inherits a bug of the code it tests.
 */
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach } from 'vitest';

/** The content of a file: text (written as UTF-8) or bytes. */
export type FileContent = string | Uint8Array;

/** One asset root to write. Every field but `root` has a sensible default. */
export interface AssetSpec {
  /** The root folder, a POSIX path relative to `assets/`. */
  readonly root: string;
  /** The `asset_uuid` of the declaration and of the registry entry; {@link uuidFor}(root) by default. */
  readonly uuid?: string;
  /** The declaration's `name`; the root's last segment by default. */
  readonly name?: string;
  /** The declaration's `type`; `blob` by default. */
  readonly type?: string;
  /** The declaration's `inputs`; `{ data: ['data.bin'] }` by default. */
  readonly inputs?: Record<string, string[]>;
  /** The declaration's `output`; the known contract of `type` by default (blob's for unknown types). */
  readonly output?: { format: string; codec: string; metadata?: Record<string, unknown> };
  /** The declaration's `preload.enabled`; false by default. */
  readonly preload?: boolean;
  /**
   * Replaces the generated `asset.json`: a string is written as is, any other value as pretty JSON, and
   * null writes no `asset.json` at all (a registry entry whose anchor is missing).
   */
  readonly declaration?: unknown;
  /**
   * Files written inside the root, relative to it. When absent, every declared input gets a small file
   * whose content is unique in the project (so no two fixture files are accidental duplicates).
   */
  readonly files?: Record<string, FileContent>;
  /** Whether the generated registry lists the asset: true (the default) for the next free id, a number for that id, false for no entry. */
  readonly registered?: boolean | number;
  /** The entry's `included_in_build`; true by default. */
  readonly included?: boolean;
}

/** A whole project. */
export interface ProjectSpec {
  readonly assets?: readonly AssetSpec[];
  /** Extra files, by path relative to `assets/`. */
  readonly files?: Record<string, FileContent>;
  /** Extra (possibly empty) folders, relative to `assets/`. */
  readonly folders?: readonly string[];
  /** Symbolic links to create: link path relative to `assets/` to the target, written as given. */
  readonly symlinks?: Record<string, string>;
  /**
   * The registry: generated from the assets by default (canonical JSON); false writes none; a string is
   * written as is; any other value is written as pretty JSON, key order untouched.
   */
  readonly registry?: unknown;
  /** Overrides the generated registry's `next_asset_id` (otherwise one above the largest id). */
  readonly nextAssetId?: number;
}

/** A generated registry entry, in the on-disk shape. */
export interface WrittenEntry {
  asset_id: number;
  asset_uuid: string;
  root: string;
  included_in_build: boolean;
}

/** What {@link writeProject} wrote. */
export interface WrittenProject {
  /** The project folder (holding `assets/`). */
  readonly root: string;
  readonly assetsDir: string;
  /** The generated registry, or null when the spec wrote none or its own. */
  readonly registry: { schema_version: 1; next_asset_id: number; assets: WrittenEntry[] } | null;
  /** The `asset_uuid` used for each asset root. */
  readonly uuids: Readonly<Record<string, string>>;
}

const KNOWN_OUTPUTS: Readonly<Record<string, { format: string; codec: string }>> = {
  blob: { format: 'BLOB/raw_v1', codec: 'NONE' },
  glyph_bank: { format: 'GLYPH/indexed_v1', codec: 'NONE' },
  sound_bank: { format: 'SOUNDS/pcm16le_v1', codec: 'NONE' },
};

/** A lowercase version-4-shaped UUID derived from `seed`: the same seed always gives the same UUID. */
export function uuidFor(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** JSON with object keys sorted recursively, two-space indentation and a trailing newline. */
export function canonicalJson(value: unknown): string {
  return `${JSON.stringify(sortKeysDeep(value), null, 2)}\n`;
}

function sortKeysDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/** Writes a file, creating its folders. */
export function writeFile(path: string, content: FileContent): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
}

/** The declaration {@link writeProject} writes for an asset spec (before any `declaration` override). */
export function declarationFor(asset: AssetSpec): Record<string, unknown> {
  const type = asset.type ?? 'blob';
  return {
    schema_version: 1,
    asset_uuid: asset.uuid ?? uuidFor(asset.root),
    name: asset.name ?? asset.root.slice(asset.root.lastIndexOf('/') + 1),
    type,
    inputs: asset.inputs ?? { data: ['data.bin'] },
    output: asset.output ?? KNOWN_OUTPUTS[type] ?? KNOWN_OUTPUTS['blob'],
    preload: { enabled: asset.preload ?? false },
  };
}

/**
 * The small project the commit tests start from: three registered roots (one left out of the build) and one
 * root that is not registered, so every kind of mutation has something to act on.
 */
export const MIXED_ROOTS: readonly AssetSpec[] = [
  { root: 'chars/hero' },
  { root: 'chars/slime', included: false },
  { root: 'props/crate' },
  { root: 'props/barrel', registered: false },
];

/**
 * Writes the project described by `spec` into `dir` (which should be an empty temporary folder) and
 * returns what it wrote. `assets/` is always created, even for an empty spec.
 */
export function writeProject(dir: string, spec: ProjectSpec = {}): WrittenProject {
  const assetsDir = join(dir, 'assets');
  mkdirSync(assetsDir, { recursive: true });
  const uuids: Record<string, string> = {};
  const entries: WrittenEntry[] = [];
  let nextId = 1;
  for (const asset of spec.assets ?? []) {
    const uuid = asset.uuid ?? uuidFor(asset.root);
    uuids[asset.root] = uuid;
    const rootDir = join(assetsDir, asset.root);
    mkdirSync(rootDir, { recursive: true });
    const declaration = asset.declaration === undefined ? declarationFor(asset) : asset.declaration;
    if (declaration !== null) {
      writeFile(
        join(rootDir, 'asset.json'),
        typeof declaration === 'string' ? declaration : `${JSON.stringify(declaration, null, 2)}\n`,
      );
    }
    const files = asset.files ?? defaultInputFiles(asset);
    for (const [path, content] of Object.entries(files)) writeFile(join(rootDir, path), content);
    const registered = asset.registered ?? true;
    if (registered !== false) {
      const id = typeof registered === 'number' ? registered : nextId;
      nextId = Math.max(nextId, id + 1);
      entries.push({ asset_id: id, asset_uuid: uuid, root: asset.root, included_in_build: asset.included ?? true });
    }
  }
  for (const folder of spec.folders ?? []) mkdirSync(join(assetsDir, folder), { recursive: true });
  for (const [path, content] of Object.entries(spec.files ?? {})) writeFile(join(assetsDir, path), content);
  for (const [path, target] of Object.entries(spec.symlinks ?? {})) {
    mkdirSync(dirname(join(assetsDir, path)), { recursive: true });
    symlinkSync(target, join(assetsDir, path));
  }

  let registry: WrittenProject['registry'] = null;
  const registryPath = join(assetsDir, '.prometeu', 'index.json');
  if (spec.registry === undefined) {
    entries.sort((a, b) => a.asset_id - b.asset_id);
    const maxId = entries.reduce((max, entry) => Math.max(max, entry.asset_id), 0);
    registry = { schema_version: 1, next_asset_id: spec.nextAssetId ?? maxId + 1, assets: entries };
    writeFile(registryPath, canonicalJson(registry));
  } else if (typeof spec.registry === 'string') {
    writeFile(registryPath, spec.registry);
  } else if (spec.registry !== false) {
    writeFile(registryPath, canonicalJson(spec.registry));
  }
  return { root: dir, assetsDir, registry, uuids };
}

function defaultInputFiles(asset: AssetSpec): Record<string, FileContent> {
  const files: Record<string, FileContent> = {};
  const inputs = asset.inputs ?? { data: ['data.bin'] };
  for (const paths of Object.values(inputs)) {
    for (const path of paths) {
      // Only plain relative paths: a fixture that declares an escaping input wants it to be missing.
      if (path.startsWith('/') || path.split('/').includes('..')) continue;
      files[path] = `input ${asset.root}/${path}\n`;
    }
  }
  return files;
}

/**
 * Gives each test its own temporary folders: call at the top of a test file (or `describe`), then call
 * the returned function in a test to get a fresh folder made by `mkdtempSync` under the system temp
 * folder. Every folder made is removed after each test, even one a test left unreadable.
 */
export function useTempDirs(prefix: string): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const dir of made.splice(0)) {
      restoreAccess(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

/** Makes every folder under `dir` listable again, so a test that removed permissions cannot break cleanup. */
function restoreAccess(dir: string): void {
  try {
    if (!lstatSync(dir).isDirectory()) return;
    chmodSync(dir, 0o755);
    for (const entry of readdirSync(dir, { withFileTypes: true }))
      if (entry.isDirectory()) restoreAccess(join(dir, entry.name));
  } catch {
    // Already gone, or not ours to fix: rmSync with force reports nothing either way.
  }
}
