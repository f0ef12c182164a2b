/**
 * A large validation round publishes its results while the worker still answers: batches go out as the
 * answers arrive (each one a revision of its own), and the round ends with the very results a round that
 * waited for every answer records. The worker's replies are handed on one by one, in the jobs' order.
 */
import { describe, expect, it } from 'vitest';
import { patchedRoots, type Snapshot } from '../../server/src/domain/snapshot.js';
import { diffDiagnostics, diffPublishedAssets } from '../../server/src/domain/snapshot-diff.js';
import { loadSnapshot, assetsDirOf } from '../../server/src/project/loader.js';
import { checkAsset, type ValidationAnswer, type ValidationJob } from '../../server/src/validation/check-asset.js';
import {
  pendingJobs,
  ProjectValidation,
  resultBatchSize,
  STREAMED_ROUND_JOBS,
  validateNow,
} from '../../server/src/validation/project-validation.js';
import type { ValidationRunner } from '../../server/src/validation/validation-worker.js';
// The compiled runner: a real worker thread (the TypeScript sources the tests run from cannot start one).
import { ValidationRunner as CompiledRunner } from '../../server/dist/validation/validation-worker.js';
import { useTempDirs, writeProject, type AssetSpec } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-validation-streamed-');

function assets(count: number): AssetSpec[] {
  return Array.from({ length: count }, (_, index) => ({
    root: `misc/a${String(index).padStart(4, '0')}`,
    files: { 'data.bin': `asset ${index}` },
  }));
}

/**
 * A runner that answers like the worker, one reply of 100 jobs at a time, but only as far as the test lets it:
 * `release(n)` hands on the next `n` replies.
 */
class HeldRunner {
  private readonly pending: (() => void)[] = [];
  private readonly waiters: (() => void)[] = [];
  replies = 0;

  run(
    assetsDir: string,
    jobs: readonly ValidationJob[],
    onReply?: (answers: readonly ValidationAnswer[]) => void,
  ): Promise<ValidationAnswer[]> {
    const all: ValidationAnswer[] = [];
    return new Promise((resolve) => {
      for (let start = 0; start < jobs.length; start += 100) {
        const last = start + 100 >= jobs.length;
        this.pending.push(() => {
          const answers = jobs.slice(start, start + 100).map((job) => checkAsset(assetsDir, job));
          all.push(...answers);
          this.replies++;
          onReply?.(answers);
          if (last) resolve(all);
        });
      }
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  /** Resolves once the round's jobs were handed to this runner. */
  started(): Promise<void> {
    return this.pending.length > 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  release(count: number): void {
    for (const reply of this.pending.splice(0, count)) reply();
  }

  dispose(): void {
    this.pending.length = 0;
  }
}

/** A host whose lane runs one task at a time, publishing into `current`. */
function hostOf(initial: Snapshot, assetsDir: string) {
  const host = {
    current: initial,
    published: [] as Snapshot[],
    lane: Promise.resolve(),
    assetsDir,
    snapshot: () => host.current,
    inLane(task: () => void): Promise<void> {
      const run = host.lane.then(task);
      host.lane = run.catch(() => undefined);
      return run;
    },
    publish(next: Snapshot): void {
      host.current = next;
      host.published.push(next);
    },
    inputsChanged(): void {},
  };
  return host;
}

/** What reads show of each record's validation: its state and diagnostics, by root. */
function validationOf(snapshot: Snapshot): unknown {
  return snapshot.assets.map((record) => ({
    root: record.root,
    validation: record.validation,
    diagnostics: record.diagnostics,
    inputs: record.inputs,
  }));
}

describe('a large validation round', () => {
  it('publishes batches while answers are still arriving, and ends with the results a round that waits records', async () => {
    const count = STREAMED_ROUND_JOBS + 300;
    const written = writeProject(tempDir(), { assets: assets(count) });
    const initial = loadSnapshot(written.root, 1);
    expect(initial.counts.validationPending).toBe(count);
    const host = hostOf(initial, assetsDirOf(written.root));
    const runner = new HeldRunner();
    const validation = new ProjectValidation(host, runner as unknown as ValidationRunner);
    try {
      validation.schedule();
      await runner.started();
      const size = resultBatchSize(count);
      // Enough replies for two batches, and not the last one: two revisions, each of one batch.
      runner.release(Math.ceil((2 * size) / 100));
      const deadline = Date.now() + 10_000;
      while (host.published.length < 2) {
        if (Date.now() > deadline) throw new Error('no batch was published while answers were arriving');
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(runner.replies).toBeLessThan(Math.ceil(count / 100));
      expect(host.current.counts.validationPending).toBe(count - 2 * size);
      expect(host.published.map((snapshot) => snapshot.revision)).toEqual([2, 3]);
      runner.release(Infinity);
      await validation.settled();
      expect(host.current.counts.validationPending).toBe(0);
      // Consecutive revisions, and the very results of a round that validates every asset at once.
      expect(host.published.map((snapshot) => snapshot.revision)).toEqual(host.published.map((_, index) => 2 + index));
      expect(validationOf(host.current)).toEqual(validationOf(validateNow(initial, assetsDirOf(written.root))));
    } finally {
      validation.dispose();
    }
  });

  it('patches a batch larger than a step in steps, and publishes it as one revision with the diff of one patch', async () => {
    const count = 300;
    const written = writeProject(tempDir(), { assets: assets(count) });
    const initial = loadSnapshot(written.root, 1);
    const host = hostOf(initial, assetsDirOf(written.root));
    const runner = new HeldRunner();
    // Steps of 7 results: the round's one batch of 300 is patched in 43 steps outside the lane.
    const validation = new ProjectValidation(host, runner as unknown as ValidationRunner, undefined, 7);
    try {
      validation.schedule();
      await runner.started();
      runner.release(Infinity);
      await validation.settled();
      // Batches of 200 and 100 (each more than a step): one revision each.
      const size = resultBatchSize(count);
      expect(host.published.map((snapshot) => snapshot.revision)).toEqual([2, 3]);
      expect(validation.steppedPublishes).toBe(2);
      const whole = validateNow(initial, assetsDirOf(written.root));
      expect(validationOf(host.current)).toEqual(validationOf(whole));
      expect(host.current.counts).toEqual(whole.counts);
      // Each revision is one patch of its batch's roots, and its published diff names exactly those.
      let before = initial;
      for (const [index, after] of host.published.entries()) {
        const roots = patchedRoots(before, after);
        expect(roots?.size).toBe(Math.min(size, count - index * size));
        const diff = diffPublishedAssets(before, after);
        expect(diff.changed.map((asset) => asset.root)).toEqual([...roots!].sort());
        expect(diff.added).toEqual([]);
        expect(diff.removed).toEqual([]);
        expect(diffDiagnostics(before, after)).toEqual(null);
        before = after;
      }
    } finally {
      validation.dispose();
    }
  });

  it('is handed the worker’s answers reply by reply, in the jobs’ order', async () => {
    const written = writeProject(tempDir(), { assets: assets(250) });
    const jobs = pendingJobs(loadSnapshot(written.root, 1));
    const runner = new CompiledRunner({ idleMs: 60_000, idleAfterLargeMs: 20 });
    try {
      const replies: (readonly ValidationAnswer[])[] = [];
      const answers = await runner.run(written.assetsDir, jobs, (reply) => replies.push(reply));
      expect(replies.map((reply) => reply.length)).toEqual([100, 100, 50]);
      expect(replies.flat()).toEqual(answers);
      expect(answers).toEqual(jobs.map((job) => checkAsset(written.assetsDir, job)));
    } finally {
      runner.dispose();
    }
  });
});
