/** The pack workspace of a generated workspace: every registered root in the build and its inputs, so a pack's cost per asset can be measured at 1k, 10k and 100k. */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PackWorkspace } from './pack-workspace.js';
import type { BenchWorkspace } from './workspaces.js';

interface RegistryFile {
  readonly assets: readonly { readonly asset_id: number; readonly root: string; readonly included_in_build: boolean }[];
}

interface Declaration {
  readonly inputs: Readonly<Record<string, readonly string[]>>;
}

/**
 * Describes the generated `workspace` as a pack workspace, read from its registry and declarations (it is
 * not written to: the pack benchmark packs a private copy): the assets in the build in `asset_id` order,
 * each one's inputs in declaration order, their total size, and the counts the server must see at open
 * (the generated roots include unregistered ones). The inputs are a few dozen bytes each, so this is a
 * pack's cost per asset, where the 2,000-blob workspace is its cost per byte.
 */
export function scaledPackWorkspace(workspace: BenchWorkspace, seed: number): PackWorkspace {
  const assetsDir = join(workspace.projectDir, 'assets');
  const registry = JSON.parse(readFileSync(join(assetsDir, '.prometeu', 'index.json'), 'utf8')) as RegistryFile;
  const inBuild = registry.assets.filter((entry) => entry.included_in_build).sort((a, b) => a.asset_id - b.asset_id);
  const inputs: string[] = [];
  let totalBytes = 0;
  for (const entry of inBuild) {
    const declaration = JSON.parse(readFileSync(join(assetsDir, entry.root, 'asset.json'), 'utf8')) as Declaration;
    for (const files of Object.values(declaration.inputs))
      for (const file of files) {
        const path = `${entry.root}/${file}`;
        inputs.push(path);
        totalBytes += statSync(join(assetsDir, path)).size;
      }
  }
  return {
    projectDir: workspace.projectDir,
    assets: inBuild.length,
    bytesPerAsset: Math.max(1, Math.round(totalBytes / Math.max(1, inputs.length))),
    seed,
    inputs,
    totalBytes,
    counts: { roots: workspace.summary.roots, registered: workspace.summary.registered },
  };
}
