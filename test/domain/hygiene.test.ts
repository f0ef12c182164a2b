/**
 * Unit tests of the workspace-wide hygiene checks: advisory diagnostics over every file of `assets/`.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnostic } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import { crawlAssets, type CrawlResult } from '../../server/src/domain/crawl.js';
import { LARGE_FILE_BYTES, workspaceHygiene } from '../../server/src/domain/hygiene.js';
import { parseRegistry, REGISTRY_PATH } from '../../server/src/domain/registry.js';
import { buildSnapshot, type Snapshot } from '../../server/src/domain/snapshot.js';
import { useTempDirs, writeProject, type ProjectSpec } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-hygiene-');

function load(assetsDir: string, adjust: (crawl: CrawlResult) => CrawlResult = (crawl) => crawl): Snapshot {
  let text: string | null = null;
  try {
    text = readFileSync(join(assetsDir, REGISTRY_PATH), 'utf8');
  } catch {
    // Absent.
  }
  return buildSnapshot(1, adjust(crawlAssets(assetsDir)), parseRegistry(text));
}

async function hygieneOf(spec: ProjectSpec): Promise<Diagnostic[]> {
  const { assetsDir } = writeProject(tempDir(), spec);
  return workspaceHygiene(load(assetsDir), assetsDir);
}

function withCode(diagnostics: readonly Diagnostic[], code: string): Diagnostic[] {
  return diagnostics.filter((diagnostic) => diagnostic.code === code);
}

describe('workspaceHygiene', () => {
  it('reports nothing for a tidy workspace', async () => {
    expect(
      await hygieneOf({
        assets: [{ root: 'characters/hero' }, { root: 'ui/icons', inputs: { data: ['a.bin', 'sub/b.bin'] } }],
      }),
    ).toEqual([]);
  });

  it('reports a file inside a root that its declaration does not reference', async () => {
    const found = await hygieneOf({
      assets: [{ root: 'hero', files: { 'data.bin': 'used', 'old/draft.bin': 'unused' } }],
    });
    expect(found).toEqual([
      expect.objectContaining({
        code: 'unreferenced-file',
        family: 'hygiene',
        severity: 'hint',
        blocking: false,
        path: 'hero/old/draft.bin',
        root: 'hero',
      }),
    ]);
    expect(found[0]!.message).toContain('hero/old/draft.bin');
  });

  it("counts unregistered roots' inputs as referenced and their other files as unreferenced", async () => {
    const found = await hygieneOf({
      assets: [{ root: 'loose', registered: false, files: { 'data.bin': 'used', 'extra.txt': 'x' } }],
    });
    expect(withCode(found, 'unreferenced-file').map((diagnostic) => diagnostic.path)).toEqual(['loose/extra.txt']);
  });

  it('reports a file outside every root as stray, with no root', async () => {
    const found = await hygieneOf({
      assets: [{ root: 'levels/forest' }],
      files: { 'TODO.txt': 'todo', 'levels/notes.md': 'notes' },
    });
    const stray = withCode(found, 'stray-file');
    expect(stray.map((diagnostic) => [diagnostic.path, diagnostic.severity, diagnostic.blocking])).toEqual([
      ['TODO.txt', 'hint', false],
      ['levels/notes.md', 'hint', false],
    ]);
    expect(stray[0]!.root).toBeUndefined();
    expect(found).toHaveLength(2);
  });

  it('assigns a file in a nested root to the innermost root and does not report the nested anchor', async () => {
    const found = await hygieneOf({
      assets: [
        { root: 'outer', registered: false },
        { root: 'outer/inner', registered: false, files: { 'data.bin': 'inner data', 'junk.txt': 'j' } },
      ],
    });
    expect(withCode(found, 'unreferenced-file')).toEqual([
      expect.objectContaining({ path: 'outer/inner/junk.txt', root: 'outer/inner' }),
    ]);
  });

  it('reports files with the same content on each of them, naming the others, and ignores empty files and anchors', async () => {
    const found = await hygieneOf({
      assets: [
        { root: 'a', files: { 'data.bin': 'same bytes' } },
        { root: 'b', files: { 'data.bin': 'same bytes', 'empty.txt': '' } },
        {
          root: 'c',
          declaration: '{"same": "anchor"}',
          registered: false,
          files: { 'data.bin': 'other bytes', 'empty.txt': '' },
        },
        { root: 'd', declaration: '{"same": "anchor"}', registered: false, files: {} },
      ],
      files: { 'copies/data-copy.bin': 'same bytes', 'size-twin.bin': 'SAME BYTES' },
    });
    const duplicates = withCode(found, 'duplicate-content');
    expect(duplicates.map((diagnostic) => diagnostic.path)).toEqual([
      'a/data.bin',
      'b/data.bin',
      'copies/data-copy.bin',
    ]);
    expect(duplicates[0]).toMatchObject({
      family: 'hygiene',
      severity: 'info',
      blocking: false,
      root: 'a',
      related: [
        { path: 'b/data.bin', message: 'same content' },
        { path: 'copies/data-copy.bin', message: 'same content' },
      ],
    });
    expect(duplicates[2]!.root).toBeUndefined();
    expect(duplicates[2]!.message).toContain('a/data.bin, b/data.bin');
  });

  it('reports an unreferenced file of at least 4 MiB as a large unused file instead of an unreferenced or stray one', async () => {
    expect(LARGE_FILE_BYTES).toBe(4 * 1024 * 1024);
    const found = await hygieneOf({
      assets: [{ root: 'hero', files: { 'data.bin': 'used', 'export.psd': Buffer.alloc(LARGE_FILE_BYTES, 1) } }],
      files: {
        'video.mp4': Buffer.alloc(LARGE_FILE_BYTES + 10, 2),
        'almost.bin': Buffer.alloc(LARGE_FILE_BYTES - 1, 3),
      },
    });
    const large = withCode(found, 'large-unused-file');
    expect(large.map((diagnostic) => [diagnostic.path, diagnostic.root])).toEqual([
      ['hero/export.psd', 'hero'],
      ['video.mp4', undefined],
    ]);
    expect(large[0]).toMatchObject({ severity: 'warning', blocking: false });
    expect(large[0]!.message).toContain('4.0 MiB');
    expect(withCode(found, 'stray-file').map((diagnostic) => diagnostic.path)).toEqual(['almost.bin']);
    expect(withCode(found, 'unreferenced-file')).toEqual([]);
  });

  it('does not report a large file that a declaration references', async () => {
    const found = await hygieneOf({
      assets: [{ root: 'music', files: { 'data.bin': Buffer.alloc(LARGE_FILE_BYTES, 7) } }],
    });
    expect(found).toEqual([]);
  });

  it('hints at root folder names with upper case, spaces or unusual characters, registered or not', async () => {
    const found = await hygieneOf({
      assets: [
        { root: 'levels/Boss Arena', registered: false },
        { root: 'UI/icons' },
        { root: 'sfx/jump_2.v1' },
        { root: 'levels/-dash' },
      ],
    });
    const naming = withCode(found, 'naming');
    // In snapshot order: registered assets by id, then unregistered ones.
    expect(naming.map((diagnostic) => [diagnostic.root, diagnostic.assetId])).toEqual([
      ['UI/icons', 1],
      ['levels/-dash', 3],
      ['levels/Boss Arena', undefined],
    ]);
    expect(naming[0]).toMatchObject({ severity: 'hint', blocking: false });
    expect(naming[0]!.message).toContain('"UI"');
    expect(naming[2]!.message).toContain('"Boss Arena"');
  });

  it('does not hint at the name of a registered root whose folder is missing', async () => {
    const found = await hygieneOf({ assets: [{ root: 'Gone Folder', declaration: null, files: {} }] });
    expect(withCode(found, 'naming')).toEqual([]);
  });

  it('reports each symbolic link as not followed', async () => {
    const found = await hygieneOf({ assets: [{ root: 'a' }], symlinks: { 'a/loop': '..', shortcut: '/tmp' } });
    expect(
      withCode(found, 'symlink-not-followed').map((diagnostic) => [
        diagnostic.path,
        diagnostic.severity,
        diagnostic.blocking,
      ]),
    ).toEqual([
      ['a/loop', 'warning', false],
      ['shortcut', 'warning', false],
    ]);
    expect(found).toHaveLength(2);
  });

  it('reports an asset.json directly inside assets/ once, as a stray-file warning', async () => {
    const found = await hygieneOf({ assets: [{ root: 'a' }], files: { 'asset.json': '{}' } });
    expect(found).toEqual([
      expect.objectContaining({ code: 'stray-file', severity: 'warning', blocking: false, path: 'asset.json' }),
    ]);
    expect(found[0]!.message).toContain('move it into the folder');
  });

  it('reports what the crawl could not read, telling vanished entries from unreadable ones', async () => {
    const { assetsDir } = writeProject(tempDir(), { assets: [{ root: 'a' }] });
    const snapshot = load(assetsDir, (crawl) => ({
      ...crawl,
      problems: [
        { path: 'gone', code: 'ENOENT' },
        { path: 'locked', code: 'EACCES' },
      ],
    }));
    const found = await workspaceHygiene(snapshot, assetsDir);
    expect(
      found.map((diagnostic) => [diagnostic.code, diagnostic.path, diagnostic.severity, diagnostic.blocking]),
    ).toEqual([
      ['unreadable-entry', 'gone', 'warning', false],
      ['unreadable-entry', 'locked', 'warning', false],
    ]);
    expect(found[0]!.message).toContain('vanished');
    expect(found[1]!.message).toContain('EACCES');
  });

  it('survives files that vanish after the crawl', async () => {
    const { assetsDir } = writeProject(tempDir(), {
      assets: [{ root: 'a', files: { 'data.bin': 'same', 'copy.bin': 'same' } }],
    });
    const snapshot = load(assetsDir);
    rmSync(join(assetsDir, 'a', 'copy.bin'));
    rmSync(join(assetsDir, 'a', 'data.bin'));
    const found = await workspaceHygiene(snapshot, assetsDir);
    expect(withCode(found, 'duplicate-content')).toEqual([]);
    expect(withCode(found, 'unreferenced-file').map((diagnostic) => diagnostic.path)).toEqual(['a/copy.bin']);
  });

  it('stops early, without hashing, when cancelled', async () => {
    const { assetsDir } = writeProject(tempDir(), { files: { 'one.bin': 'same', 'two.bin': 'same' } });
    const found = await workspaceHygiene(load(assetsDir), assetsDir, () => true);
    expect(withCode(found, 'duplicate-content')).toEqual([]);
  });

  it('never blocks and only uses hygiene codes', async () => {
    const found = await hygieneOf({
      assets: [{ root: 'Bad Name', files: { 'data.bin': 'dup', 'x.bin': 'dup' } }],
      files: { 'asset.json': '{}', 'stray.bin': Buffer.alloc(LARGE_FILE_BYTES, 9) },
      symlinks: { link: '.' },
    });
    expect(found.length).toBeGreaterThan(4);
    for (const diagnostic of found) expect(diagnostic).toMatchObject({ family: 'hygiene', blocking: false });
  });
});
