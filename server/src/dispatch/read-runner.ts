/**
 * The read lane: a read pins its project's snapshot once, so the whole answer comes from one revision, and
 * never waits for the writer. A failed project answers only the reads whose declaration says so; a loading
 * project answers those that say so at once, and every other read once its first snapshot is published.
 */
import { PackerErrorCodes } from '@prometeu/packer-protocol';
import { CancelledError, PackerError } from '../errors.js';
import { readViewOf, type ReadContext, type ServerContext } from './context.js';

/** Runs a read handler against a freshly pinned snapshot of the project its params name. */
export async function runRead<P extends { projectId: string }, R>(
  context: ServerContext,
  policy: { readonly answeredWhileFailed: boolean; readonly answeredWhileLoading: boolean },
  params: P,
  handle: (context: ReadContext, params: P) => R | Promise<R>,
): Promise<R> {
  let project = context.host.get(params.projectId);
  if (project.loading && !policy.answeredWhileLoading) {
    await untilLoadedOrCancelled(project.whenLoaded(), context.signal);
    if (context.signal.aborted) throw new CancelledError();
    // A load that failed forgot the project: this answers `UnknownProject`.
    project = context.host.get(params.projectId);
  }
  const failure = project.failed();
  if (failure !== undefined && !policy.answeredWhileFailed) {
    throw new PackerError(PackerErrorCodes.ProjectFailed, `Project ${project.id} failed: ${failure}`, {
      projectId: project.id,
      reason: failure,
    });
  }
  const result = await handle(
    { snapshot: project.snapshot(), project: readViewOf(project), signal: context.signal },
    params,
  );
  if (context.signal.aborted) throw new CancelledError();
  return result;
}

/** Resolves when `loaded` does or `signal` aborts, whichever comes first. */
function untilLoadedOrCancelled(loaded: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done);
    void loaded.then(done);
  });
}
