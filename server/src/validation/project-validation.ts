/**
 * Keeping a project's snapshot validated: after every publish, the assets whose format checks are pending
 * are validated off the main thread, and the results are published as a new revision (cause `validation`)
 * from inside the writer lane, the one place that publishes. Reads never wait for it: they are answered
 * from the current snapshot, which says which assets are still pending.
 */
import type { Diagnostic } from '@prometeu/packer-protocol';
import { compareStrings, type CrawlResult } from '../domain/crawl.js';
import type { ParsedDeclaration } from '../domain/declaration.js';
import {
  buildSnapshot,
  knownPendingRecords,
  notePatchChain,
  patchSnapshotForReload,
  pendingRecordsOf,
  type AssetRecord,
  type Snapshot,
} from '../domain/snapshot.js';
import { patchMap } from '../domain/shared-map.js';
import type { ProjectFs } from '../io/project-fs.js';
import { crawledAt } from '../project/loader.js';
import { SliceClock } from '../pack/slice.js';
import { checkAsset, contentHashOf, stampOf, type ValidationAnswer, type ValidationJob } from './check-asset.js';
import { InputValues, type FormatResult, type FormatResults } from '../domain/format-results.js';
import { validateInline, ValidationRunner } from './validation-worker.js';
import { yieldToClients } from '../io/turns.js';

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

/**
 * The records of `snapshot` whose format checks are pending, one per root, except those `skip` names. After a
 * commit, from the predecessor's pending records and the touched roots (`knownPendingRecords`), not a walk of
 * every record; else walked lazily, so that a sliced caller pauses within the walk too.
 */
function* pendingRecords(snapshot: Snapshot, skip: (record: AssetRecord) => boolean): Generator<AssetRecord> {
  const known = knownPendingRecords(snapshot);
  if (known !== undefined) {
    for (const record of known) if (!skip(record)) yield record;
    return;
  }
  const seen = new Set<string>();
  for (const record of snapshot.assets) {
    if (record.validation !== 'pending' || seen.has(record.root) || skip(record)) continue;
    seen.add(record.root);
    yield record;
  }
}

/** The jobs for every asset of `snapshot` whose format checks are pending, except those `skip` names. */
export function pendingJobs(snapshot: Snapshot, skip: (record: AssetRecord) => boolean = () => false): ValidationJob[] {
  return [...pendingRecords(snapshot, skip)].map((record) => jobOf(snapshot, record));
}

function jobOf(snapshot: Snapshot, record: AssetRecord): ValidationJob {
  const inputs = [...new Set(record.inputs.map((input) => input.assetsPath!))];
  return {
    root: record.root,
    declaration: record.anchor!.declaration!,
    inputs,
    seenAt: inputs.map((path) => crawledAt(snapshot.crawl, path)),
  };
}

/** How many records or answers the sliced passes of a round look at between two looks at the clock. */
const CLOCK_EVERY = 64;

/**
 * {@link pendingJobs} in time slices of a few milliseconds between turns of the event loop: the open's round
 * finds every record of a 100k-root project pending, and each job costs a lookup of its inputs' crawl time.
 */
export async function pendingJobsInSlices(
  snapshot: Snapshot,
  skip: (record: AssetRecord) => boolean = () => false,
): Promise<ValidationJob[]> {
  const jobs: ValidationJob[] = [];
  const clock = new SliceClock();
  for (const record of pendingRecords(snapshot, skip)) {
    if (jobs.length % CLOCK_EVERY === 0) await clock.pause();
    jobs.push(jobOf(snapshot, record));
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
  const round = { results: new Map<string, FormatResult>(), changed: new Map<string, readonly string[]>() };
  for (const answer of answers) addResult(snapshot, answer, round);
  return round;
}

/**
 * A round's results as its answers arrive: {@link RoundResults} so far, the same results in the order they
 * arrived, and whether the round is over. Only the round's computation ({@link ProjectValidation}'s `compute`)
 * writes it.
 */
interface LiveRound extends RoundResults {
  /** Invariant: every result of {@link results}, in the order it was added; a result is never replaced. */
  readonly arrived: [string, FormatResult][];
  /** Invariant: how many jobs the round runs, once they are gathered. */
  jobs: number | undefined;
  /** Invariant: true once every answer is in {@link results} (or the round failed). */
  complete: boolean;
  /** Called after each change of the fields above (the publishing that waits on them). */
  wake: (() => void) | undefined;
}

/** {@link resultsOf} of `answers` from `from` on, added to `round` in time slices between turns of the event loop. */
async function addInSlices(
  snapshot: Snapshot,
  answers: readonly ValidationAnswer[],
  from: number,
  round: LiveRound,
): Promise<void> {
  const clock = new SliceClock();
  for (let index = from; index < answers.length; index++) {
    if ((index - from) % CLOCK_EVERY === 0) await clock.pause();
    addResult(snapshot, answers[index]!, round);
  }
}

function addResult(
  snapshot: Snapshot,
  answer: ValidationAnswer,
  round: {
    results: Map<string, FormatResult>;
    changed: Map<string, readonly string[]>;
    arrived?: [string, FormatResult][];
  },
): void {
  const anchor = snapshot.byRoot.get(answer.root)?.anchor;
  if (anchor === null || anchor === undefined) return;
  if (answer.changed.length > 0) {
    round.changed.set(answer.root, [...answer.changed]);
    return;
  }
  const paths = inputPathsOf(snapshot, answer);
  const result: FormatResult = {
    anchor,
    hashes: new InputValues(paths, answer.hashes),
    stamps: new InputValues(paths, answer.stamps),
    diagnostics: answer.diagnostics.length === 0 ? NO_DIAGNOSTICS : Object.freeze([...answer.diagnostics]),
  };
  round.results.set(answer.root, result);
  round.arrived?.push([answer.root, result]);
}

/** The diagnostics of every result without any: one frozen array, not one per asset. */
const NO_DIAGNOSTICS: readonly Diagnostic[] = Object.freeze([]);

/**
 * The paths an answer's hashes and stamps are for, as the snapshot's own strings: the job was made of the
 * record's unique input paths in order ({@link jobOf}), and the worker's copies of them would be a second copy
 * of every path for as long as the result lives. The answer's paths when the record no longer has those inputs.
 */
function inputPathsOf(snapshot: Snapshot, answer: ValidationAnswer): readonly string[] {
  const record = snapshot.byRoot.get(answer.root);
  const paths = record === undefined ? [] : [...new Set(record.inputs.map((input) => input.assetsPath!))];
  const same = paths.length === answer.paths.length && paths.every((path, index) => path === answer.paths[index]);
  return same ? paths : answer.paths;
}

/** Above this many roots whose format result changed, the snapshot with the results is joined whole. */
const PATCHED_RESULTS = 1_000;

/**
 * How many results a round publishes at least in one revision. A round's results are patched into the snapshot
 * and published in batches, each its own job of the lane with a turn of the event loop between two batches, so
 * the open's round (every asset at once) does not hold the main thread for the whole join: at 10k roots a batch
 * of 200 costs about 10 ms (patch, diff and announce).
 */
export const RESULT_BATCH = 200;

/**
 * How many results of a batch are patched in between two turns of the event loop: a batch larger than this
 * (a round of more than 10,000 jobs, {@link MAX_BATCHES}) is patched in steps of this many outside the lane, and
 * the lane publishes the last step as the batch's one revision, so a batch of 2,000 results at 100k roots does
 * not hold the main thread for its whole patch.
 */
export const PATCH_STEP = RESULT_BATCH;

/**
 * At most this many batches a round publishes: each patch also costs a pass over every record (the snapshot's
 * list of records is rebuilt), so at 100k roots batches of 200 would cost that pass 500 times.
 */
export const MAX_BATCHES = 50;

/**
 * From this many jobs on, a round publishes its results in batches while the worker still computes the rest
 * (the open's round and a reload's): the main thread's patches then run beside the worker on the second core,
 * instead of after it. A smaller round publishes once every answer is in, after it recorded the assets whose
 * inputs changed under it; a streamed one records those after its streamed batches.
 */
export const STREAMED_ROUND_JOBS = 1_000;

/** The size of the batches `count` results are published in. */
export function resultBatchSize(count: number): number {
  return Math.max(RESULT_BATCH, Math.ceil(count / MAX_BATCHES));
}

/** The results of `results` that apply to `current`: to an asset still pending with the very anchor they were computed for. */
function arrivedResults(current: Snapshot, results: Iterable<[string, FormatResult]>): Map<string, FormatResult> {
  const arrived = new Map<string, FormatResult>();
  for (const [root, result] of results) {
    const record = current.byRoot.get(root);
    if (record === undefined || record.anchor !== result.anchor || record.validation !== 'pending') continue;
    arrived.set(root, result);
  }
  return arrived;
}

/**
 * `current` with `arrived` applied at those roots alone (the format-result map patched too, sharing every other
 * result with the current one), so it costs what arrived; undefined where the patch cannot take the snapshot.
 * A result left behind by a declaration that changed applies to no record (`resultFor` checks the anchor); it
 * stays until a whole join or a reload drops it, where walking every result each round to find it cost more
 * than the round.
 */
function patchedWithResults(
  current: Snapshot,
  arrived: ReadonlyMap<string, FormatResult>,
  revision: number,
): Snapshot | undefined {
  return patchSnapshotForReload(
    revision,
    current,
    current.crawl,
    current.parsedRegistry,
    [...arrived.keys()].sort(compareStrings),
    current.quarantine,
    patchMap(current.formatResults, arrived),
  );
}

/** `current` with `arrived` applied, joined whole, with the results that no longer apply dropped. */
function joinedWithResults(current: Snapshot, arrived: ReadonlyMap<string, FormatResult>, revision: number): Snapshot {
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
 * The snapshot `current` becomes with `results` applied (revision `revision`, by default the next one), or
 * null when none of them applies to an asset still pending (the disk moved on meanwhile, or another round
 * already applied them). Results of anchors the snapshot no longer holds are dropped. A few results (up to
 * {@link PATCHED_RESULTS}) are patched in; more, or a snapshot the patch cannot take, are joined whole, which
 * costs less than patching every root but holds the main thread for the whole join: a round publishes its
 * results in batches instead ({@link ProjectValidation}).
 */
export function snapshotWithResults(
  current: Snapshot,
  results: ReadonlyMap<string, FormatResult>,
  revision = current.revision + 1,
): Snapshot | null {
  const arrived = arrivedResults(current, results);
  if (arrived.size === 0) return null;
  const patched = arrived.size <= PATCHED_RESULTS ? patchedWithResults(current, arrived, revision) : undefined;
  return patched ?? joinedWithResults(current, arrived, revision);
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
    if (start > 0) await yieldToClients();
    assets.scope((scoped) => {
      for (const [root, result] of results.slice(start, start + CARRY_CHUNK)) {
        if (previous.byRoot.get(root)?.formatResult !== result) continue;
        let holds = true;
        let stamps: (string | null)[] | undefined;
        let index = -1;
        for (const [path, stamp] of result.stamps) {
          index++;
          // The stamps a crawl took in its walk, when given (a file it did not list has none).
          const now = crawlStamps !== undefined ? (crawlStamps.get(path) ?? null) : stampOf(scoped, path);
          if (now === stamp) continue;
          if (now === null || stamp === null || contentHashOf(scoped, path) !== result.hashes.get(path)) {
            holds = false;
            break;
          }
          (stamps ??= [...result.stamps.values()])[index] = now;
        }
        if (holds)
          carried.set(root, stamps === undefined ? result : { ...result, stamps: carriedStamps(result, stamps) });
      }
    });
  }
  return carried;
}

/** A carried result's new stamps, on the paths array its stamps already share with its hashes. */
function carriedStamps(result: FormatResult, stamps: readonly (string | null)[]): InputValues {
  return result.stamps.with(stamps);
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
  /**
   * Invariant: the results of the round whose batches are being published, or null. A pack that comes between
   * two batches publishes the rest at once instead of validating those assets again.
   */
  private publishing: ReadonlyMap<string, FormatResult> | null = null;
  /** A snapshot whose round failed (a bug); it is not retried until another snapshot is published. */
  private failedOn: Snapshot | null = null;
  /** A snapshot whose round found nothing to validate after all; no round starts again for it. */
  private emptyOn: Snapshot | null = null;
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
  /** How many batches were published as patched in steps outside the lane (for tests). */
  steppedPublishes = 0;

  constructor(
    private readonly host: ValidationHost,
    private readonly runner: ValidationRunner = new ValidationRunner(),
    private readonly log: (message: string) => void = () => undefined,
    /** How many results a step of a batch's patch takes ({@link PATCH_STEP}; tests make it small). */
    private readonly patchStep: number = PATCH_STEP,
  ) {}

  /** Whether `record` of `snapshot` waits for a reload because its inputs changed under the snapshot. */
  private isStalled(snapshot: Snapshot, record: AssetRecord): boolean {
    const stalled = this.stalled.get(record.root);
    return stalled !== undefined && stalled.crawl === snapshot.crawl && stalled.anchor === record.anchor;
  }

  /**
   * Whether a round for `snapshot` would run a job. Cheap where it can be (it runs after every publish): none
   * is pending, or more are pending than can be stalled; else the pending records are looked at.
   */
  private hasJobs(snapshot: Snapshot): boolean {
    if (snapshot.counts.validationPending === 0 || snapshot === this.emptyOn) return false;
    // Stalled assets of an older crawl can never be stalled again: no later snapshot has that crawl.
    for (const [root, stalled] of this.stalled) if (stalled.crawl !== snapshot.crawl) this.stalled.delete(root);
    if (snapshot.counts.validationPending > this.stalled.size) return true;
    return pendingRecordsOf(snapshot).some((record) => !this.isStalled(snapshot, record));
  }

  /** The jobs a round for `snapshot` would run, gathered in time slices. */
  private jobsFor(snapshot: Snapshot): Promise<ValidationJob[]> {
    if (snapshot.counts.validationPending === 0) return Promise.resolve([]);
    return pendingJobsInSlices(snapshot, (record) => this.isStalled(snapshot, record));
  }

  /**
   * The inputs of `snapshot`'s assets that a round found changed after the crawl that listed them (their
   * assets stay `pending`, and the project reports the paths as divergence), sorted.
   */
  changedInputs(snapshot: Snapshot): string[] {
    const paths = new Set<string>();
    if (this.stalled.size === 0) return [];
    for (const record of pendingRecordsOf(snapshot))
      if (this.isStalled(snapshot, record)) for (const path of this.stalled.get(record.root)!.paths) paths.add(path);
    return [...paths].sort();
  }

  /** Starts a round for the current snapshot when it has pending assets and none runs. Called after every publish. */
  schedule(): void {
    if (this.disposed || this.round !== null) return;
    const snapshot = this.host.snapshot();
    if (snapshot === this.failedOn || !this.hasJobs(snapshot)) {
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
    if (this.disposed || (this.round === null && !this.hasJobs(this.host.snapshot()))) return Promise.resolve();
    return new Promise((resolve) => {
      this.settledWaiters.push(resolve);
      this.schedule();
    });
  }

  /**
   * The current snapshot once every asset of it is validated, publishing the results itself (attributed to
   * `operationId`). Only for code running inside the lane (the pack), which therefore never waits for a round's
   * own lane job: the results of a round being published in batches are published here at once, and a round
   * still computing is joined rather than repeated. Assets whose inputs changed under the snapshot stay
   * `pending`: {@link changedInputs} names those inputs.
   */
  async validatedSnapshot(operationId?: string): Promise<Snapshot> {
    const inPack = { operationId };
    if (this.publishing !== null) await this.publishInBatches(this.publishing, inPack);
    const computing = this.computing;
    if (computing !== null) {
      const round = await computing.results;
      this.recordStalled(computing.snapshot, round);
      await this.publishInBatches(round.results, inPack);
    }
    const snapshot = this.host.snapshot();
    if (!this.hasJobs(snapshot)) return snapshot;
    const round = await this.compute(snapshot).done;
    this.recordStalled(snapshot, round);
    await this.publishInBatches(round.results, inPack);
    return this.host.snapshot();
  }

  private async runRound(snapshot: Snapshot): Promise<void> {
    await this.host.beforeRound?.();
    const { live, done } = this.compute(snapshot);
    const streamed = await this.publishWhileComputing(live);
    const round = await done;
    if (this.disposed) return;
    await this.host.inLane(() => this.recordStalled(snapshot, round));
    await this.publishInBatches(streamed === 0 ? round.results : new Map(live.arrived.slice(streamed)));
    // Nothing of it applied (nothing was published since): another round on the same snapshot would find the same.
    if (this.host.snapshot() === snapshot) this.emptyOn = snapshot;
  }

  /**
   * For a round of at least {@link STREAMED_ROUND_JOBS} jobs: publishes its results in batches as the worker's
   * answers arrive, each batch by a lane job of its own as {@link publishInBatches} does, until every answer is
   * in, a pack took the results over or validation stopped. Returns how many of `live.arrived` it published
   * (those a batch found no longer applying included); 0 for a smaller round, which publishes none here.
   */
  private async publishWhileComputing(live: LiveRound): Promise<number> {
    const until = (ready: () => boolean): Promise<void> =>
      ready()
        ? Promise.resolve()
        : new Promise((resolve) => {
            live.wake = () => {
              if (!ready()) return;
              live.wake = undefined;
              resolve();
            };
          });
    await until(() => live.jobs !== undefined || live.complete);
    if (live.complete || live.jobs! < STREAMED_ROUND_JOBS) return 0;
    const size = resultBatchSize(live.jobs!);
    const results = live.results;
    this.publishing = results;
    let start = 0;
    try {
      for (;;) {
        await until(() => live.complete || live.arrived.length - start >= size);
        if (live.complete || this.disposed || this.publishing !== results) return start;
        if (start > 0) await yieldToClients();
        const batch = live.arrived.slice(start, start + size);
        let end = start + batch.length;
        const stepped = batch.length > this.patchStep ? await this.patchedInSteps(batch) : undefined;
        await this.host.inLane(() => {
          if (this.publishing !== results || this.publishStepped(stepped)) return;
          // Where the patch cannot take the snapshot, every result in so far is joined whole.
          const joinedWhole = this.publishBatch(batch, () => live.arrived.slice(start), undefined);
          if (joinedWhole) end = live.arrived.length;
        });
        start = end;
      }
    } finally {
      if (this.publishing === results) this.publishing = null;
    }
  }

  /** Inside the lane: records the assets a round found stalled, and reports their inputs as divergence. */
  private recordStalled(snapshot: Snapshot, round: RoundResults): void {
    const changed: string[] = [];
    for (const [root, paths] of round.changed) {
      const anchor = snapshot.byRoot.get(root)?.anchor;
      if (anchor === null || anchor === undefined) continue;
      this.stalled.set(root, { crawl: snapshot.crawl, anchor, paths });
      changed.push(...paths);
    }
    if (changed.length > 0) this.host.inputsChanged(changed);
  }

  /**
   * Publishes `results` in batches ({@link resultBatchSize}), each patched into the snapshot current at that
   * moment, with a turn of the event loop between two batches; where the patch cannot take the snapshot, every
   * result left is joined whole at once. A round's own publishes each batch by a lane job of its own, so reads
   * and writes queued meanwhile go between two (a result a write made stale applies to nothing), and stops when
   * a pack took its results over. Code inside the lane (a pack's: `inLane`) publishes them directly, attributed
   * to its operation, taking over what a round still had to publish; the lane is held throughout, so nothing
   * else publishes meanwhile.
   */
  private async publishInBatches(
    results: ReadonlyMap<string, FormatResult>,
    inLane?: { readonly operationId: string | undefined },
  ): Promise<void> {
    const own = inLane === undefined;
    const operationId = inLane?.operationId;
    if (own) this.publishing = results;
    else if (this.publishing === results) this.publishing = null;
    const entries = [...results];
    const size = resultBatchSize(entries.length);
    try {
      for (let start = 0; start < entries.length; start += size) {
        if (this.disposed || (own && this.publishing !== results)) return;
        if (start > 0) await yieldToClients();
        let joinedWhole = false;
        const publish = (): void => {
          joinedWhole = this.publishBatch(entries.slice(start, start + size), () => entries.slice(start), operationId);
        };
        if (!own) publish();
        else {
          // Awaited only for a batch of several steps: a smaller one goes to the lane in the same turn, as before.
          const batch = entries.slice(start, start + size);
          const stepped = batch.length > this.patchStep ? await this.patchedInSteps(batch) : undefined;
          await this.host.inLane(() => {
            if (this.publishing === results && !this.publishStepped(stepped)) publish();
          });
        }
        if (joinedWhole) return;
      }
    } finally {
      if (own && this.publishing === results) this.publishing = null;
    }
  }

  /**
   * Outside the lane: the snapshot `batch` makes of the current one, patched in steps of {@link patchStep}
   * results with a turn of the event loop between two, nothing published; with the snapshot it was made from.
   * Undefined for a batch of one step (the lane patches it), or where a step's patch cannot take the snapshot,
   * or where a write published meanwhile: the lane then publishes the batch as {@link publishBatch} does.
   */
  private async patchedInSteps(
    batch: readonly [string, FormatResult][],
  ): Promise<{ readonly base: Snapshot; readonly next: Snapshot } | undefined> {
    if (batch.length <= this.patchStep) return undefined;
    const base = this.host.snapshot();
    const steps: Snapshot[] = [];
    let next = base;
    for (let start = 0; start < batch.length; start += this.patchStep) {
      if (start > 0) await yieldToClients();
      if (this.disposed || this.host.snapshot() !== base) return undefined;
      const arrived = arrivedResults(next, batch.slice(start, start + this.patchStep));
      if (arrived.size === 0) continue;
      const patched = patchedWithResults(next, arrived, base.revision + 1);
      if (patched === undefined) return undefined;
      steps.push(patched);
      next = patched;
    }
    return notePatchChain(base, steps) ? { base, next } : undefined;
  }

  /** Inside the lane: publishes `stepped` when the snapshot it was made from is still the current one. */
  private publishStepped(stepped: { readonly base: Snapshot; readonly next: Snapshot } | undefined): boolean {
    if (stepped === undefined || this.host.snapshot() !== stepped.base) return false;
    this.host.publish(stepped.next);
    this.steppedPublishes++;
    return true;
  }

  /**
   * Inside the lane: publishes what applies of `batch`, patched in; where the patch cannot take the snapshot,
   * what applies of `rest()` (the batch and every result after it) joined whole, and returns true.
   */
  private publishBatch(
    batch: readonly [string, FormatResult][],
    rest: () => readonly [string, FormatResult][],
    operationId?: string,
  ): boolean {
    const current = this.host.snapshot();
    const arrived = arrivedResults(current, batch);
    if (arrived.size === 0) return false;
    const patched = patchedWithResults(current, arrived, current.revision + 1);
    if (patched !== undefined) {
      this.host.publish(patched, operationId);
      return false;
    }
    this.host.publish(joinedWithResults(current, arrivedResults(current, rest()), current.revision + 1), operationId);
    return true;
  }

  /**
   * Starts the computation of `snapshot`'s round: `live` fills as the worker's answers arrive, and `done`
   * resolves with the same results once every answer is in. Where the worker fails, the jobs are validated
   * inline, and the answers not in yet are added from that.
   */
  private compute(snapshot: Snapshot): { readonly live: LiveRound; readonly done: Promise<RoundResults> } {
    const live: LiveRound = {
      results: new Map(),
      changed: new Map(),
      arrived: [],
      jobs: undefined,
      complete: false,
      wake: undefined,
    };
    const wake = (): void => live.wake?.();
    const results = this.jobsFor(snapshot)
      .then(async (jobs) => {
        live.jobs = jobs.length;
        wake();
        // Answers arrive in the jobs' order; those added as they arrived are the first `added` of any list of all.
        let added = 0;
        const onReply = (answers: readonly ValidationAnswer[]): void => {
          for (const answer of answers) addResult(snapshot, answer, live);
          added += answers.length;
          wake();
        };
        const answers = await this.runner.run(this.host.assetsDir, jobs, onReply).catch((error: unknown) => {
          if (this.disposed) throw error;
          this.log(
            `The validation worker failed (${error instanceof Error ? error.message : String(error)}); validating inline.`,
          );
          return validateInline(this.host.assetsDir, jobs);
        });
        await addInSlices(snapshot, answers, added, live);
        return live;
      })
      .finally(() => {
        live.complete = true;
        wake();
      });
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
    return { live, done: results };
  }

  /** Stops validating and the worker; waiters are released. */
  dispose(): void {
    this.disposed = true;
    this.runner.dispose();
    for (const waiter of this.settledWaiters.splice(0)) waiter();
  }
}
