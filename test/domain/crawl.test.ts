/**
 * Unit tests of the crawl over `assets/`. Entries that vanish or fail while a crawl runs are produced
 * for real: `node:fs` is wrapped so a test can act on the disk just before or just after the crawl
 * lists a folder, and can make one call fail the way a permission error would. The confined file system
 * names folders by descriptor (`/proc/self/fd/N/...`) and reads files through `openSync`; the wrapper
 * gives the hooks the real paths.
 */
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { crawlAssets } from '../../server/src/domain/crawl.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';

/** Hooks the wrapped `node:fs` calls; all unset outside the tests that need them. */
const hooks = vi.hoisted(() => ({
  beforeReaddir: undefined as ((path: string) => void) | undefined,
  afterReaddir: undefined as ((path: string) => void) | undefined,
  beforeReadFile: undefined as ((path: string) => void) | undefined,
}));

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  /** The path a `/proc/self/fd/N/...` path stands for. */
  const real = (path: string): string => {
    const match = /^\/proc\/self\/fd\/(\d+)(.*)$/.exec(path);
    return match === null ? path : `${actual.readlinkSync(`/proc/self/fd/${match[1]}`)}${match[2]}`;
  };
  const readdirSync = ((path: fs.PathLike, options?: unknown) => {
    const shown = real(String(path));
    hooks.beforeReaddir?.(shown);
    const result = (actual.readdirSync as (path: fs.PathLike, options?: unknown) => unknown)(path, options);
    hooks.afterReaddir?.(shown);
    return result;
  }) as typeof actual.readdirSync;
  const readFileSync = ((path: fs.PathOrFileDescriptor, options?: unknown) => {
    hooks.beforeReadFile?.(String(path));
    return (actual.readFileSync as (path: fs.PathOrFileDescriptor, options?: unknown) => unknown)(path, options);
  }) as typeof actual.readFileSync;
  const openSync = ((path: fs.PathLike, flags?: unknown, mode?: unknown) => {
    const opensFolder = typeof flags === 'number' && (flags & actual.constants.O_DIRECTORY) !== 0;
    // A folder is opened just before it is listed, so "before the listing" is before the open.
    if (opensFolder) hooks.beforeReaddir?.(real(String(path)));
    else hooks.beforeReadFile?.(real(String(path)));
    return (actual.openSync as (path: fs.PathLike, flags?: unknown, mode?: unknown) => number)(path, flags, mode);
  }) as typeof actual.openSync;
  const replaced = { readdirSync, readFileSync, openSync };
  return { ...actual, default: { ...actual, ...replaced }, ...replaced };
});

const tempDir = useTempDirs('packer-crawl-');

// Registered after the temp-folder cleanup, so it runs before it: cleanup never meets a test's hooks.
afterEach(() => {
  hooks.beforeReaddir = undefined;
  hooks.afterReaddir = undefined;
  hooks.beforeReadFile = undefined;
});

function errnoError(code: string, path: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: simulated failure, open '${path}'`);
  error.code = code;
  return error;
}

describe('crawlAssets', () => {
  it('finds anchors in nested folders and reads their text', () => {
    const { assetsDir } = writeProject(tempDir(), {
      assets: [{ root: 'characters/hero' }, { root: 'characters/enemies/slime' }, { root: 'ui' }],
    });
    const crawl = crawlAssets(assetsDir);
    expect(crawl.anchors.map((anchor) => anchor.root)).toEqual(['characters/enemies/slime', 'characters/hero', 'ui']);
    const hero = crawl.anchors.find((anchor) => anchor.root === 'characters/hero')!;
    expect((JSON.parse(hero.text!) as { name: string }).name).toBe('hero');
    expect(hero.readError).toBeUndefined();
    expect(crawl.problems).toEqual([]);
  });

  it('skips the control folder at the top of assets/ but crawls folders of the same name deeper down', () => {
    const { assetsDir } = writeProject(tempDir(), {
      assets: [{ root: 'hero' }],
      files: {
        '.prometeu/journal/1.json': '{}',
        '.prometeu/quarantine/old/asset.json': '{}',
        'hero/.prometeu/notes.txt': 'not control data',
      },
    });
    const crawl = crawlAssets(assetsDir);
    expect(crawl.files).toEqual(['hero/.prometeu/notes.txt', 'hero/asset.json', 'hero/data.bin']);
    expect(crawl.anchors.map((anchor) => anchor.root)).toEqual(['hero']);
  });

  it('lists every file sorted in code-unit order, anchors included, whatever the creation order', () => {
    const { assetsDir } = writeProject(tempDir(), {
      files: {
        'b/z.txt': 'z',
        'B/a.txt': 'a',
        'a/b/c.txt': 'c',
        'a.txt': 'a',
        'a/asset.json': '{}',
        'a-b/x': 'x',
        'é.txt': 'e',
      },
      registry: false,
    });
    const crawl = crawlAssets(assetsDir);
    expect(crawl.files).toEqual(['B/a.txt', 'a-b/x', 'a.txt', 'a/asset.json', 'a/b/c.txt', 'b/z.txt', 'é.txt']);
    expect(crawl.anchors.map((anchor) => anchor.root)).toEqual(['a']);
  });

  it('does not make assets/ itself a root when an asset.json lies directly inside it', () => {
    const { assetsDir } = writeProject(tempDir(), { files: { 'asset.json': '{}' } });
    const crawl = crawlAssets(assetsDir);
    expect(crawl.anchors).toEqual([]);
    expect(crawl.files).toEqual(['asset.json']);
  });

  it('never follows symbolic links, so a link loop terminates and is listed', () => {
    const { assetsDir } = writeProject(tempDir(), {
      assets: [{ root: 'a' }],
      symlinks: { 'a/loop': '..', 'a/outside': '/', dangling: 'does-not-exist', 'a/data-link.bin': 'data.bin' },
    });
    const crawl = crawlAssets(assetsDir);
    expect(crawl.symlinks).toEqual(['a/data-link.bin', 'a/loop', 'a/outside', 'dangling']);
    expect(crawl.files).toEqual(['a/asset.json', 'a/data.bin']);
    expect(crawl.anchors.map((anchor) => anchor.root)).toEqual(['a']);
    expect(crawl.problems).toEqual([]);
  });

  it('does not treat a symbolic link named asset.json as an anchor', () => {
    const { assetsDir } = writeProject(tempDir(), {
      files: { 'real/asset.json': '{}' },
      symlinks: { 'linked/asset.json': '../real/asset.json' },
      registry: false,
    });
    const crawl = crawlAssets(assetsDir);
    expect(crawl.anchors.map((anchor) => anchor.root)).toEqual(['real']);
    expect(crawl.symlinks).toEqual(['linked/asset.json']);
  });

  it('records a folder whose listing fails with a permission error and goes on with the rest', () => {
    const { assetsDir } = writeProject(tempDir(), { assets: [{ root: 'ok' }, { root: 'locked/inner' }] });
    const locked = join(assetsDir, 'locked');
    hooks.beforeReaddir = (path) => {
      if (path === locked) throw errnoError('EACCES', path);
    };
    const crawl = crawlAssets(assetsDir);
    expect(crawl.problems).toEqual([{ path: 'locked', code: 'EACCES' }]);
    expect(crawl.anchors.map((anchor) => anchor.root)).toEqual(['ok']);
    expect(crawl.files).toEqual(['ok/asset.json', 'ok/data.bin']);
  });

  it('records a folder that vanishes after its parent was listed and before it is read', () => {
    const { assetsDir } = writeProject(tempDir(), { assets: [{ root: 'keep' }, { root: 'gone/hero' }] });
    const gone = join(assetsDir, 'gone');
    hooks.beforeReaddir = (path) => {
      if (path === gone) fs.rmSync(gone, { recursive: true });
    };
    const crawl = crawlAssets(assetsDir);
    expect(fs.existsSync(gone)).toBe(false);
    expect(crawl.problems).toEqual([{ path: 'gone', code: 'ENOENT' }]);
    expect(crawl.anchors.map((anchor) => anchor.root)).toEqual(['keep']);
    expect(crawl.files).toEqual(['keep/asset.json', 'keep/data.bin']);
  });

  it('records an asset.json deleted between the listing of its folder and its read, and does not make it an anchor or a file', () => {
    const { assetsDir } = writeProject(tempDir(), { assets: [{ root: 'keep' }, { root: 'flaky' }] });
    const flaky = join(assetsDir, 'flaky');
    hooks.afterReaddir = (path) => {
      if (path === flaky) fs.rmSync(join(flaky, 'asset.json'));
    };
    const crawl = crawlAssets(assetsDir);
    expect(crawl.anchors.map((anchor) => anchor.root)).toEqual(['keep']);
    expect(crawl.problems).toEqual([{ path: 'flaky/asset.json', code: 'ENOENT' }]);
    expect(crawl.files).toEqual(['flaky/data.bin', 'keep/asset.json', 'keep/data.bin']);
  });

  it('keeps an asset.json it cannot read as an anchor with no text and the read error', () => {
    const { assetsDir } = writeProject(tempDir(), { assets: [{ root: 'secret' }] });
    const anchorPath = join(assetsDir, 'secret', 'asset.json');
    hooks.beforeReadFile = (path) => {
      if (path === anchorPath) throw errnoError('EACCES', path);
    };
    const crawl = crawlAssets(assetsDir);
    expect(crawl.anchors).toEqual([{ root: 'secret', text: null, readError: 'EACCES' }]);
    expect(crawl.problems).toEqual([]);
  });

  it('throws only when assets/ itself is missing', () => {
    const dir = tempDir();
    expect(() => crawlAssets(join(dir, 'assets'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    const { assetsDir } = writeProject(dir);
    expect(crawlAssets(assetsDir)).toEqual({
      anchors: [],
      files: [],
      symlinks: [],
      problems: [],
      unrecoverableJournals: [],
    });
  });

  it('takes the lstat of every regular file in the same pass when asked, and of nothing else', () => {
    const { assetsDir } = writeProject(tempDir(), {
      assets: [{ root: 'x/y' }, { root: 'm/n', inputs: { data: ['1.bin', 'sub/2.bin'] } }],
      files: { 'stray.txt': 'stray', '.prometeu/other.json': '{}' },
      symlinks: { 'x/link': '../m' },
    });
    const seen = new Map<string, number>();
    const crawl = crawlAssets(assetsDir, '', (path, stats) => seen.set(path, stats.size));
    expect([...seen.keys()].sort()).toEqual(crawl.files);
    for (const file of crawl.files) expect(seen.get(file)).toBe(fs.lstatSync(join(assetsDir, file)).size);
  });

  it('names a journal left in the control folder as pending, and a full crawl without one names none', () => {
    const { assetsDir } = writeProject(tempDir(), { assets: [{ root: 'a' }] });
    expect(crawlAssets(assetsDir).pendingJournal).toBeUndefined();
    fs.writeFileSync(join(assetsDir, '.prometeu/journal.json'), '{}');
    expect(crawlAssets(assetsDir).pendingJournal).toBe('.prometeu/journal.json');
    expect(crawlAssets(assetsDir, 'a').pendingJournal).toBeUndefined();
  });

  it('is deterministic: two crawls of one tree are equal', () => {
    const { assetsDir } = writeProject(tempDir(), {
      assets: [{ root: 'x/y' }, { root: 'a' }, { root: 'm/n/o', inputs: { data: ['1.bin', 'sub/2.bin'] } }],
      files: { 'stray.txt': 'stray' },
      symlinks: { 'a/link': '../x' },
    });
    expect(crawlAssets(assetsDir)).toEqual(crawlAssets(assetsDir));
  });
});
