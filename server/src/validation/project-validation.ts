/**
 * Keeping a project's snapshot validated: after every publish, the assets whose format checks are pending
 * are validated off the main thread, and the results are published as a new revision (cause `validation`)
 * from inside the writer lane, the one place that publishes. Reads never wait for it: they are answered
 * from the current snapshot, which says which assets are still pending.
 */
import { buildSnapshot, type Snapshot } from '../domain/snapshot.js';
import { checkAsset, type ValidationAnswer, type ValidationJob } from './check-asset.js';
import { NO_FORMAT_RESULTS, type FormatResult } from '../domain/format-results.js';
import { validateInline, ValidationRunner } from './validation-worker.js';

/** What the validation of a project needs from it. */
export interface ValidationHost {
  readonly assetsDir: string;
  /** The current snapshot. */
  snapshot(): Snapshot;
  /** Runs `task` inside the project's writer lane, as an internal job (no operation of its own). */
  inLane(task: () => void): Promise<void>;
  /** Publishes `next` with cause `validation`. Only called from inside the lane. */
  publish(next: Snapshot, operationId?: string): void;
}

/** The jobs for every asset of `snapshot` whose format checks are pending. */
export function pendingJobs(snapshot: Snapshot): ValidationJob[] {
  const jobs: ValidationJob[] = [];
  const seen = new Set<string>();
  for (const record of snapshot.assets) {
    if (record.validation !== 'pending' || seen.has(record.root)) continue;
    seen.add(record.root);
    const inputs = [...new Set(record.inputs.map((input) => input.assetsPath!))];
    jobs.push({ root: record.root, declaration: record.anchor!.declaration!, inputs });
  }
  return jobs;
}

/** Turns answers into results for the parsed anchors `snapshot` holds. */
export function resultsOf(snapshot: Snapshot, answers: readonly ValidationAnswer[]): Map<string, FormatResult> {
  const results = new Map<string, FormatResult>();
  for (const answer of answers) {
    const anchor = snapshot.byRoot.get(answer.root)?.anchor;
    if (anchor === null || anchor === undefined) continue;
    results.set(answer.root, {
      anchor,
      hashes: new Map(answer.hashes),
      diagnostics: Object.freeze([...answer.diagnostics]),
    });
  }
  return results;
}

/**
 * The snapshot `current` becomes with `results` applied (revision `revision`, by default the next one), or
 * null when none of them applies to an asset still pending (the disk moved on meanwhile, or another round
 * already applied them). Results of anchors the snapshot no longer holds are dropped.
 */
export function snapshotWithResults(
  current: Snapshot,
  results: ReadonlyMap<string, FormatResult>,
  revision = current.revision + 1,
): Snapshot | null {
  const merged = new Map(current.formatResults);
  let applies = false;
  for (const [root, result] of results) {
    const record = current.byRoot.get(root);
    if (record === undefined || record.anchor !== result.anchor || record.validation !== 'pending') continue;
    merged.set(root, result);
    applies = true;
  }
  if (!applies) return null;
  for (const [root, result] of merged) if (current.byRoot.get(root)?.anchor !== result.anchor) merged.delete(root);
  return buildSnapshot(revision, current.crawl, current.parsedRegistry, {
    previous: current,
    quarantine: current.quarantine,
    formatResults: merged,
  });
}

/**
 * `snapshot` as a previous snapshot that carries no format result: after a reload from disk the inputs'
 * content may have changed, so every asset is validated again (the result cache makes unchanged ones cheap).
 */
export function withoutFormatResults(snapshot: Snapshot): Snapshot {
  return { ...snapshot, formatResults: NO_FORMAT_RESULTS };
}

/** Validates every pending asset of `snapshot` here and now (tests, tools); the revision is kept. */
export function validateNow(snapshot: Snapshot, assetsDir: string): Snapshot {
  const answers = pendingJobs(snapshot).map((job) => checkAsset(assetsDir, job));
  return snapshotWithResults(snapshot, resultsOf(snapshot, answers), snapshot.revision) ?? snapshot;
}

/** The validation of one project's snapshots. */
export class ProjectValidation {
  /** Invariant: the round in progress (computing, then publishing in the lane), or null; at most one. */
  private round: Promise<void> | null = null;
  /** Invariant: the computation for one snapshot whose results are not published yet, or null. */
  private computing: { readonly snapshot: Snapshot; readonly results: Promise<Map<string, FormatResult>> } | null =
    null;
  /** A snapshot whose round failed (a bug); it is not retried until another snapshot is published. */
  private failedOn: Snapshot | null = null;
  private disposed = false;
  private readonly settledWaiters: (() => void)[] = [];

  constructor(
    private readonly host: ValidationHost,
    private readonly runner: ValidationRunner = new ValidationRunner(),
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  /** Starts a round for the current snapshot when it has pending assets and none runs. Called after every publish. */
  schedule(): void {
    if (this.disposed || this.round !== null) return;
    const snapshot = this.host.snapshot();
    if (snapshot.counts.validationPending === 0 || snapshot === this.failedOn) {
      for (const waiter of this.settledWaiters.splice(0)) waiter();
      return;
    }
    this.round = this.runRound(snapshot)
      .catch((error: unknown) => {
        this.failedOn = this.host.snapshot();
        this.log(
          `Format validation failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      })
      .finally(() => {
        this.round = null;
        this.schedule();
      });
  }

  /**
   * Resolves once the current snapshot has no pending asset and no round runs (or validation was stopped).
   * Tests wait on it instead of sleeping.
   */
  settled(): Promise<void> {
    if (this.disposed || (this.round === null && this.host.snapshot().counts.validationPending === 0))
      return Promise.resolve();
    return new Promise((resolve) => {
      this.settledWaiters.push(resolve);
      this.schedule();
    });
  }

  /**
   * The current snapshot once every asset of it is validated, publishing the results itself (attributed to
   * `operationId`). Only for code running inside the lane (the pack), which therefore never waits for a round's
   * own lane job; a round already computing for this snapshot is joined rather than repeated.
   */
  async validatedSnapshot(operationId?: string): Promise<Snapshot> {
    const snapshot = this.host.snapshot();
    if (snapshot.counts.validationPending === 0) return snapshot;
    const results =
      this.computing !== null && this.computing.snapshot === snapshot
        ? await this.computing.results
        : await this.compute(snapshot);
    const next = snapshotWithResults(this.host.snapshot(), results);
    if (next !== null) this.host.publish(next, operationId);
    return this.host.snapshot();
  }

  private async runRound(snapshot: Snapshot): Promise<void> {
    const results = await this.compute(snapshot);
    if (this.disposed) return;
    await this.host.inLane(() => {
      const next = snapshotWithResults(this.host.snapshot(), results);
      if (next !== null) this.host.publish(next);
    });
  }

  private compute(snapshot: Snapshot): Promise<Map<string, FormatResult>> {
    const jobs = pendingJobs(snapshot);
    const results = this.runner
      .run(this.host.assetsDir, jobs)
      .catch((error: unknown) => {
        if (this.disposed) throw error;
        this.log(
          `The validation worker failed (${error instanceof Error ? error.message : String(error)}); validating inline.`,
        );
        return validateInline(this.host.assetsDir, jobs);
      })
      .then((answers) => resultsOf(snapshot, answers));
    const computing = { snapshot, results };
    this.computing = computing;
    void results.then(
      () => {
        if (this.computing === computing) this.computing = null;
      },
      () => {
        if (this.computing === computing) this.computing = null;
      },
    );
    return results;
  }

  /** Stops validating and the worker; waiters are released. */
  dispose(): void {
    this.disposed = true;
    this.runner.dispose();
    for (const waiter of this.settledWaiters.splice(0)) waiter();
  }
}
