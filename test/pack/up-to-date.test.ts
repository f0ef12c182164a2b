/**
 * A pack with nothing changed keeps `build/` as it is and says so (`upToDate`); any change (an input, an
 * artifact in `build/`, the cache record) makes it write again, byte-identical to a clean pack. Also: the
 * cache is filled by the time a pack answers.
 */
import {
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PackerHost } from '../../server/src/index.js';
import { PACK_CACHE_PATH } from '../../server/src/pack/pack.js';
import { PACK_STATE_FILE, upToDateState } from '../../server/src/pack/pack-state.js';
import type { Project } from '../../server/src/project/project.js';
import { packOperation, type PackResponse } from '../../server/src/writes/pack-project.js';
import { reconcileOperation } from '../../server/src/writes/reconcile.js';
import type { WatcherFactory, WatchListener } from '../../server/src/watch/watcher.js';
import { useTempDirs, writeProject, type AssetSpec } from '../support/workspace-builder.js';
import { waitFor } from '../watch/support.js';
import { makeWav } from './pack-fixtures.js';

const tempDir = useTempDirs('pack-up-to-date-');

const ARTIFACTS = ['assets.pa', 'asset_table.json', 'asset_table_metadata.json', 'preload.json'];

const ASSETS: AssetSpec[] = [
  { root: 'misc/hello', files: { 'data.bin': 'hello' } },
  { root: 'misc/world', files: { 'data.bin': 'world' } },
  { root: 'audio/sfx', type: 'sound_bank', inputs: { samples: ['a.wav'] }, files: { 'a.wav': makeWav() } },
];

/** Bytes and modification times of every artifact in `build/`. */
function buildState(root: string): Record<string, { bytes: string; mtimeNs: bigint; ino: bigint }> {
  const state: Record<string, { bytes: string; mtimeNs: bigint; ino: bigint }> = {};
  for (const name of ARTIFACTS) {
    const path = join(root, 'build', name);
    const stats = statSync(path, { bigint: true });
    state[name] = { bytes: readFileSync(path).toString('base64'), mtimeNs: stats.mtimeNs, ino: stats.ino };
  }
  return state;
}

function bytesOf(root: string): Record<string, string> {
  return Object.fromEntries(
    ARTIFACTS.map((name) => [name, readFileSync(join(root, 'build', name)).toString('base64')]),
  );
}

async function pack(project: Project, operationId: string, incremental?: boolean): Promise<PackResponse> {
  const outcome = await project.lane.enqueue(
    packOperation(project, operationId, {
      projectId: project.id,
      ...(incremental === undefined ? {} : { incremental }),
    }),
  );
  if ((outcome.status !== 'succeeded' && outcome.status !== 'failed') || !('response' in outcome))
    expect.fail(JSON.stringify(outcome));
  return outcome.response;
}

async function withProject(
  test: (project: Project, root: string, assetsDir: string) => Promise<void>,
  watcher: WatcherFactory | null = null,
): Promise<void> {
  const written = writeProject(tempDir(), { assets: ASSETS });
  const host = new PackerHost({ watcher, epoch: 'up-to-date', now: () => new Date(0) });
  try {
    const project = await host.open(pathToFileURL(written.root).href);
    await project.validationSettled();
    await test(project, written.root, written.assetsDir);
  } finally {
    host.dispose();
  }
}

describe('a pack with nothing changed', () => {
  it('leaves build/ untouched (bytes, inodes and mtimes) and answers succeeded with upToDate and the same artifacts', async () => {
    await withProject(async (project, root) => {
      const first = await pack(project, 'pack-1');
      expect(first).toMatchObject({ outcome: 'succeeded', materialized: 3 });
      expect(first.upToDate).toBeUndefined();
      const before = buildState(root);

      const second = await pack(project, 'pack-2');
      expect(second).toMatchObject({ outcome: 'succeeded', upToDate: true, materialized: 0, fromCache: 0 });
      expect(second.artifacts).toEqual(first.artifacts);
      expect(second.assets).toEqual(first.assets.map((asset) => ({ ...asset, fromCache: false })));
      expect(buildState(root)).toEqual(before);
      // And again: the record the second pack may have restamped still proves it.
      expect((await pack(project, 'pack-3')).upToDate).toBe(true);
      expect(buildState(root)).toEqual(before);
    });
  });

  it('is never claimed by a pack without the cache (incremental: false), which writes build/ again', async () => {
    await withProject(async (project, root) => {
      await pack(project, 'pack-1');
      const before = buildState(root);
      const clean = await pack(project, 'pack-2', false);
      expect(clean.upToDate).toBeUndefined();
      expect(clean.outcome).toBe('succeeded');
      const after = buildState(root);
      expect(after['assets.pa']!.ino).not.toBe(before['assets.pa']!.ino);
      expect(bytesOf(root)).toEqual(Object.fromEntries(ARTIFACTS.map((name) => [name, before[name]!.bytes])));
    });
  });
});

describe('a pack after a change writes again, byte-identical to a clean pack', () => {
  it('rewrites build/ when one input changed and was reconciled', async () => {
    await withProject(async (project, root, assetsDir) => {
      await pack(project, 'pack-1');
      writeFileSync(join(assetsDir, 'misc/world/data.bin'), 'WORLD!');
      await project.lane.enqueue(reconcileOperation(project, 'reconcile-1'));
      await project.validationSettled();

      const incremental = await pack(project, 'pack-2');
      // Both blobs are materialised (a blob is never cached: its payload is its input); the sound comes from the cache.
      expect(incremental).toMatchObject({ outcome: 'succeeded', materialized: 2, fromCache: 1 });
      expect(incremental.upToDate).toBeUndefined();
      const written = bytesOf(root);
      const clean = await pack(project, 'pack-3', false);
      expect(clean.revision).toBe(incremental.revision);
      expect(bytesOf(root)).toEqual(written);
      expect(clean.artifacts).toEqual(incremental.artifacts);
    });
  });

  it('does not claim up to date when an input changed behind its back, and reports the divergence', async () => {
    await withProject(async (project, root, assetsDir) => {
      await pack(project, 'pack-1');
      const before = buildState(root);
      writeFileSync(join(assetsDir, 'misc/hello/data.bin'), 'HELLO');
      const second = await pack(project, 'pack-2');
      expect(second).toMatchObject({ outcome: 'failed', failure: 'diverged', divergedPaths: ['misc/hello/data.bin'] });
      expect(buildState(root)).toEqual(before);
    });
  });

  it('rewrites a deleted build/assets.pa', async () => {
    await withProject(async (project, root) => {
      await pack(project, 'pack-1');
      const clean = bytesOf(root);
      rmSync(join(root, 'build', 'assets.pa'));
      const second = await pack(project, 'pack-2');
      expect(second.outcome).toBe('succeeded');
      expect(second.upToDate).toBeUndefined();
      expect(bytesOf(root)).toEqual(clean);
      expect((await pack(project, 'pack-3')).upToDate).toBe(true);
    });
  });

  it('rewrites a build/assets.pa edited in place with the same size', async () => {
    await withProject(async (project, root) => {
      await pack(project, 'pack-1');
      const clean = bytesOf(root);
      const path = join(root, 'build', 'assets.pa');
      const edited = readFileSync(path);
      edited[edited.length - 1] = edited[edited.length - 1]! ^ 0xff;
      writeFileSync(path, edited);
      const second = await pack(project, 'pack-2');
      expect(second.upToDate).toBeUndefined();
      expect(bytesOf(root)).toEqual(clean);
    });
  });

  it('rewrites build/ when the pack record is missing or unreadable', async () => {
    await withProject(async (project, root, assetsDir) => {
      await pack(project, 'pack-1');
      const clean = bytesOf(root);
      const record = join(assetsDir, PACK_CACHE_PATH, PACK_STATE_FILE);
      writeFileSync(record, '{"version": 1, "key": ');
      expect((await pack(project, 'pack-2')).upToDate).toBeUndefined();
      rmSync(record);
      expect((await pack(project, 'pack-3')).upToDate).toBeUndefined();
      expect(bytesOf(root)).toEqual(clean);
      expect((await pack(project, 'pack-4')).upToDate).toBe(true);
    });
  });
});

describe('the cache filled alongside the pack', () => {
  it('holds the entry of every cached asset (the sound bank; blobs are not cached), and no temporary file, once the pack has answered', async () => {
    await withProject(async (project, _root, assetsDir) => {
      await pack(project, 'pack-1');
      const names = readdirSync(join(assetsDir, PACK_CACHE_PATH)).sort();
      expect(names.filter((name) => name.endsWith('.bin'))).toHaveLength(1);
      expect(names.filter((name) => name.endsWith('.tmp'))).toEqual([]);
      expect(names).toContain(PACK_STATE_FILE);
    });
  });
});

describe('an up-to-date answer is only given when it can be trusted', () => {
  it('is not given for a snapshot at another revision than the one packed, even with the same content', async () => {
    await withProject(async (project) => {
      await pack(project, 'pack-1');
      const snapshot = project.snapshot();
      const where = {
        root: project.fs,
        assets: project.assetsFs,
        cache: project.assetsFs.at(PACK_CACHE_PATH),
      };
      expect(await upToDateState(snapshot, where)).not.toBeNull();
      expect(await upToDateState({ ...snapshot, revision: snapshot.revision + 1 }, where)).toBeNull();
    });
  });

  it('is not given while the watcher reports a divergence, even one no input of the pack is part of', async () => {
    const listeners: WatchListener[] = [];
    const watcher: WatcherFactory = (_assetsDir, listener) => {
      listeners.push(listener);
      return Promise.resolve({ backend: 'none', close: () => Promise.resolve() });
    };
    await withProject(async (project, _root, assetsDir) => {
      await waitFor(() => project.watch.state === 'watching', 'the watcher to be armed');
      await pack(project, 'pack-1');
      expect((await pack(project, 'pack-2')).upToDate).toBe(true);
      mkdirSync(join(assetsDir, 'misc/new'));
      writeFileSync(join(assetsDir, 'misc/new/notes.txt'), 'not an input of anything');
      for (const listener of listeners) listener.onChanges(['misc/new/notes.txt']);
      await waitFor(() => project.watch.divergence().diverged, 'the divergence to be noticed');
      expect((await pack(project, 'pack-3')).upToDate).toBeUndefined();
    }, watcher);
  });

  it('is not given when a promotion left a staged or moved-aside pack beside build/; the pack then cleans up', async () => {
    await withProject(async (project, root) => {
      await pack(project, 'pack-1');
      const clean = bytesOf(root);
      mkdirSync(join(root, '.build-next-0123456789abcdef'));
      const second = await pack(project, 'pack-2');
      expect(second.upToDate).toBeUndefined();
      expect(readdirSync(root).filter((name) => name.startsWith('.build-'))).toEqual([]);
      expect(bytesOf(root)).toEqual(clean);
    });
  });

  it('is not given when build/ was replaced by a link to a copy of itself; the pack refuses to write through it', async () => {
    await withProject(async (project, root) => {
      await pack(project, 'pack-1');
      const elsewhere = join(tempDir(), 'build-copy');
      renameSync(join(root, 'build'), elsewhere);
      symlinkSync(elsewhere, join(root, 'build'));
      const copy = Object.fromEntries(ARTIFACTS.map((name) => [name, readFileSync(join(elsewhere, name))]));
      const outcome = await project.lane.enqueue(packOperation(project, 'pack-2', { projectId: project.id }));
      // A WriteFailed error, not an answer: and the folder the link points at is left exactly as it was.
      expect(outcome.status).toBe('error');
      expect(JSON.stringify(outcome)).not.toContain('"upToDate"');
      for (const name of ARTIFACTS) expect(readFileSync(join(elsewhere, name))).toEqual(copy[name]);
    });
  });

  it('is not given when a folder on the way to the inputs was moved out of the project and linked back, every file in it unchanged', async () => {
    await withProject(async (project, _root, assetsDir) => {
      // Settled stamps, so that the check takes them alone and reads no input (a racy one is read, confined).
      const files = readdirSync(assetsDir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile());
      await waitFor(
        () =>
          files.every((entry) => {
            const stats = statSync(join(entry.parentPath, entry.name), { bigint: true });
            const changed = stats.mtimeNs > stats.ctimeNs ? stats.mtimeNs : stats.ctimeNs;
            return BigInt(Date.now()) * 1_000_000n - changed > 1_100_000_000n;
          }),
        'the inputs to settle',
      );
      await pack(project, 'pack-1');
      expect((await pack(project, 'pack-2')).upToDate).toBe(true);
      const elsewhere = join(tempDir(), 'misc-moved');
      renameSync(join(assetsDir, 'misc'), elsewhere);
      symlinkSync(elsewhere, join(assetsDir, 'misc'));
      const third = await pack(project, 'pack-3');
      expect(third.upToDate).toBeUndefined();
      expect(third.outcome).not.toBe('succeeded');
    });
  });

  it('is not given when an asset folder was moved out of the project and linked back, though the folder above it was recorded as settled', async () => {
    await withProject(async (project, _root, assetsDir) => {
      // Every file and folder settled, so that the record keeps the stamp of misc/ and the check trusts it.
      const entries = readdirSync(assetsDir, { recursive: true, withFileTypes: true });
      const paths = [assetsDir, ...entries.map((entry) => join(entry.parentPath, entry.name))];
      await waitFor(
        () =>
          paths.every((path) => {
            const stats = statSync(path, { bigint: true });
            const changed = stats.mtimeNs > stats.ctimeNs ? stats.mtimeNs : stats.ctimeNs;
            return BigInt(Date.now()) * 1_000_000n - changed > 1_100_000_000n;
          }),
        'the files and folders to settle',
      );
      await pack(project, 'pack-1');
      const record = JSON.parse(readFileSync(join(assetsDir, PACK_CACHE_PATH, PACK_STATE_FILE), 'utf8')) as {
        folders: Record<string, string>;
      };
      expect(Object.keys(record.folders).sort()).toEqual(['', 'audio', 'misc']);
      expect((await pack(project, 'pack-2')).upToDate).toBe(true);
      const elsewhere = join(tempDir(), 'hello-moved');
      renameSync(join(assetsDir, 'misc', 'hello'), elsewhere);
      symlinkSync(elsewhere, join(assetsDir, 'misc', 'hello'));
      const third = await pack(project, 'pack-3');
      expect(third.upToDate).toBeUndefined();
      expect(third.outcome).not.toBe('succeeded');
    });
  });

  it('ignores a record that is a link (to a forged record) and writes build/ again', async () => {
    await withProject(async (project, root, assetsDir) => {
      await pack(project, 'pack-1');
      const clean = bytesOf(root);
      const record = join(assetsDir, PACK_CACHE_PATH, PACK_STATE_FILE);
      const forged = join(tempDir(), 'forged.json');
      writeFileSync(forged, readFileSync(record));
      rmSync(record);
      symlinkSync(forged, record);
      const before = buildState(root);
      const second = await pack(project, 'pack-2');
      expect(second.upToDate).toBeUndefined();
      expect(buildState(root)['assets.pa']!.ino).not.toBe(before['assets.pa']!.ino);
      expect(bytesOf(root)).toEqual(clean);
    });
  });

  it('never writes through a cache folder that is a link: nothing lands outside, and the pack still succeeds', async () => {
    await withProject(async (project, root, assetsDir) => {
      const outside = join(tempDir(), 'outside-cache');
      mkdirSync(outside);
      mkdirSync(join(assetsDir, PACK_CACHE_PATH, '..'), { recursive: true });
      rmSync(join(assetsDir, PACK_CACHE_PATH), { recursive: true, force: true });
      symlinkSync(outside, join(assetsDir, PACK_CACHE_PATH));
      const first = await pack(project, 'pack-1');
      expect(first).toMatchObject({ outcome: 'succeeded', materialized: 3 });
      const second = await pack(project, 'pack-2');
      expect(second).toMatchObject({ outcome: 'succeeded', materialized: 3 });
      expect(second.upToDate).toBeUndefined();
      expect(readdirSync(outside)).toEqual([]);
      expect(readdirSync(join(root, 'build')).sort()).toEqual([...ARTIFACTS].sort());
    });
  });
});
