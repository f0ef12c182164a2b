/**
 * Reading a project's workspace from disk into a snapshot: crawl `assets/`, read the registry and the
 * quarantine, join. After a commit only the folders the commit touched are crawled again.
 */
import { join } from 'node:path';
import type { RegistryFile } from '@prometeu/packer-protocol';
import { compareStrings, crawlAssets, type CrawlResult } from '../domain/crawl.js';
import { folderFs, rootFs, type FolderLocation, type ProjectFs } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import { isWithin } from '../domain/paths.js';
import { checkRegistry, parseRegistry, REGISTRY_PATH, type ParsedRegistry } from '../domain/registry.js';
import { buildSnapshot, type QuarantineEntry, type Snapshot } from '../domain/snapshot.js';
import { QUARANTINE_FOLDER } from '../mutations/effects.js';

/** The `assets/` folder of a project root. */
export function assetsDirOf(projectRoot: string): string {
  return join(projectRoot, 'assets');
}

/**
 * Reads the registry file: text, or null when absent, or a read error code (a link, a FIFO or a file over
 * its size limit is refused by the confined file system with ELOOP, EFTYPE or EFBIG, without being read).
 */
export function readRegistryText(assetsDir: FolderLocation): { text: string | null; readError?: string } {
  try {
    return { text: folderFs(assetsDir).readText(REGISTRY_PATH, SIZE_LIMITS.registry) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
    return code === 'ENOENT' ? { text: null } : { text: null, readError: code };
  }
}

/** Reads the quarantine manifests; unreadable ones are skipped (the folder stays for a person to inspect). */
export function loadQuarantine(assetsDir: FolderLocation): QuarantineEntry[] {
  const assets = folderFs(assetsDir);
  let names: string[];
  try {
    names = assets.listNames(QUARANTINE_FOLDER);
  } catch {
    return [];
  }
  const entries: QuarantineEntry[] = [];
  for (const name of names.sort(compareStrings)) {
    try {
      const manifestPath = `${QUARANTINE_FOLDER}/${name}/manifest.json`;
      const manifest = JSON.parse(assets.readText(manifestPath, SIZE_LIMITS.quarantineManifest)) as Record<
        string,
        unknown
      >;
      if (typeof manifest['asset_uuid'] !== 'string' || typeof manifest['root'] !== 'string') continue;
      entries.push({
        assetUuid: manifest['asset_uuid'],
        root: manifest['root'],
        assetId: typeof manifest['asset_id'] === 'number' ? manifest['asset_id'] : null,
        includedInBuild: manifest['included_in_build'] === true,
        name: typeof manifest['name'] === 'string' ? manifest['name'] : null,
        type:
          typeof manifest['type'] === 'string'
            ? manifest['type']
            : quarantinedType(assets, `${QUARANTINE_FOLDER}/${name}`),
        quarantinedAt:
          typeof manifest['quarantined_at'] === 'string'
            ? manifest['quarantined_at']
            : modifiedAt(assets, manifestPath),
      });
    } catch {
      // A half-written or foreign folder: not a quarantine entry.
    }
  }
  return entries;
}

/** The type the quarantined `asset.json` declares, for manifests written before they recorded it. */
function quarantinedType(assets: ProjectFs, entryFolder: string): string | null {
  try {
    const declaration = JSON.parse(
      assets.readText(`${entryFolder}/root/asset.json`, SIZE_LIMITS.declaration),
    ) as unknown;
    const type = (declaration as { type?: unknown } | null)?.type;
    return typeof type === 'string' ? type : null;
  } catch {
    return null;
  }
}

/** A file's modification time (ISO 8601), for manifests written before they recorded `quarantined_at`. */
function modifiedAt(assets: ProjectFs, path: string): string | null {
  return assets.stat(path)?.mtime.toISOString() ?? null;
}

/** Loads a snapshot of the project at `projectRoot`. Throws only when `assets/` itself cannot be listed. */
export function loadSnapshot(projectRoot: FolderLocation, revision: number, previous?: Snapshot): Snapshot {
  const assetsDir = rootFs(projectRoot).at('assets');
  const crawl = crawlAssets(assetsDir);
  const registry = readRegistryText(assetsDir);
  return buildSnapshot(revision, crawl, parseRegistry(registry.text, registry.readError), {
    quarantine: loadQuarantine(assetsDir),
    ...(previous ? { previous } : {}),
  });
}

/** Crawls `folders` again and splices what they hold now into `previous`. */
export function recrawl(previous: CrawlResult, assetsDir: FolderLocation, folders: readonly string[]): CrawlResult {
  if (folders.length === 0) return previous;
  const outside = (path: string): boolean => !folders.some((folder) => isWithin(folder, path));
  const assets = folderFs(assetsDir);
  const parts = folders.map((folder) => crawlAssets(assets, folder));
  const merge = <T>(kept: readonly T[], fresh: T[][], key: (item: T) => string): T[] => {
    const all = [...kept, ...fresh.flat()];
    const seen = new Set<string>();
    return all
      .filter((item) => (seen.has(key(item)) ? false : (seen.add(key(item)), true)))
      .sort((a, b) => compareStrings(key(a), key(b)));
  };
  return {
    anchors: merge(
      previous.anchors.filter((anchor) => outside(anchor.root)),
      parts.map((part) => [...part.anchors]),
      (anchor) => anchor.root,
    ),
    files: merge(
      previous.files.filter(outside),
      parts.map((part) => [...part.files]),
      (file) => file,
    ),
    symlinks: merge(
      previous.symlinks.filter(outside),
      parts.map((part) => [...part.symlinks]),
      (link) => link,
    ),
    problems: merge(
      previous.problems.filter((problem) => outside(problem.path)),
      parts.map((part) => [...part.problems]),
      (problem) => problem.path,
    ),
  };
}

/**
 * The snapshot after a commit: the registry the commit wrote (checked, not re-read) and the touched
 * folders crawled again; everything else is carried over from `previous`.
 */
export function snapshotAfterCommit(
  previous: Snapshot,
  assetsDir: FolderLocation,
  registry: RegistryFile | null,
  folders: readonly string[],
): Snapshot {
  const parsedRegistry: ParsedRegistry = registry !== null ? checkRegistry(registry) : registryOf(previous, assetsDir);
  return buildSnapshot(previous.revision + 1, recrawl(previous.crawl, assetsDir, folders), parsedRegistry, {
    quarantine: loadQuarantine(assetsDir),
    previous,
  });
}

function registryOf(previous: Snapshot, assetsDir: FolderLocation): ParsedRegistry {
  if (previous.registry !== null) return checkRegistry(previous.registry);
  const registry = readRegistryText(assetsDir);
  return parseRegistry(registry.text, registry.readError);
}
