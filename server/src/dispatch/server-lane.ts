/**
 * The server lane: the requests that manage the set of open projects (open, close). They never change a
 * project's files themselves.
 */
import type { ParamsOf, ResultOf, packerRequests } from '@prometeu/packer-protocol';
import { toProjectStatus } from '../wire/convert.js';
import { readViewOf, type ServerContext } from './context.js';

type Requests = typeof packerRequests;

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
