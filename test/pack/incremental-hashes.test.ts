/**
 * A pack after some inputs changed hashes only those: every other input still has the settled stamp the last
 * pack recorded, and that pack's hash of it, when it equals the hash validation recorded, is reused.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PackerHost } from '../../server/src/index.js';
import { ProjectFs } from '../../server/src/io/project-fs.js';
import { PACK_CACHE_PATH } from '../../server/src/pack/pack.js';
import { PACK_STATE_FILE, ReadStamps } from '../../server/src/pack/pack-state.js';
import type { Project } from '../../server/src/project/project.js';
import { packOperation, type PackResponse } from '../../server/src/writes/pack-project.js';
import { reconcileOperation } from '../../server/src/writes/reconcile.js';
import { useTempDirs, writeProject, type AssetSpec } from '../support/workspace-builder.js';
import { waitFor } from '../watch/support.js';

const tempDir = useTempDirs('pack-incremental-hashes-');

const ASSETS: AssetSpec[] = [
  { root: 'misc/hello', files: { 'data.bin': 'hello' } },
  { root: 'misc/world', files: { 'data.bin': 'world' } },
];

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function pack(project: Project, operationId: string, incremental?: boolean): Promise<PackResponse> {
  const outcome = await project.lane.enqueue(
    packOperation(project, operationId, {
      projectId: project.id,
      ...(incremental === undefined ? {} : { incremental }),
    }),
  );
  if (outcome.status !== 'succeeded' || !('response' in outcome)) expect.fail(JSON.stringify(outcome));
  return outcome.response;
}

/** One input (`misc/world/data.bin`) rewritten with other bytes, then reconciled and validated. */
async function changeWorldAndReconcile(project: Project, assetsDir: string): Promise<void> {
  writeFileSync(join(assetsDir, 'misc/world/data.bin'), 'WORLD!');
  await project.lane.enqueue(reconcileOperation(project, 'reconcile-1'));
  await project.validationSettled();
}

/** `build/` as `incremental` wrote it is byte for byte what a clean pack (`incremental: false`) writes next. */
async function expectSameAsCleanPack(project: Project, root: string, incremental: PackResponse): Promise<void> {
  const written = readFileSync(join(root, 'build', 'assets.pa'));
  const metadata = readFileSync(join(root, 'build', 'asset_table_metadata.json'));
  const clean = await pack(project, 'pack-3', false);
  expect(clean.artifacts).toEqual(incremental.artifacts);
  expect(readFileSync(join(root, 'build', 'assets.pa'))).toEqual(written);
  expect(readFileSync(join(root, 'build', 'asset_table_metadata.json'))).toEqual(metadata);
}

/**
 * Waits until every input was last changed more than a second ago, so that its stamp is settled (a stamp
 * taken within a second of a change is never trusted alone; see pack-state.ts).
 */
async function untilSettled(assetsDir: string, paths: readonly string[]): Promise<void> {
  const changedNs = (path: string): bigint => {
    const stats = statSync(join(assetsDir, path), { bigint: true });
    return stats.mtimeNs > stats.ctimeNs ? stats.mtimeNs : stats.ctimeNs;
  };
  await waitFor(
    () => paths.every((path) => BigInt(Date.now()) * 1_000_000n - changedNs(path) > 1_100_000_000n),
    'the inputs to settle',
  );
}

/** The input hashes `asset_table_metadata.json` in `build/` records, by input path. */
function metadataHashes(root: string): Record<string, string> {
  const metadata = JSON.parse(readFileSync(join(root, 'build', 'asset_table_metadata.json'), 'utf8')) as {
    assets: { root: string; inputs: { path: string; sha256: string }[] }[];
  };
  return Object.fromEntries(
    metadata.assets.flatMap((asset) => asset.inputs.map((input) => [`${asset.root}/${input.path}`, input.sha256])),
  );
}

async function withProject(test: (project: Project, root: string, assetsDir: string) => Promise<void>): Promise<void> {
  const written = writeProject(tempDir(), { assets: ASSETS });
  const host = new PackerHost({ watcher: null, epoch: 'incremental-hashes', now: () => new Date(0) });
  try {
    await untilSettled(written.assetsDir, ['misc/hello/data.bin', 'misc/world/data.bin']);
    const project = await host.open(pathToFileURL(written.root).href);
    await project.validationSettled();
    await test(project, written.root, written.assetsDir);
  } finally {
    host.dispose();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a pack after one input changed', () => {
  it('takes the unchanged input hash from the last pack and hashes the changed one, writing what a clean pack writes', async () => {
    await withProject(async (project, root, assetsDir) => {
      await pack(project, 'pack-1');
      await changeWorldAndReconcile(project, assetsDir);

      const reused = vi.spyOn(ReadStamps.prototype, 'unchangedSha');
      const incremental = await pack(project, 'pack-2');
      const answers = new Map(reused.mock.calls.map((call, index) => [call[0], reused.mock.results[index]!.value]));
      expect(answers).toEqual(
        new Map([
          ['misc/hello/data.bin', sha256('hello')],
          ['misc/world/data.bin', null],
        ]),
      );
      expect(metadataHashes(root)).toEqual({
        'misc/hello/data.bin': sha256('hello'),
        'misc/world/data.bin': sha256('WORLD!'),
      });
      const written = readFileSync(join(root, 'build', 'assets.pa'));
      const clean = await pack(project, 'pack-3', false);
      expect(clean.artifacts).toEqual(incremental.artifacts);
      expect(readFileSync(join(root, 'build', 'assets.pa'))).toEqual(written);
    });
  });

  it('never writes a hash from the record that is not the one validation recorded: it hashes the input then', async () => {
    await withProject(async (project, root, assetsDir) => {
      await pack(project, 'pack-1');
      // A forged record: the right stamps, a wrong hash for an input that did not change.
      const recordPath = join(assetsDir, PACK_CACHE_PATH, PACK_STATE_FILE);
      const record = JSON.parse(readFileSync(recordPath, 'utf8')) as { hashes: Record<string, string> };
      expect(record.hashes['misc/hello/data.bin']).toBe(sha256('hello'));
      record.hashes['misc/hello/data.bin'] = sha256('forged');
      writeFileSync(recordPath, JSON.stringify(record));
      await changeWorldAndReconcile(project, assetsDir);

      await pack(project, 'pack-2');
      expect(metadataHashes(root)).toEqual({
        'misc/hello/data.bin': sha256('hello'),
        'misc/world/data.bin': sha256('WORLD!'),
      });
    });
  });

  it('stamps every file it reads from the descriptor it reads it through, each as a lstat would stamp it', async () => {
    await withProject(async (project, _root, assetsDir) => {
      const stats = vi.spyOn(ProjectFs.prototype, 'bigStat');
      await pack(project, 'pack-1');
      const record = JSON.parse(readFileSync(join(assetsDir, PACK_CACHE_PATH, PACK_STATE_FILE), 'utf8')) as {
        inputs: Record<string, [string, string | null]>;
      };
      const files = Object.keys(record.inputs).sort();
      expect(files).toEqual([
        '.prometeu/index.json',
        'misc/hello/asset.json',
        'misc/hello/data.bin',
        'misc/world/asset.json',
        'misc/world/data.bin',
      ]);
      for (const file of files) {
        const now = lstatSync(join(assetsDir, file), { bigint: true });
        expect(record.inputs[file]![0], file).toBe(`${now.dev}:${now.ino}:${now.size}:${now.mtimeNs}:${now.ctimeNs}`);
      }
      // No file read was stamped by a stat of its own: only the folders above them (and the record itself after).
      const stamped = stats.mock.calls.map((call) => call[0]);
      for (const file of files) expect(stamped).not.toContain(file);
    });
  });

  it("does not read again an asset.json the last pack read with the crawled text's hash and whose settled stamp is the recorded one", async () => {
    await withProject(async (project, root, assetsDir) => {
      await untilSettled(assetsDir, ['misc/hello/asset.json', 'misc/world/asset.json', '.prometeu/index.json']);
      await pack(project, 'pack-1');
      await changeWorldAndReconcile(project, assetsDir);

      const reads = vi.spyOn(ProjectFs.prototype, 'readFileIfRegular');
      const incremental = await pack(project, 'pack-2');
      const read = reads.mock.calls.map((call) => call[0]);
      expect(read).not.toContain('misc/hello/asset.json');
      expect(read).not.toContain('misc/world/asset.json');
      await expectSameAsCleanPack(project, root, incremental);
    });
  });

  it('reads an asset.json again when the hash the record gives it is not that of the crawled text', async () => {
    await withProject(async (project, root, assetsDir) => {
      await untilSettled(assetsDir, ['misc/hello/asset.json', 'misc/world/asset.json', '.prometeu/index.json']);
      await pack(project, 'pack-1');
      const recordPath = join(assetsDir, PACK_CACHE_PATH, PACK_STATE_FILE);
      const record = JSON.parse(readFileSync(recordPath, 'utf8')) as { hashes: Record<string, string> };
      expect(record.hashes['misc/hello/asset.json']).toBe(
        createHash('sha256')
          .update(readFileSync(join(assetsDir, 'misc/hello/asset.json')))
          .digest('hex'),
      );
      record.hashes['misc/hello/asset.json'] = sha256('forged');
      writeFileSync(recordPath, JSON.stringify(record));
      await changeWorldAndReconcile(project, assetsDir);

      const reads = vi.spyOn(ProjectFs.prototype, 'readFileIfRegular');
      const incremental = await pack(project, 'pack-2');
      const read = reads.mock.calls.map((call) => call[0]);
      expect(read).toContain('misc/hello/asset.json');
      expect(read).not.toContain('misc/world/asset.json');
      await expectSameAsCleanPack(project, root, incremental);
    });
  });

  it('reports an asset.json edited behind its back since the last pack as diverged, its stamp being another', async () => {
    await withProject(async (project, _root, assetsDir) => {
      await untilSettled(assetsDir, ['misc/hello/asset.json', 'misc/world/asset.json', '.prometeu/index.json']);
      await pack(project, 'pack-1');
      await changeWorldAndReconcile(project, assetsDir);
      // The same length, other bytes, and no reconcile: only its stamp tells.
      const anchor = join(assetsDir, 'misc/hello/asset.json');
      const text = readFileSync(anchor, 'utf8');
      writeFileSync(anchor, text.replace('"hello"', '"jello"'));
      expect(readFileSync(anchor, 'utf8')).not.toBe(text);

      const outcome = await project.lane.enqueue(packOperation(project, 'pack-2', { projectId: project.id }));
      expect(outcome.status).toBe('failed');
      const response = (outcome as { response: PackResponse }).response;
      expect(response.divergedPaths).toEqual(['misc/hello/asset.json']);
    });
  });
});
