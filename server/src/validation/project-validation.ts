/**
 * Keeping a project's snapshot validated: after every publish, the assets whose format checks are pending
 * are validated off the main thread, and the results are published as a new revision (cause `validation`)
 * from inside the writer lane, the one place that publishes. Reads never wait for it: they are answered
 * from the current snapshot, which says which assets are still pending.
 */
import { compareStrings, type CrawlResult } from '../domain/crawl.js';
import type { ParsedDeclaration } from '../domain/declaration.js';
import { buildSnapshot, patchSnapshotForReload, type AssetRecord, type Snapshot } from '../domain/snapshot.js';
import { patchMap } from '../domain/shared-map.js';
import type { ProjectFs } from '../io/project-fs.js';
import { crawledAt } from '../project/loader.js';
import { checkAsset, contentHashOf, stampOf, type ValidationAnswer, type ValidationJob } from './check-asset.js';
import type { FormatResult, FormatResults } from '../domain/format-results.js';
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
  /**
   * Inputs a round found changed after the snapshot's crawl listed them: nothing was recorded for their
   * assets, and the project reports them as divergence. Only called from inside the lane.
   */
  inputsChanged(paths: readonly string[]): void;
  /** Test hook: runs before each round reads the disk (tests edit files there). */
  beforeRound?(): void | Promise<void>;
}

/** The jobs for every asset of `snapshot` whose format checks are pending, except those `skip` names. */
export function pendingJobs(snapshot: Snapshot, skip: (record: AssetRecord) => boolean = () => false): ValidationJob[] {
  const jobs: ValidationJob[] = [];
  const seen = new Set<string>();
  for (const record of snapshot.assets) {
    if (record.validation !== 'pending' || seen.has(record.root) || skip(record)) continue;
    seen.add(record.root);
    const inputs = [...new Set(record.inputs.map((input) => input.assetsPath!))];
    jobs.push({
      root: record.root,
      declaration: record.anchor!.declaration!,
      inputs,
      seenAt: inputs.map((path) => crawledAt(snapshot.crawl, path)),
    });
  }
  return jobs;
}

/** What one round found: results for the parsed anchors of its snapshot, and inputs that changed under it. */
export interface RoundResults {
  readonly results: Map<string, FormatResult>;
  /** By root: the inputs whose content changed after the snapshot's crawl listed them (no result for those). */
  readonly changed: Map<string, readonly string[]>;
}

/** Turns answers into results for the parsed anchors `snapshot` holds. */
export function resultsOf(snapshot: Snapshot, answers: readonly ValidationAnswer[]): RoundResults {
  const results = new Map<string, FormatResult>();
  const changed = new Map<string, readonly string[]>();
  for (const answer of answers) {
    const anchor = snapshot.byRoot.get(answer.root)?.anchor;
    if (anchor === null || anchor === undefined) continue;
    if (answer.changed.length > 0) {
      changed.set(answer.root, [...answer.changed]);
      continue;
    }
    results.set(answer.root, {
      anchor,
      hashes: new Map(answer.hashes),
      stamps: new Map(answer.stamps),
      diagnostics: Object.freeze([...answer.diagnostics]),
    });
  }
  return { results, changed };
}

/** Above this many roots whose format result changed, the snapshot with the results is joined whole. */
const PATCHED_RESULTS = 1_000;

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
  const arrived = new Map<string, FormatResult>();
  for (const [root, result] of results) {
    const record = current.byRoot.get(root);
    if (record === undefined || record.anchor !== result.anchor || record.validation !== 'pending') continue;
    arrived.set(root, result);
  }
  if (arrived.size === 0) return null;
  // A few results (a commit's round): the map is patched (it shares every other result with the current one)
  // and so is the snapshot, at those roots alone, so both cost what arrived. A result left behind by a
  // declaration that changed applies to no record (`resultFor` checks the anchor); it stays until a whole
  // join or a reload drops it, where walking every result each round to find it cost more than the round.
  if (arrived.size <= PATCHED_RESULTS) {
    const patched = patchSnapshotForReload(
      revision,
      current,
      current.crawl,
      current.parsedRegistry,
      [...arrived.keys()].sort(compareStrings),
      current.quarantine,
      patchMap(current.formatResults, arrived),
    );
    if (patched !== undefined) return patched;
  }
  // Many results (the open's round), or a snapshot the patch cannot take: joined whole, which costs less than
  // patching every root, with the results that no longer apply dropped.
  const merged = new Map(current.formatResults);
  for (const [root, result] of arrived) merged.set(root, result);
  for (const [root, result] of merged) if (current.byRoot.get(root)?.anchor !== result.anchor) merged.delete(root);
  return buildSnapshot(revision, current.crawl, current.parsedRegistry, {
    previous: current,
    quarantine: current.quarantine,
    formatResults: merged,
  });
}

/**
 * The format results of `previous` that still hold on disk, for the snapshot a reload builds: a result is
 * carried over while each of its inputs has the stat stamp it had when it was read, or, when the stamp moved
 * (a touch, a checkout of the same bytes), the same content hash. The result applies only while the reload
 * keeps the very parsed declaration it was computed for (same `asset.json` text, so the same declaration,
 * format and settings); the format version cannot change within a process. So after a reload only the
 * assets whose declaration or input content changed are `pending` again. `crawlStamps`, when given, are the stamps a
 * crawl of the whole of `assets/` took of every file in its walk (a reload's), looked up instead of a stat each.
 */
export async function carriedFormatResults(
  previous: Snapshot,
  assets: ProjectFs,
  crawlStamps?: ReadonlyMap<string, string>,
): Promise<FormatResults> {
  const carried = new Map<string, FormatResult>();
  const results = [...previous.formatResults];
  // A stat (and now and then a hash) of every input: in chunks between turns of the event loop, so a reload
  // of a large project does not hold the main thread while it checks them.
  for (let start = 0; start < results.length; start += CARRY_CHUNK) {
    if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    assets.scope((scoped) => {
      for (const [root, result] of results.slice(start, start + CARRY_CHUNK)) {
        if (previous.byRoot.get(root)?.formatResult !== result) continue;
        let holds = true;
        let stamps: Map<string, string | null> | undefined;
        for (const [path, stamp] of result.stamps) {
          // The stamps a crawl took in its walk, when given (a file it did not list has none).
          const now = crawlStamps !== undefined ? (crawlStamps.get(path) ?? null) : stampOf(scoped, path);
          if (now === stamp) continue;
          if (now === null || stamp === null || contentHashOf(scoped, path) !== result.hashes.get(path)) {
            holds = false;
            break;
          }
          (stamps ??= new Map(result.stamps)).set(path, now);
        }
        if (holds) carried.set(root, stamps === undefined ? result : { ...result, stamps });
      }
    });
  }
  return carried;
}

/** How many format results `carriedFormatResults` checks between two turns of the event loop. */
const CARRY_CHUNK = 250;

/** Validates every pending asset of `snapshot` here and now (tests, tools); the revision is kept. */
export function validateNow(snapshot: Snapshot, assetsDir: string): Snapshot {
  const answers = pendingJobs(snapshot).map((job) => checkAsset(assetsDir, job));
  return snapshotWithResults(snapshot, resultsOf(snapshot, answers).results, snapshot.revision) ?? snapshot;
}

/** The validation of one project's snapshots. */
export class ProjectValidation {
  /** Invariant: the round in progress (computing, then publishing in the lane), or null; at most one. */
  private round: Promise<void> | null = null;
  /** Invariant: the computation for one snapshot whose results are not published yet, or null. */
  private computing: { readonly snapshot: Snapshot; readonly results: Promise<RoundResults> } | null = null;
  /** A snapshot whose round failed (a bug); it is not retried until another snapshot is published. */
  private failedOn: Snapshot | null = null;
  /**
   * Invariant: by root, assets a round found with inputs changed after the crawl that listed them, with that
   * crawl and parsed anchor. They stay `pending` and are not validated again until a snapshot built on
   * another crawl (a reload or a commit) or with another declaration replaces them.
   */
  private readonly stalled = new Map<
    string,
    { readonly crawl: CrawlResult; readonly anchor: ParsedDeclaration; readonly paths: readonly string[] }
  >();
  private disposed = false;
  private readonly settledWaiters: (() => void)[] = [];

  constructor(
    private readonly host: ValidationHost,
    private readonly runner: ValidationRunner = new ValidationRunner(),
    private readonly log: (message: string) => void = () => undefined,
  ) {}

  /** Whether `record` of `snapshot` waits for a reload because its inputs changed under the snapshot. */
  private isStalled(snapshot: Snapshot, record: AssetRecord): boolean {
    const stalled = this.stalled.get(record.root);
    return stalled !== undefined && stalled.crawl === snapshot.crawl && stalled.anchor === record.anchor;
  }

  /** The jobs a round for `snapshot` would run. */
  private jobsFor(snapshot: Snapshot): ValidationJob[] {
    if (snapshot.counts.validationPending === 0) return [];
    return pendingJobs(snapshot, (record) => this.isStalled(snapshot, record));
  }

  /**
   * The inputs of `snapshot`'s assets that a round found changed after the crawl that listed them (their
   * assets stay `pending`, and the project reports the paths as divergence), sorted.
   */
  changedInputs(snapshot: Snapshot): string[] {
    const paths = new Set<string>();
    for (const record of snapshot.assets)
      if (record.validation === 'pending' && this.isStalled(snapshot, record))
        for (const path of this.stalled.get(record.root)!.paths) paths.add(path);
    return [...paths].sort();
  }

  /** Starts a round for the current snapshot when it has pending assets and none runs. Called after every publish. */
  schedule(): void {
    if (this.disposed || this.round !== null) return;
    const snapshot = this.host.snapshot();
    if (snapshot === this.failedOn || this.jobsFor(snapshot).length === 0) {
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
   * Resolves once no round runs and the current snapshot has nothing left to validate: no pending asset, or
   * only assets whose inputs changed under it (or validation was stopped). Tests wait on it instead of sleeping.
   */
  settled(): Promise<void> {
    if (this.disposed || (this.round === null && this.jobsFor(this.host.snapshot()).length === 0))
      return Promise.resolve();
    return new Promise((resolve) => {
      this.settledWaiters.push(resolve);
      this.schedule();
    });
  }

  /**
   * The current snapshot once every asset of it is validated, publishing the results itself (attributed to
   * `operationId`). Only for code running inside the lane (the pack), which therefore never waits for a round's
   * own lane job; a round already computing for this snapshot is joined rather than repeated. Assets whose
   * inputs changed under the snapshot stay `pending`: {@link changedInputs} names those inputs.
   */
  async validatedSnapshot(operationId?: string): Promise<Snapshot> {
    const snapshot = this.host.snapshot();
    if (this.jobsFor(snapshot).length === 0) return snapshot;
    const round =
      this.computing !== null && this.computing.snapshot === snapshot
        ? await this.computing.results
        : await this.compute(snapshot);
    this.apply(snapshot, round, operationId);
    return this.host.snapshot();
  }

  private async runRound(snapshot: Snapshot): Promise<void> {
    await this.host.beforeRound?.();
    const round = await this.compute(snapshot);
    if (this.disposed) return;
    await this.host.inLane(() => this.apply(snapshot, round));
  }

  /** Inside the lane: publishes what applies of a round's results and records the assets it found stalled. */
  private apply(snapshot: Snapshot, round: RoundResults, operationId?: string): void {
    const changed: string[] = [];
    for (const [root, paths] of round.changed) {
      const anchor = snapshot.byRoot.get(root)?.anchor;
      if (anchor === null || anchor === undefined) continue;
      this.stalled.set(root, { crawl: snapshot.crawl, anchor, paths });
      changed.push(...paths);
    }
    const next = snapshotWithResults(this.host.snapshot(), round.results);
    if (next !== null) this.host.publish(next, operationId);
    if (changed.length > 0) this.host.inputsChanged(changed);
  }

  private compute(snapshot: Snapshot): Promise<RoundResults> {
    const jobs = this.jobsFor(snapshot);
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
