/**
 * The `reconcile` write, its preparation and its operation: accept the disk's current truth into a new
 * snapshot and report what changed.
 * The registry is never edited here: a vanished or moved root becomes a diagnostic with a safe fix.
 */
import { PackerErrorCodes, type ParamsOf, type packerRequests } from '@prometeu/packer-protocol';
import { prepareWrite, type PreparedWrite, type ServerContext } from '../dispatch/context.js';
import { diffSnapshots } from '../domain/snapshot-diff.js';
import type { Project } from '../project/project.js';
import type { OperationResult, WriteOperation } from '../project/writer-lane.js';
import type { SnapshotDiff } from '../domain/snapshot-diff.js';
import { toDivergentChange } from '../wire/convert.js';

/** The response of `reconcile`. */
export interface ReconcileResponse {
  operationId: string;
  projectId: string;
  previousRevision: number;
  revision: number;
  diff: SnapshotDiff;
  clearedChanges: number;
  accepted: { path: string; change: 'added' | 'changed' | 'removed' | 'moved'; from?: string }[];
}

/** Builds the reconcile operation for `project`'s lane. */
export function reconcileOperation(
  project: Project,
  operationId: string,
  signal?: AbortSignal,
): WriteOperation<ReconcileResponse> {
  return {
    operationId,
    operation: 'reconcile',
    operationClass: 'runtime-state',
    ...(signal ? { signal } : {}),
    // A reconcile on a read-only disk writes nothing, so it claims the lock itself and tolerates EROFS.
    claimsWriterItself: true,
    async run(context, scope): Promise<OperationResult<ReconcileResponse>> {
      scope.reconcileStarted();
      if (context.signal.aborted) return { status: 'cancelled' };
      // A write a stopped writer left half done is finished (or undone) first, never published as is.
      // The lock is needed to finish an interrupted write and to record fingerprints. When it cannot be
      // created at all (a read-only disk) and there is no journal, the reconcile still runs and writes nothing.
      const refusal = context.claimWriter();
      if (refusal !== undefined && (refusal.code !== PackerErrorCodes.WriteFailed || project.hasInterruptedWrite()))
        return { status: 'failed', error: refusal };
      if (refusal === undefined) await scope.recoverInterruptedWrite();
      const before = project.snapshot();
      const after = await scope.reload('reconcile');
      const accepted = await project.watch.afterReconcile();
      return {
        status: 'succeeded',
        revision: after.revision,
        response: {
          operationId,
          projectId: project.id,
          previousRevision: before.revision,
          revision: after.revision,
          diff: diffSnapshots(before, after),
          clearedChanges: accepted.length,
          accepted: accepted.map(toDivergentChange),
        },
      };
    },
  };
}

/** Prepares `packer/reconcile`. */
export function prepareReconcile(
  context: ServerContext,
  params: ParamsOf<(typeof packerRequests)['reconcile']>,
): PreparedWrite<ReconcileResponse> {
  const project = context.host.get(params.projectId);
  return prepareWrite(context, project, params, (operationId) =>
    reconcileOperation(project, operationId, context.signal),
  );
}
