/**
 * Handlers that manage the set of open projects, and the preparation of writes (which project's lane,
 * which operation). They never change a project's files themselves.
 */
import { type ApplyResult, type ParamsOf, type ResultOf, packerRequests } from '@prometeu/packer-protocol';
import { planMutation } from '../mutations/plan.js';
import { applyMutationOperation } from '../operations/apply-mutation.js';
import { initWorkspaceOperation, type InitWorkspaceResponse } from '../operations/init-workspace.js';
import { reconcileOperation, type ReconcileResponse } from '../operations/reconcile.js';
import { packOperation, type PackResponse } from '../operations/pack.js';
import type { Project } from '../project/project.js';
import type { WriteOperation } from '../project/writer-lane.js';
import type { PreparedWrite, ServerContext } from './context.js';
import { readViewOf } from './context.js';
import { toProjectStatus } from '../wire/convert.js';

type Requests = typeof packerRequests;

/** What every write request may carry besides its own params. */
interface WriteParams {
  readonly operationId?: string | undefined;
  readonly workDoneToken?: string | number | undefined;
}

/** Prepares a write on `project`: picks the operation id (the client's, or a new one) and keeps the progress token. */
function prepared<R>(
  context: ServerContext,
  project: Project,
  params: WriteParams,
  build: (operationId: string) => WriteOperation<R>,
): PreparedWrite<R> {
  const operation = build(params.operationId ?? context.host.nextOperationId());
  return { project, operation, ...(params.workDoneToken !== undefined ? { workDoneToken: params.workDoneToken } : {}) };
}

/** `packer/openProject`. */
export async function openProject(
  context: ServerContext,
  params: ParamsOf<Requests['openProject']>,
): Promise<ResultOf<Requests['openProject']>> {
  const project = await context.host.open(
    params.rootUri,
    params.autoReconcile !== undefined ? { autoReconcile: params.autoReconcile } : context.defaults,
  );
  return toProjectStatus(readViewOf(project), project.snapshot());
}

/** `packer/closeProject`. */
export async function closeProject(
  context: ServerContext,
  params: ParamsOf<Requests['closeProject']>,
): Promise<ResultOf<Requests['closeProject']>> {
  await context.host.close(params.projectId);
  return { projectId: params.projectId, closed: true };
}

/** `packer/initWorkspace`: opens the folder first when named by `rootUri` (its `assets/` may not exist yet). */
export async function prepareInitWorkspace(
  context: ServerContext,
  params: ParamsOf<Requests['initWorkspace']>,
): Promise<PreparedWrite<InitWorkspaceResponse>> {
  const project =
    params.rootUri !== undefined
      ? await context.host.open(params.rootUri, { allowMissingAssets: true })
      : context.host.get(params.projectId!);
  return prepared(context, project, params, (operationId) =>
    initWorkspaceOperation(project, operationId, context.signal),
  );
}

/** `packer/applyMutation` and `packer/submitMutation`. */
export function prepareApplyMutation(
  context: ServerContext,
  params: ParamsOf<Requests['applyMutation']>,
): PreparedWrite<ApplyResult> {
  const project = context.host.get(params.projectId);
  const request = {
    ...(params.previewId !== undefined ? { previewId: params.previewId } : {}),
    ...(params.mutation !== undefined ? { mutation: params.mutation } : {}),
    ...(params.expectedRevision !== undefined ? { expectedRevision: params.expectedRevision } : {}),
    ...(params.consent !== undefined ? { consent: params.consent } : {}),
  };
  // The class events announce: the stored preview's, or what the intent does against the current snapshot.
  const stored = params.previewId !== undefined ? project.previews.get(params.previewId) : undefined;
  const operationClass =
    stored?.plan.operationClass ??
    (params.mutation !== undefined
      ? planMutation(project.snapshot(), params.mutation, { uuid: '' }).operationClass
      : 'registry');
  return prepared(context, project, params, (operationId) =>
    applyMutationOperation(project, operationId, request, project.newUuid, operationClass, context.signal),
  );
}

/** `packer/reconcile`. */
export function prepareReconcile(
  context: ServerContext,
  params: ParamsOf<Requests['reconcile']>,
): PreparedWrite<ReconcileResponse> {
  const project = context.host.get(params.projectId);
  return prepared(context, project, params, (operationId) => reconcileOperation(project, operationId, context.signal));
}

/** `packer/pack`. */
export function preparePack(context: ServerContext, params: ParamsOf<Requests['pack']>): PreparedWrite<PackResponse> {
  const project = context.host.get(params.projectId);
  return prepared(context, project, params, (operationId) =>
    packOperation(project, operationId, params, context.signal),
  );
}
