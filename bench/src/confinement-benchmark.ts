/**
 * What the confinement checks cost (issue 9): the server's own crawl of `assets/` through `ProjectFs` (every
 * folder opened without following links through the descriptor of the one above it, every `asset.json` read
 * through its folder's descriptor and checked), against a plain crawl of the same tree doing the same
 * bookkeeping by path, interleaved in this process; and the same for the verification crawl, which also takes
 * the `lstat` of every file.
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crawlAssets, type CrawlResult } from '../../server/dist/domain/crawl.js';
import { ProjectFs } from '../../server/dist/io/project-fs.js';
import type { ReportRow } from './report.js';
import { formatCount, formatMilliseconds, median } from './statistics.js';
import type { BenchWorkspace } from './workspaces.js';

/** What a plain crawl saw, to check that both crawls saw the same tree. */
interface PlainCrawl {
  readonly folders: number;
  readonly files: readonly string[];
  readonly anchors: number;
}

/**
 * The floor: what `crawlAssets` does, by path and with no check. Lists every folder below `assetsDir` (the
 * control folder skipped), keeps every regular file's path and every link's, reads every `asset.json` as
 * text, sorts the lists; with `statFiles`, takes each file's `lstat` as the verification crawl does.
 */
function plainCrawl(assetsDir: string, statFiles: boolean): PlainCrawl {
  const files: string[] = [];
  const links: string[] = [];
  const texts: string[] = [];
  const pending = [''];
  let folders = 0;
  while (pending.length > 0) {
    const relative = pending.pop()!;
    folders++;
    const folder = relative === '' ? assetsDir : join(assetsDir, relative);
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (relative !== '' || entry.name !== '.prometeu') pending.push(path);
      } else if (entry.isFile()) {
        if (statFiles) lstatSync(join(folder, entry.name));
        files.push(path);
        if (entry.name === 'asset.json' && relative !== '') texts.push(readFileSync(join(folder, entry.name), 'utf8'));
      } else if (entry.isSymbolicLink()) links.push(path);
    }
  }
  files.sort();
  links.sort();
  return { folders, files, anchors: texts.length };
}

/** The measured passes, per repetition, in ms. */
export interface ConfinementResult {
  readonly roots: number;
  readonly folders: number;
  readonly files: number;
  readonly anchors: number;
  readonly plainCrawlMs: readonly number[];
  readonly confinedCrawlMs: readonly number[];
  readonly plainVerificationMs: readonly number[];
  readonly confinedVerificationMs: readonly number[];
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * Runs the four passes `repetitions` times on the workspace's `assets/`, in an order rotated at each
 * repetition, each after a garbage collection, after one untimed round that warms the page cache and the JIT.
 * Throws when the two crawls did not see the same files.
 */
export function measureConfinement(workspace: BenchWorkspace, repetitions: number): ConfinementResult {
  const assetsDir = join(workspace.projectDir, 'assets');
  const plain = plainCrawl(assetsDir, false);
  const confined: CrawlResult = crawlAssets(ProjectFs.ofFolder(assetsDir));
  if (
    confined.files.length !== plain.files.length ||
    confined.anchors.length !== plain.anchors ||
    confined.problems.length > 0
  )
    throw new Error(
      `the confined crawl of ${assetsDir} saw ${confined.files.length} files and ${confined.anchors.length} anchors (${confined.problems.length} problems), the plain one ${plain.files.length} and ${plain.anchors}`,
    );
  const times: Record<string, number[]> = { plain: [], confined: [], plainStat: [], confinedStat: [] };
  const passes: [string, () => unknown][] = [
    ['plain', () => plainCrawl(assetsDir, false)],
    ['confined', () => crawlAssets(ProjectFs.ofFolder(assetsDir))],
    ['plainStat', () => plainCrawl(assetsDir, true)],
    ['confinedStat', () => crawlAssets(ProjectFs.ofFolder(assetsDir), '', () => undefined)],
  ];
  // One unmeasured pass of each kind first; the check above already was the plain and the confined crawl's
  // (the same calls in the same order), so only the two verification crawls get one here.
  for (const [name, pass] of passes) if (name === 'plainStat' || name === 'confinedStat') pass();
  for (let repetition = 0; repetition < repetitions; repetition++) {
    for (let index = 0; index < passes.length; index++) {
      const [name, pass] = passes[(index + repetition) % passes.length]!;
      collectGarbage();
      const started = performance.now();
      pass();
      times[name]!.push(performance.now() - started);
    }
  }
  return {
    roots: workspace.summary.roots,
    folders: plain.folders,
    files: plain.files.length,
    anchors: plain.anchors,
    plainCrawlMs: times['plain']!,
    confinedCrawlMs: times['confined']!,
    plainVerificationMs: times['plainStat']!,
    confinedVerificationMs: times['confinedStat']!,
  };
}

function microseconds(milliseconds: number): string {
  return `${(milliseconds * 1000).toFixed(2)} µs`;
}

/** A difference of two medians, which the noise of a shared machine can make negative. */
function signedMilliseconds(milliseconds: number): string {
  return `${milliseconds < 0 ? '−' : ''}${formatMilliseconds(Math.abs(milliseconds))}`;
}

/**
 * The rows: each confined pass against its plain floor, and what the checks add, divided once by the folders
 * and once by the files (the difference of the two passes' differences is what a checked `lstat` adds).
 */
export function confinementRows(result: ConfinementResult): ReportRow[] {
  const size = formatCount(result.roots);
  const crawl = median(result.confinedCrawlMs);
  const crawlFloor = median(result.plainCrawlMs);
  const verification = median(result.confinedVerificationMs);
  const verificationFloor = median(result.plainVerificationMs);
  const added = crawl - crawlFloor;
  const addedByStats = verification - verificationFloor - added;
  return [
    {
      metric: `crawl through ProjectFs ${size} (${result.folders.toLocaleString('en-US')} folders, ${result.files.toLocaleString('en-US')} files, median of ${result.confinedCrawlMs.length})`,
      subject: formatMilliseconds(crawl),
      floor: `plain crawl ${formatMilliseconds(crawlFloor)}`,
      ratio: crawl / crawlFloor,
    },
    {
      metric: `  … the checks' cost, per folder; per file`,
      subject: `${microseconds(added / result.folders)}; ${microseconds(added / result.files)}`,
      floor: `${signedMilliseconds(added)} in all`,
    },
    {
      metric: `  … verification crawl (+ lstat of every file) through ProjectFs ${size}`,
      subject: formatMilliseconds(verification),
      floor: `plain ${formatMilliseconds(verificationFloor)}`,
      ratio: verification / verificationFloor,
    },
    {
      metric: `  … a checked lstat beyond a plain one, per file`,
      subject: microseconds(addedByStats / result.files),
      floor: `${signedMilliseconds(addedByStats)} in all`,
    },
  ];
}
