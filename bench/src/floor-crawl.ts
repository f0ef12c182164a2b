/** The cold-open floor: the least disk and parse work any packer must do to open a workspace, run in the bench process. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the floor crawl saw; returned so the work cannot be optimised away, and checked against the generator. */
export interface FloorCrawlResult {
  readonly folders: number;
  readonly files: number;
  readonly declarations: number;
  readonly registryBytes: number;
}

/**
 * Lists every folder under `<projectDir>/assets` (readdirSync with file types, an explicit stack, the
 * packer's control folder skipped), reads and JSON-parses every `asset.json`, and reads the registry.
 * No validation, no joins, no diagnostics, nothing kept: that is what the server adds on top.
 */
export function floorCrawl(projectDir: string): FloorCrawlResult {
  const assetsDir = join(projectDir, 'assets');
  const pending = [assetsDir];
  let folders = 0;
  let files = 0;
  let declarations = 0;
  while (pending.length > 0) {
    const folder = pending.pop()!;
    folders++;
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) {
        if (folder !== assetsDir || entry.name !== '.prometeu') pending.push(join(folder, entry.name));
      } else if (entry.isFile()) {
        files++;
        if (entry.name === 'asset.json') {
          const declaration = JSON.parse(readFileSync(join(folder, entry.name), 'utf8')) as { asset_uuid?: unknown };
          if (typeof declaration.asset_uuid === 'string') declarations++;
        }
      }
    }
  }
  const registryBytes = readFileSync(join(assetsDir, '.prometeu', 'index.json'), 'utf8').length;
  return { folders, files, declarations, registryBytes };
}
