/**
 * The `applyMutation` write (and its notification form `submitMutation`): its preparation (which
 * project, which operation class) and its operation, which re-plans the mutation against the current
 * snapshot inside the lane, compares with the preview it names, demands consent, then commits all or
 * nothing. Every refusal is an outcome value (`rejected` with reasons), never an exception.
 */
import type { ApplyResult, MutationIntent, OperationClass, ParamsOf, packerRequests } from '@prometeu/packer-protocol';
import { prepareWrite, type PreparedWrite, type ServerContext } from '../dispatch/context.js';
import { toMutationPreview } from '../wire/convert.js';
import { DiskChangedError } from '../mutations/execute.js';
import {
  fixedOperationClass,
  planMutation,
  samePlannedChanges,
  type Allocations,
  type MutationPlan,
} from '../mutations/plan.js';
import type { Project } from '../project/project.js';
import type { OperationResult, WriteOperation } from '../project/writer-lane.js';

/** What an apply is asked to do. */
export interface ApplyRequest {
  readonly previewId?: string;
  readonly mutation?: MutationIntent;
  readonly expectedRevision?: number;
  readonly consent?: boolean;
}

type Reason = ApplyResult['reasons'][number];

/** Builds the apply operation for `project`'s lane. */
export function applyMutationOperation(
  project: Project,
  operationId: string,
  request: ApplyRequest,
  newUuid: () => string,
  operationClass: OperationClass,
  signal?: AbortSignal,
): WriteOperation<ApplyResult> {
  return {
    operationId,
    operation: 'applyMutation',
    operationClass,
    ...(signal ? { signal } : {}),
    async run(context, scope): Promise<OperationResult<ApplyResult>> {
      const snapshot = project.snapshot();
      const respond = (
        outcome: ApplyResult['outcome'],
        plan: MutationPlan | null,
        reasons: Reason[],
        revision = project.snapshot().revision,
      ): ApplyResult => ({
        operationId,
        projectId: project.id,
        outcome,
        revision,
        reasons,
        preview: plan ? toMutationPreview(project.id, request.previewId ?? `${operationId}-plan`, plan) : null,
      });
      const reject = (plan: MutationPlan | null, reason: Reason): OperationResult<ApplyResult> => ({
        status: 'failed',
        response: respond('rejected', plan, [reason]),
      });

      let intent = request.mutation;
      let allocations: Allocations = { uuid: newUuid(), time: project.now().toISOString() };
      let previewed: MutationPlan | undefined;
      if (request.previewId !== undefined) {
        const stored = project.preview(request.previewId);
        if (stored === undefined) {
          return reject(null, {
            code: 'unknownPreview',
            message: `No preview ${request.previewId} is known to this server (it may be older than the last 1000 previews, or from another server run). Preview again.`,
          });
        }
        intent = stored.plan.intent;
        allocations = stored.allocations;
        previewed = stored.plan;
      }
      if (request.expectedRevision !== undefined && request.expectedRevision !== snapshot.revision) {
        return reject(null, {
          code: 'staleRevision',
          message: `The apply expected revision ${request.expectedRevision}, but the project is at revision ${snapshot.revision}; nothing was changed. Preview again.`,
        });
      }
      const plan = planMutation(snapshot, intent!, allocations);
      if (previewed !== undefined && !samePlannedChanges(previewed, plan)) {
        return reject(plan, {
          code: 'stalePreview',
          message: `Preview ${request.previewId} was computed at revision ${previewed.baseRevision}; at revision ${snapshot.revision} the same mutation would do something else (see preview). Nothing was changed.`,
        });
      }
      if (plan.blockers.length > 0) {
        return reject(plan, {
          code: 'blocked',
          message: plan.blockers.map((blocker) => blocker.message).join(' '),
          issues: [...plan.blockers],
        });
      }
      const diverged = project.watch.touches(touchedPaths(plan));
      if (diverged !== undefined) {
        return reject(plan, {
          code: 'diverged',
          message: `${diverged.path} changed on disk outside the packer (${diverged.change}) and this mutation touches it; reconcile first, then preview again. Nothing was changed.`,
        });
      }
      if (plan.requiresConsent && request.consent !== true) {
        return reject(plan, {
          code: 'consentRequired',
          message: `This ${plan.intent.kind} ${plan.consentReason}; apply it again with consent: true. Nothing was changed.`,
        });
      }
      if (plan.effect.actions.length === 0 && plan.effect.registry === null) {
        return { status: 'succeeded', response: respond('applied', plan, []) };
      }
      if (context.signal.aborted) return { status: 'cancelled' };
      try {
        const next = await scope.commit(plan);
        return { status: 'succeeded', response: respond('applied', plan, [], next.revision), revision: next.revision };
      } catch (error) {
        if (!(error instanceof DiskChangedError)) throw error;
        return reject(plan, {
          code: 'diskChanged',
          message: `${error.message} Nothing was changed; reconcile, then preview again.`,
        });
      }
    },
  };
}

/** Every path a plan depends on: the roots it affects, the paths it changes, and the registry when it changes it. */
function touchedPaths(plan: MutationPlan): string[] {
  const paths = new Set<string>();
  for (const asset of plan.affectedAssets) paths.add(asset.root);
  for (const change of plan.filesystemChanges) {
    paths.add(change.path);
    if (change.to !== undefined) paths.add(change.to);
  }
  if (plan.registryChanges.length > 0) paths.add('.prometeu/index.json');
  return [...paths];
}

/** Prepares `packer/applyMutation` and `packer/submitMutation` (whose params are the same plus a required id). */
export function prepareApplyMutation(
  context: ServerContext,
  params: ParamsOf<(typeof packerRequests)['applyMutation']>,
): PreparedWrite<ApplyResult> {
  const project = context.host.get(params.projectId);
  const request = {
    ...(params.previewId !== undefined ? { previewId: params.previewId } : {}),
    ...(params.mutation !== undefined ? { mutation: params.mutation } : {}),
    ...(params.expectedRevision !== undefined ? { expectedRevision: params.expectedRevision } : {}),
    ...(params.consent !== undefined ? { consent: params.consent } : {}),
  };
  // The class events announce: the stored preview's, or what the intent does against the current snapshot.
  const stored = params.previewId !== undefined ? project.preview(params.previewId) : undefined;
  // A kind whose class is fixed is not planned here: the plan in the lane is the one that counts.
  const operationClass =
    stored?.plan.operationClass ??
    (params.mutation !== undefined
      ? (fixedOperationClass(params.mutation.kind) ??
        planMutation(project.snapshot(), params.mutation, { uuid: '' }).operationClass)
      : 'registry');
  return prepareWrite(context, project, params, (operationId) =>
    applyMutationOperation(project, operationId, request, project.newUuid, operationClass, context.signal),
  );
}
