/**
 * The `initWorkspace` write: its preparation (which opens a folder named by `rootUri` first) and its
 * operation, which creates `assets/.prometeu/index.json` when it is absent and never overwrites one.
 */
import { PackerErrorCodes, type ParamsOf, type packerRequests } from '@prometeu/packer-protocol';
import { prepareWrite, type PreparedWrite, type ServerContext } from '../dispatch/context.js';
import { emptyRegistry, parseRegistry, REGISTRY_PATH, serializeRegistry } from '../domain/registry.js';
import { readRegistryText } from '../project/loader.js';
import type { Project } from '../project/project.js';
import type { OperationResult, WriteOperation } from '../project/writer-lane.js';

/** The response of `initWorkspace`. */
export interface InitWorkspaceResponse {
  operationId: string;
  projectId: string;
  outcome: 'created' | 'alreadyValid';
  revision: number;
  registryPath: string;
}

const REGISTRY_PROJECT_PATH = `assets/${REGISTRY_PATH}`;

/** Builds the operation for `project`'s lane. */
export function initWorkspaceOperation(
  project: Project,
  operationId: string,
  signal?: AbortSignal,
): WriteOperation<InitWorkspaceResponse> {
  return {
    operationId,
    operation: 'initWorkspace',
    operationClass: 'workspace',
    ...(signal ? { signal } : {}),
    // An already valid workspace is answered without the lock, so it works on a read-only project.
    claimsWriterItself: true,
    async run(context, scope): Promise<OperationResult<InitWorkspaceResponse>> {
      const respond = (outcome: InitWorkspaceResponse['outcome'], revision: number): InitWorkspaceResponse => ({
        operationId,
        projectId: project.id,
        outcome,
        revision,
        registryPath: REGISTRY_PROJECT_PATH,
      });
      const existing = readRegistryText(project.assetsFs);
      if (existing.text !== null || existing.readError !== undefined) {
        const parsed = parseRegistry(existing.text, existing.readError);
        if (parsed.registry !== null)
          return { status: 'succeeded', response: respond('alreadyValid', project.snapshot().revision) };
        const problem = parsed.diagnostics[0]?.message ?? 'it is invalid';
        return {
          status: 'failed',
          error: {
            code: PackerErrorCodes.RegistryInvalid,
            message: `${REGISTRY_PROJECT_PATH} exists but is not a valid registry, and the packer never overwrites it: ${problem}`,
            data: { path: REGISTRY_PROJECT_PATH, problem },
          },
        };
      }
      if (context.signal.aborted) return { status: 'cancelled' };
      const refusal = context.claimWriter();
      if (refusal !== undefined) return { status: 'failed', error: refusal };
      await project.assetsFs.makeFolders('.prometeu');
      const created = await project.assetsFs.createFileExclusive(REGISTRY_PATH, serializeRegistry(emptyRegistry()));
      if (!created) {
        // Someone created it between our read and our write: report what is there now.
        const parsed = parseRegistry(readRegistryText(project.assetsFs).text);
        if (parsed.registry !== null)
          return { status: 'succeeded', response: respond('alreadyValid', project.snapshot().revision) };
      }
      const snapshot = await scope.reload('initWorkspace');
      scope.startDeferredWatching();
      return { status: 'succeeded', response: respond('created', snapshot.revision), revision: snapshot.revision };
    },
  };
}

/** Prepares `packer/initWorkspace`: opens the folder first when named by `rootUri` (its `assets/` may not exist yet). */
export async function prepareInitWorkspace(
  context: ServerContext,
  params: ParamsOf<(typeof packerRequests)['initWorkspace']>,
): Promise<PreparedWrite<InitWorkspaceResponse>> {
  const project =
    params.rootUri !== undefined
      ? await context.host.open(params.rootUri, { allowMissingAssets: true })
      : context.host.get(params.projectId!);
  return prepareWrite(context, project, params, (operationId) =>
    initWorkspaceOperation(project, operationId, context.signal),
  );
}
