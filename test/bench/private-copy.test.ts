// Unit tests of the bench's pooled private copies: a copy handed out again is restored to its source's tree, whatever its last user wrote.
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  lstatSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PrivateCopyPool, copyToTemporary, installCopyPool } from '../../bench/src/private-copy.js';
import { checkWatchBudget } from '../../bench/src/issue-suites.js';
import { TimeBudget } from '../../bench/src/time-budget.js';
import type { BenchWorkspace } from '../../bench/src/workspaces.js';

/** Every entry under `dir` as `path kind content`, sorted, so two trees compare as strings. */
function describeTree(dir: string, prefix = ''): string[] {
  const lines: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const stats = lstatSync(path);
    if (stats.isDirectory()) lines.push(`${prefix}${name}/`, ...describeTree(path, `${prefix}${name}/`));
    else if (stats.isSymbolicLink()) lines.push(`${prefix}${name} -> ${readlinkSync(path)}`);
    else lines.push(`${prefix}${name} = ${readFileSync(path, 'utf8')}`);
  }
  return lines;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function sourceTree(): string {
  const parent = mkdtempSync(join(tmpdir(), 'private-copy-test-'));
  cleanups.push(() => rmSync(parent, { recursive: true, force: true }));
  const source = join(parent, 'source');
  mkdirSync(join(source, 'assets', 'a', 'deep'), { recursive: true });
  mkdirSync(join(source, 'assets', 'b'), { recursive: true });
  writeFileSync(join(source, 'assets', 'a', 'asset.json'), '{"a":1}\n');
  writeFileSync(join(source, 'assets', 'a', 'deep', 'blob.bin'), 'blob');
  writeFileSync(join(source, 'assets', 'b', 'asset.json'), '{"b":2}\n');
  writeFileSync(join(source, 'marker.json'), 'marker');
  symlinkSync('a/asset.json', join(source, 'assets', 'link'));
  return source;
}

describe('PrivateCopyPool', () => {
  it('hands the same copy out again restored after in-place writes, new and deleted files, and moved folders', () => {
    const source = sourceTree();
    const expected = describeTree(source);
    const pool = new PrivateCopyPool();
    cleanups.push(() => pool.dispose());
    const first = pool.acquire(source, 'test');
    expect(describeTree(first.projectDir)).toEqual(expected);
    const assets = join(first.projectDir, 'assets');
    writeFileSync(join(assets, 'a', 'deep', 'blob.bin'), 'rewritten');
    writeFileSync(join(assets, 'b', 'new.txt'), 'new');
    rmSync(join(assets, 'a', 'asset.json'));
    renameSync(join(assets, 'b'), join(assets, 'moved'));
    mkdirSync(join(first.projectDir, 'build', 'cache'), { recursive: true });
    writeFileSync(join(first.projectDir, 'build', 'cache', 'x'), 'x');
    rmSync(join(assets, 'link'));
    mkdirSync(join(assets, 'link'));
    renameSync(join(first.projectDir, 'marker.json'), join(first.projectDir, 'marker.aside'));
    first.remove();

    const second = pool.acquire(source, 'test');
    expect(second.projectDir).toBe(first.projectDir);
    expect(describeTree(second.projectDir)).toEqual(expected);
    second.remove();
    expect(pool.restores).toHaveLength(1);
    expect(pool.restores[0]!.copiedBack).toBeGreaterThan(0);
    expect(pool.restores[0]!.deleted).toBeGreaterThan(0);
  });

  it('copies nothing back when the last user wrote nothing', () => {
    const source = sourceTree();
    const pool = new PrivateCopyPool();
    cleanups.push(() => pool.dispose());
    pool.acquire(source, 'test').remove();
    pool.acquire(source, 'test').remove();
    expect(pool.restores[0]).toMatchObject({ copiedBack: 0, deleted: 0 });
  });

  it('gives a second user of a held copy a fresh one of its own', () => {
    const source = sourceTree();
    const pool = new PrivateCopyPool();
    cleanups.push(() => pool.dispose());
    const held = pool.acquire(source, 'test');
    const other = pool.acquire(source, 'test');
    cleanups.push(() => other.remove());
    expect(other.projectDir).not.toBe(held.projectDir);
    expect(describeTree(other.projectDir)).toEqual(describeTree(source));
  });

  it('serves copyToTemporary while installed, and deletes its copies on dispose', () => {
    const source = sourceTree();
    const pool = new PrivateCopyPool();
    installCopyPool(pool);
    cleanups.push(() => installCopyPool(undefined));
    const copy = copyToTemporary(source, 'test');
    copy.remove();
    expect(copyToTemporary(source, 'test').projectDir).toBe(copy.projectDir);
    pool.dispose();
    expect(() => lstatSync(copy.projectDir)).toThrow();
  });
});

describe('checkWatchBudget', () => {
  const workspace = {
    projectDir: '/nowhere',
    summary: { roots: 100_000, folders: 105_568 },
    generationSeconds: 0,
  } as unknown as BenchWorkspace;

  it('names the sysctl when the inotify budget cannot hold one watch per folder', () => {
    expect(() => checkWatchBudget(workspace, () => '65536\n')).toThrow(
      /fs\.inotify\.max_user_watches is 65536, below the 105568 folders/,
    );
  });

  it('lets a budget that holds every folder through, and says whether it holds a second subscription of the tree', () => {
    expect(checkWatchBudget(workspace, () => '524288\n')).toEqual({ holdsTwo: true });
    // This machine's limit before it was raised: the server's watches fit, a second subscription of the tree would not.
    expect(checkWatchBudget(workspace, () => '192536\n')).toEqual({ holdsTwo: false });
  });
});

describe('PrivateCopyPool keeping its copies between runs', () => {
  function keepFolder(): string {
    const folder = mkdtempSync(join(tmpdir(), 'private-copy-kept-'));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    return folder;
  }

  it('hands the copy a previous pool kept to the next pool, restored to the source, instead of copying again', () => {
    const source = sourceTree();
    const expected = describeTree(source);
    const keepIn = keepFolder();
    const first = new PrivateCopyPool(() => undefined, keepIn);
    const copy = first.acquire(source, 'test');
    writeFileSync(join(copy.projectDir, 'assets', 'a', 'asset.json'), 'rewritten');
    writeFileSync(join(copy.projectDir, 'assets', 'b', 'new.txt'), 'new');
    copy.remove();
    first.dispose();
    expect(readdirSync(keepIn)).toHaveLength(1);

    const messages: string[] = [];
    const second = new PrivateCopyPool((message) => messages.push(message), keepIn);
    cleanups.push(() => second.dispose());
    const again = second.acquire(source, 'test');
    expect(messages.some((message) => message.includes('kept by an earlier run'))).toBe(true);
    expect(describeTree(again.projectDir)).toEqual(expected);
    expect(second.restores).toHaveLength(1);
    expect(second.restores[0]!.copiedBack).toBeGreaterThan(0);
    // Claimed: a third pool finds nothing kept while the second holds it.
    expect(readdirSync(keepIn)).toHaveLength(0);
    again.remove();
  });

  it('deletes a kept copy whose source was generated again instead of trusting it', () => {
    const source = sourceTree();
    const keepIn = keepFolder();
    const first = new PrivateCopyPool(() => undefined, keepIn);
    first.acquire(source, 'test').remove();
    first.dispose();
    // A regenerated workspace: the same path, other contents, new top-level entries.
    rmSync(join(source, 'marker.json'));
    writeFileSync(join(source, 'marker.json'), 'another generation');
    writeFileSync(join(source, 'assets', 'a', 'asset.json'), '{"a":2}\n');

    const messages: string[] = [];
    const second = new PrivateCopyPool((message) => messages.push(message), keepIn);
    cleanups.push(() => second.dispose());
    const copy = second.acquire(source, 'test');
    expect(messages.some((message) => message.includes('another source or state'))).toBe(true);
    expect(describeTree(copy.projectDir)).toEqual(describeTree(source));
    expect(second.restores).toHaveLength(0);
    copy.remove();
  });
});

describe('TimeBudget', () => {
  it('puts what a suite spent outside its sizes in its once-per-run column', () => {
    const budget = new TimeBudget();
    budget.add('lane', 1_000, 10);
    budget.add('lane', 10_000, 20);
    budget.settle('lane', 45);
    expect(budget.entries()).toEqual([
      { suite: 'lane', roots: 1_000, seconds: 10 },
      { suite: 'lane', roots: 10_000, seconds: 20 },
      { suite: 'lane', seconds: 15 },
    ]);
    const table = budget.format([1_000, 10_000], 50, true);
    expect(table).toContain('| lane | 10 | 20 | 15 | 45 |');
    expect(table).toContain('| the run |  |  | other 5 | 50 |');
  });
});
