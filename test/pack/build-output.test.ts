/** Writing build/: staged, flushed, promoted whole, and left exactly as it was when anything fails. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeBuildOutputs } from '../../server/src/pack/build-output.js';
import { useTempDirs } from '../support/workspace-builder.js';

const tempDir = useTempDirs('pack-build-');

/** Every entry of build/ (hidden ones included) with its content. */
function contentsOf(buildDir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(buildDir)
      .sort()
      .map((name) => [name, readFileSync(join(buildDir, name), 'utf8')]),
  );
}

function withOldBuild(): { root: string; build: string; before: Record<string, string> } {
  const root = tempDir();
  const build = join(root, 'build');
  mkdirSync(build);
  writeFileSync(join(build, 'a.json'), 'old a\n');
  writeFileSync(join(build, 'c.bin'), 'old c');
  writeFileSync(join(build, 'notes.txt'), 'not an artifact');
  return { root, build, before: contentsOf(build) };
}

const ARTIFACTS = { 'a.json': 'new a\n', 'b.json': 'new b\n', 'c.bin': Uint8Array.of(1, 2, 3) };

describe('writeBuildOutputs', () => {
  it('creates build/ and returns each artifact with its size and SHA-256, leaving no staging behind', async () => {
    const root = tempDir();
    const written = await writeBuildOutputs(root, ARTIFACTS);
    expect(written).toEqual([
      { name: 'a.json', size: 6, sha256: createHash('sha256').update('new a\n').digest('hex') },
      { name: 'b.json', size: 6, sha256: createHash('sha256').update('new b\n').digest('hex') },
      {
        name: 'c.bin',
        size: 3,
        sha256: createHash('sha256')
          .update(Uint8Array.of(1, 2, 3))
          .digest('hex'),
      },
    ]);
    expect(readdirSync(join(root, 'build')).sort()).toEqual(['a.json', 'b.json', 'c.bin']);
    expect([...readFileSync(join(root, 'build', 'c.bin'))]).toEqual([1, 2, 3]);
  });

  it('names the SHA-256 of an artifact of several MiB, hashed in slices, as that of its bytes on disk', async () => {
    const root = tempDir();
    const large = Uint8Array.from({ length: 3 * 1024 * 1024 + 17 }, (_, index) => (index * 31) & 0xff);
    const text = 'x'.repeat(2 * 1024 * 1024 + 5);
    const written = await writeBuildOutputs(root, { 'large.bin': large, 'large.txt': text });
    for (const artifact of written)
      expect(artifact.sha256).toBe(
        createHash('sha256')
          .update(readFileSync(join(root, 'build', artifact.name)))
          .digest('hex'),
      );
    expect(written.map((artifact) => artifact.size)).toEqual([large.length, text.length]);
  });

  it('replaces existing artifacts and leaves other files of build/ alone', async () => {
    const { root, build } = withOldBuild();
    await writeBuildOutputs(root, ARTIFACTS);
    expect(contentsOf(build)).toEqual({
      'a.json': 'new a\n',
      'b.json': 'new b\n',
      'c.bin': '\u0001\u0002\u0003',
      'notes.txt': 'not an artifact',
    });
  });

  it('a failure while staging leaves build/ exactly as it was and removes the staging folder', async () => {
    const { root, build, before } = withOldBuild();
    const failure = writeBuildOutputs(root, ARTIFACTS, {
      onStep: (step, name) => {
        if (step === 'artifact' && name === 'b.json') throw new Error('disk full');
      },
    });
    await expect(failure).rejects.toThrow('disk full');
    expect(contentsOf(build)).toEqual(before);
  });

  it('a failure while staging into a project without build/ leaves no build/ behind', async () => {
    const root = tempDir();
    await expect(
      writeBuildOutputs(root, ARTIFACTS, { onStep: () => Promise.reject(new Error('disk full')) }),
    ).rejects.toThrow('disk full');
    expect(existsSync(join(root, 'build'))).toBe(false);
  });

  it('a failure after the old build/ was moved aside puts it back whole and removes the staged pack', async () => {
    const { root, build, before } = withOldBuild();
    const failure = writeBuildOutputs(root, ARTIFACTS, {
      onStep: (step) => {
        if (step === 'old-moved-aside') throw new Error('rename failed');
      },
    });
    await expect(failure).rejects.toThrow('rename failed');
    expect(contentsOf(build)).toEqual(before);
    expect(readdirSync(root)).toEqual(['build']);
  });

  it('a target that cannot be replaced (a folder in the way) fails before any file of build/ changes', async () => {
    const { root, build } = withOldBuild();
    mkdirSync(join(build, 'b.json'));
    const before = readdirSync(build).sort();
    await expect(writeBuildOutputs(root, ARTIFACTS)).rejects.toThrow();
    expect(readdirSync(build).sort()).toEqual(before);
    expect(readFileSync(join(build, 'a.json'), 'utf8')).toBe('old a\n');
  });

  it('removes a staging folder left behind by a crashed write', async () => {
    const { root, build } = withOldBuild();
    mkdirSync(join(build, '.staging-deadbeef'));
    writeFileSync(join(build, '.staging-deadbeef', 'a.json'), 'half');
    await writeBuildOutputs(root, ARTIFACTS);
    expect(readdirSync(build).sort()).toEqual(['a.json', 'b.json', 'c.bin', 'notes.txt']);
  });

  it('refuses an artifact name that is not a plain file name before touching anything', async () => {
    const root = tempDir();
    await expect(writeBuildOutputs(root, { '../escape.txt': 'x' })).rejects.toThrow(
      'is not a plain artifact file name',
    );
    await expect(writeBuildOutputs(root, { '.staging-x': 'x' })).rejects.toThrow('is not a plain artifact file name');
    expect(existsSync(join(root, 'build'))).toBe(false);
  });
});
