/**
 * Helpers of the adversarial tests: a sentinel folder outside the project that must never change, real
 * mounts (a small tmpfs, a read-only bind mount) that need root, and a fault injected as an errno error.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { treeDifferences, treeOf } from '../lane/support.js';

/** A folder outside every project with a few files; {@link Sentinel.check} asserts it is byte-for-byte unchanged. */
export interface Sentinel {
  readonly dir: string;
  check(): void;
  remove(): void;
}

/** Makes a sentinel folder under the system temp folder. */
export function makeSentinel(): Sentinel {
  const dir = mkdtempSync(join(tmpdir(), 'packer-sentinel-'));
  mkdirSync(join(dir, 'nested'));
  writeFileSync(join(dir, 'keep.txt'), 'the sentinel must not change\n');
  writeFileSync(join(dir, 'nested', 'data.bin'), Buffer.from([0, 1, 2, 3]));
  const before = treeOf(dir);
  return {
    dir,
    check: () => expect(treeDifferences(before, treeOf(dir))).toEqual([]),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Whether this process runs as root (CI does; real mounts need it). */
export const IS_ROOT = process.getuid?.() === 0;

/**
 * Fails the calling test with the reason when not root: a test that needs a real mount must say so rather
 * than pass without having run (`.ci/run` runs as root).
 */
export function requireRoot(why: string): void {
  if (!IS_ROOT) throw new Error(`This test needs root (uid 0) because ${why}; run it as root, as .ci/run does.`);
}

/** A mounted folder; {@link Mount.unmount} is safe to call twice. */
export interface Mount {
  readonly dir: string;
  unmount(): void;
}

/** Mounts a tmpfs of `size` (for example `2m`) on a fresh folder. */
export function mountTmpfs(size: string, extra = ''): Mount {
  const dir = mkdtempSync(join(tmpdir(), 'packer-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${extra}`, 'tmpfs', dir]);
  let mounted = true;
  return {
    dir,
    unmount: () => {
      if (mounted) execFileSync('umount', ['-l', dir]);
      mounted = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A read-only bind mount that can be made writable in place (the disk "becomes writable"). */
export interface ReadOnlyMount extends Mount {
  /** Remounts the folder read-write, at the same path, while processes keep it open. */
  makeWritable(): void;
}

/** Bind-mounts `source` read-only on a fresh folder. */
export function mountReadOnly(source: string): ReadOnlyMount {
  const dir = mkdtempSync(join(tmpdir(), 'packer-ro-'));
  execFileSync('mount', ['--bind', source, dir]);
  execFileSync('mount', ['-o', 'remount,ro,bind', dir]);
  let mounted = true;
  return {
    dir,
    makeWritable: () => execFileSync('mount', ['-o', 'remount,rw,bind', dir]),
    unmount: () => {
      if (mounted) execFileSync('umount', ['-l', dir]);
      mounted = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the file system holding `dir` until a write fails with ENOSPC; returns the filler's path. */
export function fillDisk(dir: string): string {
  const filler = join(dir, `.filler-${process.pid}-${Math.random().toString(16).slice(2)}`);
  const chunk = Buffer.alloc(64 * 1024, 7);
  let written = 0;
  try {
    for (;;) {
      writeFileSync(filler, chunk, { flag: written === 0 ? 'w' : 'a' });
      written++;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  // Small writes may still fit in a partly used block; fill those too.
  try {
    for (;;) writeFileSync(filler, Buffer.alloc(512, 7), { flag: 'a' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  return filler;
}

/** An error as the file system raises it, for faults injected through a step hook. */
export function errnoError(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected fault, '${path}'`), { code, path, syscall: 'write' });
}
