// Format results kept compactly (arrays beside one shared paths array) and a validation worker that ends soon after a large round.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crawlAssets } from '../../server/src/domain/crawl.js';
import { InputValues } from '../../server/src/domain/format-results.js';
import { parseRegistry } from '../../server/src/domain/registry.js';
import { buildSnapshot } from '../../server/src/domain/snapshot.js';
import { checkAsset } from '../../server/src/validation/check-asset.js';
import { pendingJobs, validateNow } from '../../server/src/validation/project-validation.js';
// The compiled runner: a worker thread can start only from built JavaScript.
import { ValidationRunner } from '../../server/dist/validation/validation-worker.js';
import { useTempDirs, writeProject, type AssetSpec } from '../support/workspace-builder.js';

const tempDir = useTempDirs('compact-results-');

const ASSETS: AssetSpec[] = [
  { root: 'misc/hello', files: { 'data.bin': 'hello' } },
  { root: 'misc/other', files: { 'data.bin': 'other' } },
];

function snapshotOf(assetsDir: string): ReturnType<typeof buildSnapshot> {
  const text = readFileSync(join(assetsDir, '.prometeu/index.json'), 'utf8');
  return buildSnapshot(1, crawlAssets(assetsDir), parseRegistry(text));
}

describe('compact format results', () => {
  it('answer like a map of their paths, with and without an index of many inputs', () => {
    for (const count of [0, 1, 3, 8, 9, 40]) {
      const paths = Array.from({ length: count }, (_, index) => `root/input-${index}.bin`);
      const values = paths.map((path, index) => (index % 3 === 2 ? null : `value of ${path}`));
      const compact = new InputValues(paths, values);
      const map = new Map(paths.map((path, index) => [path, values[index]!]));
      expect(compact.size).toBe(map.size);
      expect([...compact]).toEqual([...map]);
      expect([...compact.keys()]).toEqual([...map.keys()]);
      expect([...compact.values()]).toEqual([...map.values()]);
      for (const path of [...paths, 'root/absent.bin']) {
        expect(compact.get(path)).toBe(map.get(path));
        expect(compact.has(path)).toBe(map.has(path));
      }
      const seen: [string, string | null][] = [];
      compact.forEach((value, key) => seen.push([key, value]));
      expect(seen).toEqual([...map]);
    }
    expect(() => new InputValues(['a'], [])).toThrow();
  });

  it("keep one paths array, the record's input paths, under both the hashes and the stamps", () => {
    const written = writeProject(tempDir(), { assets: ASSETS });
    const snapshot = validateNow(snapshotOf(written.assetsDir), written.assetsDir);
    for (const record of snapshot.assets) {
      const result = record.formatResult!;
      expect(result.hashes.paths).toBe(result.stamps.paths);
      expect(result.hashes.paths).toEqual(record.inputs.map((input) => input.assetsPath));
      for (const path of result.hashes.keys()) expect(result.hashes.get(path)).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('end the validation worker soon after a round of many jobs, with the answers of every job', async () => {
    const written = writeProject(tempDir(), { assets: ASSETS });
    const jobs = pendingJobs(snapshotOf(written.assetsDir));
    const many = Array.from({ length: 1_000 }, (_, index) => jobs[index % jobs.length]!);
    // A small round would keep the worker for a minute; the large one ends it 20 ms after its answers.
    const runner = new ValidationRunner({ idleMs: 60_000, idleAfterLargeMs: 20 });
    try {
      const answers = await runner.run(written.assetsDir, many);
      expect(answers).toEqual(many.map((job) => checkAsset(written.assetsDir, job)));
      const deadline = Date.now() + 10_000;
      while (runner.running) {
        if (Date.now() > deadline) throw new Error('the worker of a large round never ended');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(runner.idleEnds).toBe(1);
    } finally {
      runner.dispose();
    }
  });
});
