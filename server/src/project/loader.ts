/**
 * Reading a project's workspace from disk into a snapshot: crawl `assets/`, read the registry, join.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crawlAssets } from '../domain/crawl.js';
import { parseRegistry, REGISTRY_PATH } from '../domain/registry.js';
import { buildSnapshot, type Snapshot } from '../domain/snapshot.js';

/** The `assets/` folder of a project root. */
export function assetsDirOf(projectRoot: string): string {
  return join(projectRoot, 'assets');
}

/** Reads the registry file: text, or null when absent, or a read error code. */
export function readRegistryText(assetsDir: string): { text: string | null; readError?: string } {
  try {
    return { text: readFileSync(join(assetsDir, REGISTRY_PATH), 'utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    return code === 'ENOENT' ? { text: null } : { text: null, readError: code };
  }
}

/** Loads a snapshot of the project at `projectRoot`. Throws only when `assets/` itself cannot be listed. */
export function loadSnapshot(projectRoot: string, revision: number): Snapshot {
  const assetsDir = assetsDirOf(projectRoot);
  const crawl = crawlAssets(assetsDir);
  const registry = readRegistryText(assetsDir);
  return buildSnapshot(revision, crawl, parseRegistry(registry.text, registry.readError));
}
