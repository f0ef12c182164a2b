/** The benchmark's generated workspaces: cached under bench/workspaces/<size>-seed<seed>/ and reused while their marker matches. */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATOR_VERSION, generateWorkspace, type GeneratedSummary } from '../../tools/dist/generate-workspace.js';
import { floorCrawl } from './floor-crawl.js';
import { formatCount } from './statistics.js';

/** The marker file, at the project root (outside assets/, so the server never sees it). */
export const MARKER_FILE = 'bench-workspace.json';

/** A workspace ready for measuring. */
export interface BenchWorkspace {
  readonly projectDir: string;
  readonly summary: GeneratedSummary;
  /** Seconds spent generating, or 0 when the cached copy was reused. */
  readonly generationSeconds: number;
}

function readMarker(projectDir: string): GeneratedSummary | undefined {
  try {
    return JSON.parse(readFileSync(join(projectDir, MARKER_FILE), 'utf8')) as GeneratedSummary;
  } catch {
    return undefined;
  }
}

/** Whether the tree on disk still has the folders, files and anchors the marker promises (a server may have written into it). */
function stillMatches(projectDir: string, summary: GeneratedSummary): boolean {
  try {
    const seen = floorCrawl(projectDir);
    // The crawl skips assets/.prometeu (one folder, one file).
    return (
      seen.declarations === summary.roots && seen.files === summary.files - 1 && seen.folders === summary.folders - 1
    );
  } catch {
    return false;
  }
}

/** Workspaces this process checked or generated already, by folder: a suite asking again gets them without a second crawl. */
const checked = new Map<string, BenchWorkspace>();

/**
 * Returns the workspace of `roots` asset roots and `seed` under `baseDir`, generating it when its marker
 * is missing, names another generator version, size or seed, or no longer matches the tree on disk. The
 * marker is written last, so an interrupted generation is detected and redone. The check reads the whole
 * tree, which also warms the page cache; it is done once per process (nothing in the bench writes there).
 */
export function ensureWorkspace(
  baseDir: string,
  roots: number,
  seed: number,
  log: (message: string) => void,
): BenchWorkspace {
  const projectDir = join(baseDir, `${formatCount(roots)}-seed${seed}`);
  const known = checked.get(projectDir);
  if (known !== undefined) return { ...known, generationSeconds: 0 };
  const workspace = checkOrGenerate(projectDir, roots, seed, log);
  checked.set(projectDir, workspace);
  return workspace;
}

function checkOrGenerate(
  projectDir: string,
  roots: number,
  seed: number,
  log: (message: string) => void,
): BenchWorkspace {
  const marker = readMarker(projectDir);
  if (
    marker !== undefined &&
    marker.generatorVersion === GENERATOR_VERSION &&
    marker.roots === roots &&
    marker.seed === seed &&
    stillMatches(projectDir, marker)
  ) {
    return { projectDir, summary: marker, generationSeconds: 0 };
  }
  if (existsSync(projectDir)) {
    log(`workspace ${projectDir} is stale or incomplete; deleting it`);
    rmSync(projectDir, { recursive: true, force: true });
  }
  log(`generating ${formatCount(roots)} asset roots (seed ${seed}) into ${projectDir}`);
  const started = performance.now();
  const summary = generateWorkspace(projectDir, { roots, seed });
  writeFileSync(join(projectDir, MARKER_FILE), `${JSON.stringify(summary, null, 2)}\n`);
  const generationSeconds = (performance.now() - started) / 1000;
  log(`generated ${summary.folders} folders and ${summary.files} files in ${generationSeconds.toFixed(1)} s`);
  return { projectDir, summary, generationSeconds };
}
