/**
 * Helpers of the adversarial tests: a sentinel folder outside the project that must never change, real
 * mounts (a small tmpfs, a read-only bind mount) that need root, and a fault injected as an errno error.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import {
  answerOf,
  initialize,
  Notifier,
  spawnServer,
  treeDifferences,
  treeOf,
  type ServerProcess,
} from '../lane/support.js';

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

/** What the adversarial suites against the real server share (see {@link useAdversarialSuite}). */
export interface AdversarialSuite {
  /** The sentinel of this suite, made before its first test. */
  readonly sentinel: Sentinel;
  /** Servers to kill after the test that started them. */
  readonly servers: ServerProcess[];
  /** Mounts to unmount after the test that made them. */
  readonly mounts: Mount[];
  /** Spawns the real server, initializes it on `dir` and returns the project's id. */
  start(dir: string): Promise<{ server: ServerProcess; projectId: string }>;
  /** A request answered within the bound, or a failed test. */
  request<T>(server: ServerProcess, method: string, params: unknown): Promise<T>;
}

/**
 * Registers the hooks of an adversarial suite (call it inside `describe`): a sentinel made before the first
 * test and checked after the last (and after every test with `checkEachTest`), and, after each test, its
 * servers killed and its mounts unmounted.
 */
export function useAdversarialSuite(options: { readonly checkEachTest?: boolean } = {}): AdversarialSuite {
  const servers: ServerProcess[] = [];
  const mounts: Mount[] = [];
  let sentinel: Sentinel | undefined;
  beforeAll(() => {
    sentinel = makeSentinel();
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.dispose();
      await server.kill();
    }
    for (const mount of mounts.splice(0)) mount.unmount();
    if (options.checkEachTest === true) sentinel?.check();
  });
  afterAll(() => {
    sentinel?.check();
    sentinel?.remove();
  });
  return {
    get sentinel(): Sentinel {
      if (sentinel === undefined) throw new Error('the sentinel is made before the first test');
      return sentinel;
    },
    servers,
    mounts,
    async start(dir) {
      const server = spawnServer(new Notifier());
      servers.push(server);
      const projectId = await answerOf(server, initialize(server, dir), 'initialize');
      return { server, projectId };
    },
    request<T>(server: ServerProcess, method: string, params: unknown): Promise<T> {
      return answerOf(server, server.connection.sendRequest(method, params) as Promise<T>, method);
    },
  };
}
