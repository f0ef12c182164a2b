/**
 * The `pack` write: pack the frozen current snapshot (re-validated from scratch), then stage and promote
 * the artifacts into `build/`. Blocked and diverged packs are outcomes; `build/` is untouched by them and
 * by cancellation.
 */
import type { ParamsOf, ResultOf, packerRequests } from '@prometeu/packer-protocol';
import { writeBuildOutputs } from '../pack/build-output.js';
import { packSnapshot } from '../pack/pack.js';
import type { Project } from '../project/project.js';
import type { OperationResult, WriteOperation } from '../project/writer-lane.js';

/** The response of `pack`. */
export type PackResponse = ResultOf<(typeof packerRequests)['pack']>;

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
    ...(signal ? { signal } : {}),
    async run(context): Promise<OperationResult<PackResponse>> {
      const snapshot = project.snapshot();
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
      const outcome = await packSnapshot(snapshot, project.assetsFs, {
        signal: context.signal,
        onProgress: (done, total, assetName) => context.progress(done, total, 'assets', assetName),
        ...(params.incremental === false ? { cacheDir: null } : {}),
      });
      switch (outcome.status) {
        case 'cancelled':
          return { status: 'cancelled' };
        case 'blocked':
          return { status: 'failed', response: { ...base, outcome: 'blocked', blockers: [...outcome.diagnostics] } };
        case 'diverged':
          return {
            status: 'failed',
            response: {
              ...base,
              outcome: 'failed',
              reason: `The disk no longer matches revision ${snapshot.revision} at ${outcome.paths.length} path(s); reconcile, then pack again. Nothing in build/ was changed.`,
              divergedPaths: [...outcome.paths],
            },
          };
        case 'succeeded':
          break;
      }
      // The last checkpoint: once promotion starts it runs to the end (or undoes itself on failure).
      if (context.signal.aborted) return { status: 'cancelled' };
      const written = await writeBuildOutputs(project.fs, outcome.artifacts);
      return {
        status: 'succeeded',
        response: {
          ...base,
          artifacts: written.map((artifact) => ({
            name: artifact.name,
            path: `build/${artifact.name}`,
            size: artifact.size,
            sha256: artifact.sha256,
          })),
          assets: outcome.entries.map((entry) => ({
            assetId: entry.assetId,
            name: entry.name,
            root: entry.root,
            bankType: entry.bankType,
            format: entry.format,
            offset: entry.offset,
            size: entry.size,
            decodedSize: entry.decodedSize,
            preload: entry.preload,
            fromCache: entry.fromCache,
          })),
          materialized: outcome.materialized.length,
          fromCache: outcome.fromCache.length,
        },
      };
    },
  };
}
