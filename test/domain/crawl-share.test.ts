/**
 * Crawling in shares: the shares of a crawl of `assets/` (dealt out by top folder, for the load's threads)
 * are disjoint, and merged they are exactly the crawl of the whole, with the files, links, problems and
 * journals of `assets/` itself and of the control folder in share 0.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crawlAssets, crawlShare, mergeCrawls } from '../../server/src/domain/crawl.js';
import { useTempDirs, writeProject, type AssetSpec } from '../support/workspace-builder.js';

const tempDir = useTempDirs('crawl-share-');

describe('a crawl in shares', () => {
  const assets: AssetSpec[] = [
    ...['audio', 'fonts', 'items', 'props', 'ui'].flatMap((top) =>
      Array.from({ length: 7 }, (_, index) => ({ root: `${top}/group${index % 3}/a${index}` })),
    ),
    { root: 'solo' },
    { root: 'nest/outer' },
    { root: 'nest/outer/inner', registered: false },
  ];

  it('merges into the crawl of the whole, whatever the number of shares', () => {
    const written = writeProject(tempDir(), {
      assets,
      files: { 'README.md': 'top file', 'audio/notes.txt': 'loose' },
      symlinks: { 'link-top': '/etc', 'fonts/link-in': '../ui' },
    });
    mkdirSync(join(written.assetsDir, 'empty'));
    writeFileSync(join(written.assetsDir, '.prometeu', 'journal-unrecoverable-1.json'), '{}');
    writeFileSync(join(written.assetsDir, '.prometeu', 'journal.json'), '{}');
    symlinkSync('/nowhere', join(written.assetsDir, 'ui', 'dangling'));
    const whole = crawlAssets(written.assetsDir);
    expect(whole.pendingJournal).toBe('.prometeu/journal.json');
    expect(whole.unrecoverableJournals).toEqual(['.prometeu/journal-unrecoverable-1.json']);
    for (const of of [1, 2, 3, 9]) {
      const parts = Array.from({ length: of }, (_, index) => crawlShare(written.assetsDir, { index, of }));
      expect(mergeCrawls(parts)).toEqual(whole);
      // Disjoint: every file is in exactly one share.
      expect(parts.reduce((count, part) => count + part.files.length, 0)).toBe(whole.files.length);
      for (const part of parts.slice(1)) {
        expect(part.files.every((file) => file.includes('/'))).toBe(true);
        expect(part.unrecoverableJournals).toEqual([]);
        expect(part.pendingJournal).toBeUndefined();
      }
    }
  });

  it('deals the top folders out in turn, so two shares each get about half of them', () => {
    const written = writeProject(tempDir(), { assets });
    const [first, second] = [0, 1].map((index) => crawlShare(written.assetsDir, { index, of: 2 }));
    const tops = (files: readonly string[]) => [...new Set(files.map((file) => file.split('/')[0]))].sort();
    // The top folders in name order: audio, fonts, items, nest, props, solo, ui.
    expect(tops(first!.files)).toEqual(['audio', 'items', 'props', 'ui']);
    expect(tops(second!.files)).toEqual(['fonts', 'nest', 'solo']);
  });
});
