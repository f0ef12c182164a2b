/**
 * The crawl meets a folder it may not list for real (`chmod 000`). Root may list anything, so under root
 * (as in CI) the crawl runs in a child process that loads the built crawl module first and then drops to
 * the unprivileged user `nobody` before it crawls; any other user crawls in this process.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { crawlAssets, type CrawlResult } from '../../server/src/domain/crawl.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-crawl-perm-');

/** The unprivileged user and group the child drops to under root (Debian's `nobody` and `nogroup`). */
const NOBODY = 65534;

/** The built crawl module: the child runs it, so its privileges are dropped only after it is loaded. */
const BUILT_CRAWL = pathToFileURL(resolve(import.meta.dirname, '../../server/dist/domain/crawl.js')).href;

/** Crawls `assetsDir` as a user `chmod 000` applies to: `nobody` in a child under root, this process otherwise. */
function crawlUnprivileged(assetsDir: string): Pick<CrawlResult, 'anchors' | 'problems'> {
  if (process.getuid?.() !== 0) return crawlAssets(assetsDir);
  const script = [
    `const { crawlAssets } = await import(${JSON.stringify(BUILT_CRAWL)});`,
    `process.setgid(${NOBODY}); process.setuid(${NOBODY});`,
    `process.stdout.write(JSON.stringify(crawlAssets(${JSON.stringify(assetsDir)})));`,
  ].join('\n');
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 20_000,
  });
  expect(child.stderr).toBe('');
  expect(child.status).toBe(0);
  return JSON.parse(child.stdout) as CrawlResult;
}

describe('crawl of a folder it may not list', () => {
  it('records the folder as EACCES and goes on with the rest', () => {
    const dir = tempDir();
    // `nobody` must reach the project: the temporary folder is created private to its owner.
    fs.chmodSync(dir, 0o755);
    const { assetsDir } = writeProject(dir, { assets: [{ root: 'ok' }, { root: 'locked/inner' }] });
    fs.chmodSync(join(assetsDir, 'locked'), 0o000);
    try {
      const crawl = crawlUnprivileged(assetsDir);
      expect(crawl.problems).toEqual([{ path: 'locked', code: 'EACCES' }]);
      expect(crawl.anchors.map((anchor) => anchor.root)).toEqual(['ok']);
    } finally {
      fs.chmodSync(join(assetsDir, 'locked'), 0o755);
    }
  });
});
