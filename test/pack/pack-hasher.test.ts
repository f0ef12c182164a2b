/**
 * The pack's hashing on the second core: the built hasher (whose worker thread can start, unlike from
 * TypeScript sources) answers exactly the SHA-256 of the bytes it is given, and a pack that hashes its
 * inputs there still writes byte-identical artifacts and still reports an input edited behind its back.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
// The built modules, so that the hasher really starts its worker thread.
import { PackerHost } from '../../server/dist/index.js';
import { hasherLifecycle, hasherRunning, PackHasher } from '../../server/dist/pack/pack-hasher.js';
import { packOperation } from '../../server/dist/writes/pack-project.js';
import { useTempDirs, writeProject, type AssetSpec } from '../support/workspace-builder.js';

const tempDir = useTempDirs('pack-hasher-');

function sha(...pieces: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const piece of pieces) hash.update(piece);
  return hash.digest('hex');
}

describe('the pack hasher', () => {
  it('runs on a worker and answers the SHA-256 of shared, unshared, batched and pieced bytes alike', async () => {
    const hasher = new PackHasher();
    expect(hasher.parallel).toBe(true);
    const sizes = [0, 1, 1000, 16 * 1024, 100_000, 5 * 1024 * 1024];
    const inputs = sizes.map((size) => {
      const bytes = hasher.allocate(size);
      bytes.set(randomBytes(size));
      return bytes;
    });
    const hashes = inputs.map((bytes) => hasher.hash(bytes));
    hasher.flush();
    expect(await Promise.all(hashes)).toEqual(inputs.map((bytes) => sha(bytes)));
    const pieces = [Uint8Array.of(1, 2, 3), ...inputs, new Uint8Array(7)];
    expect(await hasher.hashPieces(pieces)).toBe(sha(...pieces));
  });

  it('ends its worker once idle and starts a new one for the next hashes, which are still right', async () => {
    const idleMs = hasherLifecycle.idleMs;
    hasherLifecycle.idleMs = 20;
    try {
      const bytes = (hasher: PackHasher): Uint8Array => {
        const shared = hasher.allocate(64 * 1024);
        shared.set(randomBytes(shared.length));
        return shared;
      };
      const first = new PackHasher();
      const before = bytes(first);
      const hashed = first.hash(before);
      first.flush();
      expect(await hashed).toBe(sha(before));
      const ends = hasherLifecycle.idleEnds;
      const deadline = Date.now() + 10_000;
      while (hasherRunning()) {
        if (Date.now() > deadline) throw new Error('the idle hasher never ended');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(hasherLifecycle.idleEnds).toBe(ends + 1);
      // A new worker, not the inline fallback (which is for a worker that failed).
      const second = new PackHasher();
      expect(second.parallel).toBe(true);
      const after = [bytes(second), bytes(second)];
      const hashes = after.map((input) => second.hash(input));
      second.flush();
      expect(await Promise.all(hashes)).toEqual(after.map((input) => sha(input)));
      expect(hasherRunning()).toBe(true);
    } finally {
      hasherLifecycle.idleMs = idleMs;
    }
  });
});

describe('a pack whose inputs are hashed on the worker', () => {
  const ASSETS: AssetSpec[] = [
    { root: 'misc/big', files: { 'data.bin': randomBytes(200_000) } },
    { root: 'misc/small', files: { 'data.bin': 'small' } },
    { root: 'misc/large', files: { 'data.bin': randomBytes(64 * 1024) } },
  ];

  it('writes the same artifacts as an uncached pack and hashes them right, and reports a big input edited behind its back', async () => {
    const written = writeProject(tempDir(), { assets: ASSETS });
    const host = new PackerHost({ watcher: null, epoch: 'pack-hasher', now: () => new Date(0) });
    try {
      const project = await host.open(pathToFileURL(written.root).href);
      await project.validationSettled();
      const first = await project.lane.enqueue(packOperation(project, 'pack-1', { projectId: project.id }));
      expect(first.status).toBe('succeeded');
      const build = join(written.root, 'build');
      const pa = readFileSync(join(build, 'assets.pa'));
      const metadata = JSON.parse(readFileSync(join(build, 'asset_table_metadata.json'), 'utf8')) as {
        assets_pa: { sha256: string };
        assets: { root: string; payload_sha256: string; inputs: { sha256: string }[] }[];
      };
      expect(metadata.assets_pa.sha256).toBe(sha(pa));
      for (const asset of metadata.assets) {
        const input = readFileSync(join(written.assetsDir, asset.root, 'data.bin'));
        expect([asset.payload_sha256, asset.inputs[0]!.sha256]).toEqual([sha(input), sha(input)]);
      }
      const clean = await project.lane.enqueue(
        packOperation(project, 'pack-2', { projectId: project.id, incremental: false }),
      );
      expect(clean.status).toBe('succeeded');
      expect(readFileSync(join(build, 'assets.pa'))).toEqual(pa);

      const big = join(written.assetsDir, 'misc/big/data.bin');
      const edited = readFileSync(big);
      edited[100_000] = edited[100_000]! ^ 0xff;
      writeFileSync(big, edited);
      const diverged = await project.lane.enqueue(packOperation(project, 'pack-3', { projectId: project.id }));
      expect(diverged).toMatchObject({
        status: 'failed',
        response: { failure: 'diverged', divergedPaths: ['misc/big/data.bin'] },
      });
      expect(readFileSync(join(build, 'assets.pa'))).toEqual(pa);
    } finally {
      host.dispose();
    }
  });
});
