/**
 * The confined file system on its own: every refusal a hostile tree can provoke (links at the end and on
 * the way, FIFOs, folders where files belong, huge files, `..`), a folder moved out of the project after
 * it was opened, and writes that would land outside. A sentinel folder outside must stay unchanged.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectFs } from '../../server/src/io/project-fs.js';
import { useTempDirs } from '../support/workspace-builder.js';
import { makeSentinel, type Sentinel } from './support.js';

describe('the confined file system', () => {
  const tempDir = useTempDirs('packer-adv-fs-');
  let sentinel: Sentinel;
  beforeAll(() => {
    sentinel = makeSentinel();
  });
  afterAll(() => {
    sentinel.check();
    sentinel.remove();
  });

  function project(): { dir: string; files: ProjectFs } {
    const dir = tempDir();
    mkdirSync(join(dir, 'assets', 'a'), { recursive: true });
    writeFileSync(join(dir, 'assets', 'a', 'file.txt'), 'inside');
    return { dir, files: ProjectFs.openRoot(dir) };
  }

  it('reads a regular file and refuses a link at the end or on the way, naming the link', () => {
    const { dir, files } = project();
    expect(files.readText('assets/a/file.txt', 100)).toBe('inside');
    symlinkSync(join(sentinel.dir, 'keep.txt'), join(dir, 'assets', 'a', 'end'));
    symlinkSync(sentinel.dir, join(dir, 'assets', 'way'));
    expect(() => files.readFile('assets/a/end', 100)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    expect(() => files.readFile('assets/way/keep.txt', 100)).toThrow(
      expect.objectContaining({ code: 'ELOOP', path: join(files.root, 'assets', 'way') }),
    );
    expect(files.readFileIfRegular('assets/way/keep.txt', 100)).toBeNull();
    expect(files.exists('assets/way/keep.txt')).toBe(false);
    expect(files.kind('assets/way')).toBe('link');
  });

  it('refuses a FIFO at once, a folder, a file over its limit by its size, and a path climbing out', () => {
    const { dir, files } = project();
    execFileSync('mkfifo', [join(dir, 'assets', 'a', 'pipe')]);
    expect(() => files.readFile('assets/a/pipe', 100)).toThrow(expect.objectContaining({ code: 'EFTYPE' }));
    expect(() => files.readFile('assets/a', 100)).toThrow(expect.objectContaining({ code: 'EISDIR' }));
    writeFileSync(join(dir, 'assets', 'a', 'huge'), '');
    truncateSync(join(dir, 'assets', 'a', 'huge'), 1024 * 1024 * 1024);
    expect(() => files.readFile('assets/a/huge', 1024)).toThrow(expect.objectContaining({ code: 'EFBIG' }));
    expect(() => files.readFile('assets/../../etc/passwd', 100)).toThrow(expect.objectContaining({ code: 'EOUTSIDE' }));
  });

  it('does not return the bytes of a file whose folder was moved out of the project after the scope opened it', () => {
    const { dir, files } = project();
    const outside = tempDir();
    files.scope((scoped) => {
      expect(scoped.listNames('assets/a')).toEqual(['file.txt']);
      renameSync(join(dir, 'assets', 'a'), join(outside, 'a'));
      writeFileSync(join(outside, 'a', 'file.txt'), 'outside secret');
      expect(() => scoped.readFile('assets/a/file.txt', 100)).toThrow(expect.objectContaining({ code: 'EOUTSIDE' }));
    });
  });

  it('walks folders through descriptors: a folder swapped for a link after it was listed is an ELOOP error, never walked into', () => {
    const { dir, files } = project();
    mkdirSync(join(dir, 'assets', 'b'));
    writeFileSync(join(dir, 'assets', 'b', 'file.txt'), 'inside b');
    const seen: string[] = [];
    const errors: [string, unknown][] = [];
    files.walkFolders(
      'assets',
      (folder) => {
        seen.push(folder.path, ...folder.entries.map((entry) => `${folder.path}/${entry.name}`));
        if (folder.path === 'assets') {
          // Between the listing and the walk into them: `a` becomes a link to the sentinel.
          renameSync(join(dir, 'assets', 'a'), join(tempDir(), 'a'));
          symlinkSync(sentinel.dir, join(dir, 'assets', 'a'));
        }
        return folder.entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
      },
      (path, error) => errors.push([path, error]),
    );
    expect(errors).toEqual([['assets/a', expect.objectContaining({ code: 'ELOOP' })]]);
    expect(seen.some((path) => path.includes('keep.txt') || path.includes('nested'))).toBe(false);
    expect(seen).toContain('assets/b/file.txt');
  });

  it('walks folders without reading the bytes of a file whose folder was moved out of the project during the walk', () => {
    const { dir, files } = project();
    const outside = tempDir();
    const read: unknown[] = [];
    files.walkFolders(
      'assets',
      (folder) => {
        if (folder.path === 'assets/a') {
          renameSync(join(dir, 'assets', 'a'), join(outside, 'a'));
          writeFileSync(join(outside, 'a', 'file.txt'), 'outside secret');
          try {
            read.push(folder.readText('file.txt', 100));
          } catch (error) {
            read.push(error);
          }
        }
        return folder.entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
      },
      () => undefined,
    );
    expect(read).toEqual([expect.objectContaining({ code: 'EOUTSIDE' })]);
  });

  it('walks a tree nested deeper than the descriptors it keeps, with the same checks below that depth', () => {
    const { dir, files } = project();
    const levels = Array.from({ length: 150 }, (_, index) => `l${index}`);
    mkdirSync(join(dir, 'assets', ...levels), { recursive: true });
    writeFileSync(join(dir, 'assets', ...levels, 'deep.txt'), 'deepest');
    symlinkSync(sentinel.dir, join(dir, 'assets', ...levels.slice(0, 120), 'link'));
    const texts: string[] = [];
    const folders: string[] = [];
    files.walkFolders(
      'assets',
      (folder) => {
        folders.push(folder.path);
        if (folder.entries.some((entry) => entry.name === 'deep.txt')) texts.push(folder.readText('deep.txt', 100));
        return folder.entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
      },
      () => undefined,
    );
    expect(texts).toEqual(['deepest']);
    expect(folders).toHaveLength(1 + 1 + 150);
    expect(folders.some((path) => path.endsWith('/link'))).toBe(false);
  });

  it('creates, writes and renames nothing through a link on the way, and names the intended path in errors', async () => {
    const { dir, files } = project();
    symlinkSync(sentinel.dir, join(dir, 'assets', 'way'));
    await expect(files.makeFolders('assets/way/new/deeper')).rejects.toMatchObject({ code: 'ELOOP' });
    await expect(files.writeFileAtomic('assets/way/x.txt', 'x', { createParents: true })).rejects.toMatchObject({
      code: 'ELOOP',
    });
    await expect(files.rename('assets/a', 'assets/way/a')).rejects.toMatchObject({ code: 'ELOOP' });
    expect(existsSync(join(dir, 'assets', 'a', 'file.txt'))).toBe(true);
    await expect(files.unlink('assets/a/missing')).rejects.toMatchObject({
      code: 'ENOENT',
      path: join(files.root, 'assets', 'a', 'missing'),
    });
    await expect(files.unlink('assets/a/missing')).rejects.not.toThrow('/proc/self/fd');
    sentinel.check();
  });

  it('writes atomically the same bytes whether the data is small (written by the calling thread) or large, whole or in pieces, and leaves no temporary file', async () => {
    const { dir, files } = project();
    // Around the size up to which the temporary file is written synchronously (64 KiB), in characters and in bytes.
    const texts = ['x', 'é'.repeat(30_000), 'é'.repeat(40_000), 'a'.repeat(64 * 1024), 'a'.repeat(64 * 1024 + 1)];
    for (const [index, text] of texts.entries()) {
      const bytes = Buffer.from(text, 'utf8');
      await files.writeFileAtomic(`assets/a/text-${index}.txt`, text);
      expect(readFileSync(join(dir, 'assets', 'a', `text-${index}.txt`)).equals(bytes)).toBe(true);
      await files.writeFileAtomic(`assets/a/bytes-${index}.bin`, bytes);
      expect(readFileSync(join(dir, 'assets', 'a', `bytes-${index}.bin`)).equals(bytes)).toBe(true);
      const pieces = [bytes.subarray(0, 7), new Uint8Array(0), bytes.subarray(7)];
      const prepared = await files.prepareFileAtomic(`assets/a/file.txt`, pieces, { stageIn: 'assets' });
      expect(readFileSync(join(dir, 'assets', 'a', 'file.txt'), 'utf8')).toBe('inside');
      await prepared.commit();
      expect(readFileSync(join(dir, 'assets', 'a', 'file.txt')).equals(bytes)).toBe(true);
      writeFileSync(join(dir, 'assets', 'a', 'file.txt'), 'inside');
    }
    const leftovers = [...readdirSync(join(dir, 'assets')), ...readdirSync(join(dir, 'assets', 'a'))];
    expect(leftovers.filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const abandoned = await files.prepareFileAtomic('assets/a/file.txt', 'never in place');
    await abandoned.abandon();
    expect(readFileSync(join(dir, 'assets', 'a', 'file.txt'), 'utf8')).toBe('inside');
    expect(readdirSync(join(dir, 'assets', 'a')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('makes missing folders one at a time and reports which it made', async () => {
    const { files } = project();
    expect(await files.makeFolders('assets/a/b/c')).toEqual(['assets/a/b', 'assets/a/b/c']);
    expect(await files.at('assets').makeFolders('a/b/c/d')).toEqual(['a/b/c/d']);
  });

  it('removes a tree without following the links inside it', async () => {
    const { dir, files } = project();
    mkdirSync(join(dir, 'assets', 'a', 'deep', 'er'), { recursive: true });
    symlinkSync(sentinel.dir, join(dir, 'assets', 'a', 'deep', 'er', 'out'));
    symlinkSync(join(sentinel.dir, 'keep.txt'), join(dir, 'assets', 'a', 'deep', 'file'));
    await files.removeTree('assets/a');
    expect(readdirSync(join(dir, 'assets'))).toEqual([]);
    expect(readFileSync(join(sentinel.dir, 'keep.txt'), 'utf8')).toBe('the sentinel must not change\n');
    sentinel.check();
  });
});
