/**
 * The `pack` write, its preparation and its operation: pack the frozen current snapshot (re-validated from scratch), then stage and promote
 * the artifacts into `build/`. Blocked and diverged packs are outcomes; `build/` is untouched by them and
 * by cancellation.
 */
import type { ParamsOf, ResultOf, packerRequests } from '@prometeu/packer-protocol';
import { prepareWrite, type PreparedWrite, type ServerContext } from '../dispatch/context.js';
import { writeBuildOutputs } from '../pack/build-output.js';
import { PACK_CACHE_PATH, packSnapshot } from '../pack/pack.js';
import { forgetPackState, resavePackState, savePackState, upToDateState, type PackState } from '../pack/pack-state.js';
import type { Project } from '../project/project.js';
import type { OperationResult, WriteOperation } from '../project/writer-lane.js';
import { toPackArtifact, toPackedAssetSummary } from '../wire/convert.js';

/** How many progress events a pack reports at most (one per asset up to this many assets). */
const PROGRESS_REPORTS = 100;

/**
 * The asset summaries of an up-to-date answer, by the record that proved `build/` up to date, made once: packs with
 * nothing changed answer the same record again and again (8,709 summaries at 10k roots, a spread each).
 */
const upToDateAssets = new WeakMap<PackState, PackResponse['assets']>();

function upToDateAssetsOf(state: PackState): PackResponse['assets'] {
  const known = upToDateAssets.get(state);
  if (known !== undefined) return known;
  // Frozen, as every answer is (see answer): shared by every response that names this record.
  const assets: PackResponse['assets'] = state.assets.map((asset) => Object.freeze({ ...asset, fromCache: false }));
  Object.freeze(assets);
  upToDateAssets.set(state, assets);
  return assets;
}

/** The response of `pack`. */
export type PackResponse = ResultOf<(typeof packerRequests)['pack']>;

/**
 * `response` frozen, with its JSON computed now in slices of the event loop's time (`Project.prepareAnswer`): it
 * names every asset of the build set (or every blocker), megabytes at 100k roots, which serialised when sent
 * held the main thread for hundreds of milliseconds, once for the response and once for the terminal event.
 */
async function answer(project: Project, response: PackResponse): Promise<PackResponse> {
  Object.freeze(response);
  await project.prepareAnswer(response);
  return response;
}

/** Builds the pack operation for `project`'s lane. */
export function packOperation(
  project: Project,
  operationId: string,
  params: ParamsOf<(typeof packerRequests)['pack']>,
  signal?: AbortSignal,
): WriteOperation<PackResponse> {
  return {
    operationId,
    operation: 'pack',
    operationClass: 'build',
    // A pack checks for cancellation at every asset, until it starts promoting build/.
    cancellableOnceStarted: true,
    ...(signal ? { signal } : {}),
    async run(context, scope): Promise<OperationResult<PackResponse>> {
      // A pack packs only what a snapshot validated: pending format checks finish (and are published) first.
      const snapshot = await scope.validatedSnapshot();
      if (context.signal.aborted) return { status: 'cancelled' };
      const base: PackResponse = {
        operationId,
        projectId: project.id,
        outcome: 'succeeded',
        revision: snapshot.revision,
        blockers: [],
        artifacts: [],
        assets: [],
        materialized: 0,
        fromCache: 0,
      };
      // What the project reports as diverged is never packed, even where the bytes still hash as validated.
      const divergedPaths = project.divergedInputs(snapshot);
      if (divergedPaths.length > 0)
        return {
          status: 'failed',
          response: await answer(project, {
            ...base,
            outcome: 'failed',
            failure: 'diverged',
            reason: `The project reports ${divergedPaths.length} path(s) the pack would read as changed since revision ${snapshot.revision}; reconcile, then pack again. Nothing in build/ was changed.`,
            divergedPaths,
          }),
        };
      const incremental = params.incremental !== false;
      const cache = project.assetsFs.at(PACK_CACHE_PATH);
      // Nothing changed since the pack that wrote build/: keep it, untouched (incremental packs only, and
      // never while the watcher knows of a divergence: the disk is then not what the snapshot says).
      const current =
        incremental && !project.watch.divergence().diverged
          ? await upToDateState(snapshot, { root: project.fs, assets: project.assetsFs, cache })
          : null;
      if (current !== null) {
        if (current.refreshed !== null) await resavePackState(cache, current.refreshed);
        return {
          status: 'succeeded',
          response: await answer(project, {
            ...base,
            upToDate: true,
            artifacts: current.state.written.map(toPackArtifact),
            assets: upToDateAssetsOf(current.state),
          }),
        };
      }
      // Cache entries still being written when the pack returns; build/ is written alongside them.
      let cacheFilled: Promise<void> = Promise.resolve();
      const outcome = await packSnapshot(snapshot, project.assetsFs, {
        signal: context.signal,
        onProgress: (done, total, assetName) => {
          // At most PROGRESS_REPORTS events per pack (each asset of a small pack, and always the last one):
          // a pack of thousands of assets must not spend its time and the client's on progress messages.
          if (done === total || done % Math.ceil(total / PROGRESS_REPORTS) === 0)
            context.progress(done, total, 'assets', assetName);
        },
        onCacheFilling: (filled) => {
          cacheFilled = filled;
        },
        ...(incremental ? {} : { cacheDir: null }),
      });
      try {
        switch (outcome.status) {
          case 'cancelled':
            return { status: 'cancelled' };
          case 'blocked':
            return {
              status: 'failed',
              response: await answer(project, { ...base, outcome: 'blocked', blockers: [...outcome.diagnostics] }),
            };
          case 'diverged':
            return {
              status: 'failed',
              response: await answer(project, {
                ...base,
                outcome: 'failed',
                failure: 'diverged',
                reason: `The disk no longer matches revision ${snapshot.revision} at ${outcome.paths.length} path(s); reconcile, then pack again. Nothing in build/ was changed.`,
                divergedPaths: [...outcome.paths],
              }),
            };
          case 'succeeded':
            break;
        }
        // The last checkpoint: once promotion starts it runs to the end (or undoes itself on failure).
        if (context.signal.aborted) return { status: 'cancelled' };
        context.pastLastCheckpoint();
        // The record describes the build/ about to be replaced: it goes first, so that no failure below can
        // leave a record that vouches for a build/ it did not see written.
        await forgetPackState(cache);
        const written = await writeBuildOutputs(project.fs, outcome.artifacts);
        // What this pack read and wrote, so that the next pack with nothing changed can keep build/ as it is.
        if (outcome.record !== null) await savePackState({ root: project.fs, cache }, outcome.record, written);
        return {
          status: 'succeeded',
          response: await answer(project, {
            ...base,
            artifacts: written.map(toPackArtifact),
            assets: outcome.entries.map(toPackedAssetSummary),
            materialized: outcome.materialized.length,
            fromCache: outcome.fromCache.length,
          }),
        };
      } finally {
        await cacheFilled;
      }
    },
  };
}

/** Prepares `packer/pack`. */
export function preparePack(
  context: ServerContext,
  params: ParamsOf<(typeof packerRequests)['pack']>,
): PreparedWrite<PackResponse> {
  const project = context.host.get(params.projectId);
  return prepareWrite(context, project, params, (operationId) =>
    packOperation(project, operationId, params, context.signal),
  );
}
