/**
 * Workspace-wide hygiene checks: advisory diagnostics over every file of `assets/`, computed on demand
 * (doctor with scope `workspace`) rather than at every snapshot, because some need file sizes and hashes.
 */
import { createHash } from 'node:crypto';
import type { Diagnostic } from '@prometeu/packer-protocol';
import { folderFs, type FolderLocation, type ProjectFs } from '../io/project-fs.js';
import { ANCHOR_FILE } from './crawl.js';
import { makeDiagnostic } from './diagnostics.js';
import { parentOf } from './paths.js';
import type { Snapshot } from './snapshot.js';

/** Files at least this large that nothing references are reported. */
export const LARGE_FILE_BYTES = 4 * 1024 * 1024;

/** A folder-name style that travels well: lower case, digits, `_`, `-`, `.`. */
const TIDY_SEGMENT = /^[a-z0-9][a-z0-9_.-]*$/;

/** The owning root of a file, or null when it lies outside every root. */
function ownerRoot(snapshot: Snapshot, file: string): string | null {
  for (let folder = parentOf(file); folder !== ''; folder = parentOf(folder)) {
    if (snapshot.byRoot.has(folder)) return folder;
  }
  return null;
}

async function sha256(assets: ProjectFs, path: string): Promise<string> {
  const hash = createHash('sha256');
  await assets.readChunks(path, (chunk) => hash.update(chunk));
  return hash.digest('hex');
}

/**
 * Computes the hygiene diagnostics that need the whole file list: unreferenced and stray files,
 * duplicate content, large unused files, naming hints, links not followed, unreadable entries.
 * Files that vanish while this runs are skipped. Checks `isCancelled` between files.
 */
export async function workspaceHygiene(
  snapshot: Snapshot,
  assetsDir: FolderLocation,
  isCancelled: () => boolean = () => false,
): Promise<Diagnostic[]> {
  const assets = folderFs(assetsDir);
  const found: Diagnostic[] = [];
  const referenced = new Set<string>();
  for (const record of snapshot.assets)
    for (const input of record.inputs) if (input.assetsPath !== null) referenced.add(input.assetsPath);

  for (const record of snapshot.assets) {
    if (record.anchor === null) continue;
    const badSegment = record.root.split('/').find((segment) => !TIDY_SEGMENT.test(segment));
    if (badSegment !== undefined) {
      found.push(
        makeDiagnostic('naming', {
          severity: 'hint',
          blocking: false,
          root: record.root,
          ...(record.entry ? { assetId: record.entry.asset_id } : {}),
          message: `Folder name ${JSON.stringify(badSegment)} in ${record.root} has upper case, spaces or unusual characters; lower-case names with -, _ and . travel better between systems and code.`,
        }),
      );
    }
  }

  const unreferenced: { path: string; root: string | null }[] = [];
  for (const file of snapshot.crawl.files) {
    if (referenced.has(file) || file === ANCHOR_FILE) continue;
    const root = ownerRoot(snapshot, file);
    if (root !== null && file === `${root}/${ANCHOR_FILE}`) continue;
    if (root === null && file.endsWith(`/${ANCHOR_FILE}`)) continue;
    unreferenced.push({ path: file, root });
  }

  const sizes = new Map<string, number>();
  for (const file of snapshot.crawl.files) {
    if (isCancelled()) return found;
    try {
      // Not following a link: a file replaced by one since the crawl has no size here.
      const stats = assets.stat(file);
      if (stats?.isFile()) sizes.set(file, stats.size);
    } catch {
      // Vanished or unreadable since the crawl: hygiene is advice, skip it.
    }
    // Let a cancellation (and other requests) in now and then, as the asynchronous stat of each file did.
    if (sizes.size % 512 === 0) await new Promise((resolve) => setImmediate(resolve));
  }

  for (const { path, root } of unreferenced) {
    const size = sizes.get(path);
    if (size !== undefined && size >= LARGE_FILE_BYTES) {
      found.push(
        makeDiagnostic('large-unused-file', {
          severity: 'warning',
          blocking: false,
          path,
          ...(root !== null ? { root } : {}),
          message: `${path} is ${(size / 1048576).toFixed(1)} MiB and no declaration references it. Delete it or keep it outside assets/.`,
        }),
      );
    } else if (root !== null) {
      found.push(
        makeDiagnostic('unreferenced-file', {
          severity: 'hint',
          blocking: false,
          path,
          root,
          message: `${path} is inside asset root ${root} but its asset.json does not reference it.`,
        }),
      );
    } else {
      found.push(
        makeDiagnostic('stray-file', {
          severity: 'hint',
          blocking: false,
          path,
          message: `${path} lies outside every asset root, so no asset uses it.`,
        }),
      );
    }
  }

  // Duplicate content: hash only files that share a size with another file.
  const bySize = new Map<number, string[]>();
  for (const [file, size] of sizes) {
    if (size === 0 || file.endsWith(`/${ANCHOR_FILE}`)) continue;
    const group = bySize.get(size);
    if (group) group.push(file);
    else bySize.set(size, [file]);
  }
  const byHash = new Map<string, string[]>();
  for (const group of bySize.values()) {
    if (group.length < 2) continue;
    for (const file of group) {
      if (isCancelled()) return found;
      try {
        const digest = await sha256(assets, file);
        const same = byHash.get(digest);
        if (same) same.push(file);
        else byHash.set(digest, [file]);
      } catch {
        // Vanished since the crawl.
      }
    }
  }
  for (const files of byHash.values()) {
    if (files.length < 2) continue;
    files.sort();
    for (const file of files) {
      const root = ownerRoot(snapshot, file);
      found.push(
        makeDiagnostic('duplicate-content', {
          severity: 'info',
          blocking: false,
          path: file,
          ...(root !== null ? { root } : {}),
          message: `${file} has the same content as ${files.filter((other) => other !== file).join(', ')}.`,
          related: files.filter((other) => other !== file).map((other) => ({ path: other, message: 'same content' })),
        }),
      );
    }
  }

  for (const link of snapshot.crawl.symlinks) {
    found.push(
      makeDiagnostic('symlink-not-followed', {
        severity: 'warning',
        blocking: false,
        path: link,
        message: `${link} is a symbolic link; the packer never follows links, so whatever it points to is not part of the workspace.`,
      }),
    );
  }
  for (const problem of snapshot.crawl.problems) {
    found.push(
      makeDiagnostic('unreadable-entry', {
        severity: 'warning',
        blocking: false,
        path: problem.path,
        message:
          problem.code === 'ENOENT'
            ? `${problem.path} vanished while the workspace was scanned.`
            : `${problem.path} could not be read (${problem.code}).`,
      }),
    );
  }
  if (snapshot.crawl.files.includes(ANCHOR_FILE)) {
    found.push(
      makeDiagnostic('stray-file', {
        severity: 'warning',
        blocking: false,
        path: ANCHOR_FILE,
        message:
          'asset.json directly inside assets/ does not make assets/ an asset root; move it into the folder of the asset it declares.',
      }),
    );
  }
  return found;
}
