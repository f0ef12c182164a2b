/**
 * Handlers that manage the set of open projects, and the preparation of writes (which project's lane,
 * which operation). They never change a project's files themselves.
 */
import { type ParamsOf, type ResultOf, packerRequests } from '@prometeu/packer-protocol';
import { initWorkspaceOperation, type InitWorkspaceResponse } from '../operations/init-workspace.js';
import type { PreparedWrite, ServerContext } from './context.js';
import { readViewOf } from './context.js';
import { toProjectStatus } from './convert.js';

type Requests = typeof packerRequests;

/** `packer/openProject`. */
export function openProject(context: ServerContext, params: ParamsOf<Requests['openProject']>): ResultOf<Requests['openProject']> {
  const project = context.host.open(params.rootUri);
  return toProjectStatus(readViewOf(project), project.snapshot());
}

/** `packer/closeProject`. */
export async function closeProject(context: ServerContext, params: ParamsOf<Requests['closeProject']>): Promise<ResultOf<Requests['closeProject']>> {
  await context.host.close(params.projectId);
  return { projectId: params.projectId, closed: true };
}

/** `packer/initWorkspace`: opens the folder first when named by `rootUri` (its `assets/` may not exist yet). */
export function prepareInitWorkspace(context: ServerContext, params: ParamsOf<Requests['initWorkspace']>): PreparedWrite<InitWorkspaceResponse> {
  const project = params.rootUri !== undefined ? context.host.open(params.rootUri, { allowMissingAssets: true }) : context.host.get(params.projectId!);
  const operationId = params.operationId ?? context.host.nextOperationId();
  return {
    project,
    operation: initWorkspaceOperation(project, operationId, context.signal),
    ...(params.workDoneToken !== undefined ? { workDoneToken: params.workDoneToken } : {}),
  };
}
