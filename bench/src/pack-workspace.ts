/** The pack benchmark's workspace: about 2,000 blob assets with 100 KiB of seeded pseudo-random input each, cached like the others. */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUuid, sortKeysDeep } from '../../tools/dist/generate-workspace.js';
import { createRandom, type Random } from '../../tools/dist/prng.js';
import { formatBytes, formatCount } from './statistics.js';
import { MARKER_FILE } from './workspaces.js';

/** Bumped whenever the layout or the content for a given seed changes, so cached copies are rebuilt. */
export const PACK_WORKSPACE_VERSION = 1;

/** What to generate. */
export interface PackWorkspaceOptions {
  readonly assets: number;
  readonly bytesPerAsset: number;
  readonly seed: number;
}

/** A generated pack workspace. */
export interface PackWorkspace extends PackWorkspaceOptions {
  readonly projectDir: string;
  /** Every asset's one input, relative to `assets/`, in `asset_id` order (the pack's order). */
  readonly inputs: readonly string[];
  readonly totalBytes: number;
  /** What the server must count at open when not every root is a registered asset in the build (a generated workspace); else `assets` of each. */
  readonly counts?: { readonly roots: number; readonly registered: number };
}

interface PackMarker extends PackWorkspaceOptions {
  readonly kind: 'pack';
  readonly version: number;
}

/** `size` pseudo-random bytes drawn from `random`. */
export function randomBytesOf(random: Random, size: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4));
  for (let index = 0; index < words.length; index++) words[index] = random.uint32();
  return Buffer.from(words.buffer, 0, size);
}

function rootOf(index: number): string {
  return `blobs/g${String(Math.floor(index / 100)).padStart(2, '0')}/blob-${String(index + 1).padStart(4, '0')}`;
}

function inputsOf(options: PackWorkspaceOptions): string[] {
  return Array.from({ length: options.assets }, (_, index) => `${rootOf(index)}/data.bin`);
}

function matches(projectDir: string, options: PackWorkspaceOptions): boolean {
  try {
    const marker = JSON.parse(readFileSync(join(projectDir, MARKER_FILE), 'utf8')) as PackMarker;
    if (
      marker.kind !== 'pack' ||
      marker.version !== PACK_WORKSPACE_VERSION ||
      marker.assets !== options.assets ||
      marker.bytesPerAsset !== options.bytesPerAsset ||
      marker.seed !== options.seed
    )
      return false;
    return inputsOf(options).every((path) => statSync(join(projectDir, 'assets', path)).size === options.bytesPerAsset);
  } catch {
    return false;
  }
}

/**
 * Returns the pack workspace of `assets` blob assets (`BLOB/raw_v1`, all registered and in the build) with
 * one `data.bin` input of `bytesPerAsset` pseudo-random bytes each (mulberry32 seeded by `seed`), under
 * `baseDir/pack-<assets>-seed<seed>/`, generating it when its marker is missing or names other options, or
 * an input is missing or has another size. The marker is written last.
 */
export function ensurePackWorkspace(
  baseDir: string,
  options: PackWorkspaceOptions,
  log: (message: string) => void,
): PackWorkspace {
  const projectDir = join(baseDir, `pack-${formatCount(options.assets)}-seed${options.seed}`);
  const inputs = inputsOf(options);
  const workspace: PackWorkspace = {
    ...options,
    projectDir,
    inputs,
    totalBytes: options.assets * options.bytesPerAsset,
  };
  if (matches(projectDir, options)) return workspace;
  if (existsSync(projectDir)) {
    log(`pack workspace ${projectDir} is stale or incomplete; deleting it`);
    rmSync(projectDir, { recursive: true, force: true });
  }
  log(
    `generating ${formatCount(options.assets)} blob assets of ${formatBytes(options.bytesPerAsset)} (seed ${options.seed}) into ${projectDir}`,
  );
  const started = performance.now();
  const random = createRandom(options.seed);
  const assetsDir = join(projectDir, 'assets');
  const entries: { asset_id: number; asset_uuid: string; root: string; included_in_build: boolean }[] = [];
  for (let index = 0; index < options.assets; index++) {
    const root = rootOf(index);
    mkdirSync(join(assetsDir, root), { recursive: true });
    const uuid = randomUuid(random);
    const declaration = {
      schema_version: 1,
      asset_uuid: uuid,
      name: `blob_${index + 1}`,
      type: 'blob',
      inputs: { data: ['data.bin'] },
      output: { format: 'BLOB/raw_v1', codec: 'NONE' },
      preload: { enabled: false },
    };
    writeFileSync(join(assetsDir, root, 'asset.json'), `${JSON.stringify(declaration, null, 2)}\n`);
    writeFileSync(join(assetsDir, root, 'data.bin'), randomBytesOf(random, options.bytesPerAsset));
    entries.push({ asset_id: index + 1, asset_uuid: uuid, root, included_in_build: true });
  }
  mkdirSync(join(assetsDir, '.prometeu'), { recursive: true });
  const registry = { schema_version: 1, next_asset_id: options.assets + 1, assets: entries };
  writeFileSync(join(assetsDir, '.prometeu', 'index.json'), `${JSON.stringify(sortKeysDeep(registry), null, 2)}\n`);
  const marker: PackMarker = { kind: 'pack', version: PACK_WORKSPACE_VERSION, ...options };
  writeFileSync(join(projectDir, MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);
  log(
    `generated ${formatBytes(workspace.totalBytes)} of inputs in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  return workspace;
}
