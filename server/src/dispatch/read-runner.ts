/**
 * The read lane: a read pins its project's snapshot once, so the whole answer comes from one revision, and
 * never waits for the writer. A failed project answers only the reads whose declaration says so; a loading
 * project answers those that say so at once, and every other read once its first snapshot is published.
 */
import { PackerErrorCodes } from '@prometeu/packer-protocol';
import { CancelledError, PackerError } from '../errors.js';
import type { Project } from '../project/project.js';
import { readViewOf, type ReadContext, type ServerContext } from './context.js';

/**
 * Runs a read handler against a freshly pinned snapshot of the project its params name. A handler that
 * answers synchronously is answered as it returns unless the request was cancelled before it was served
 * (a cancellation is a message of its own: none can arrive while the handler runs), and the request's
 * signal is then never made.
 */
export function runRead<P extends { projectId: string }, R>(
  context: ServerContext,
  policy: { readonly answeredWhileFailed: boolean; readonly answeredWhileLoading: boolean },
  params: P,
  handle: (context: ReadContext, params: P) => R | Promise<R>,
): R | Promise<R> {
  const project = context.host.get(params.projectId);
  if (project.loading && !policy.answeredWhileLoading) return runAfterLoad(context, policy, params, handle);
  return runPinned(context, policy, project, params, handle);
}

/** The read of a project still loading: waits for its first snapshot (or the cancellation), then runs. */
async function runAfterLoad<P extends { projectId: string }, R>(
  context: ServerContext,
  policy: { readonly answeredWhileFailed: boolean; readonly answeredWhileLoading: boolean },
  params: P,
  handle: (context: ReadContext, params: P) => R | Promise<R>,
): Promise<R> {
  await untilLoadedOrCancelled(context.host.get(params.projectId).whenLoaded(), context.signal);
  if (context.signal.aborted) throw new CancelledError();
  // A load that failed forgot the project: this answers `UnknownProject`.
  return runPinned(context, policy, context.host.get(params.projectId), params, handle);
}

function runPinned<P extends { projectId: string }, R>(
  context: ServerContext,
  policy: { readonly answeredWhileFailed: boolean },
  project: Project,
  params: P,
  handle: (context: ReadContext, params: P) => R | Promise<R>,
): R | Promise<R> {
  const failure = project.failed();
  if (failure !== undefined && !policy.answeredWhileFailed) {
    throw new PackerError(PackerErrorCodes.ProjectFailed, `Project ${project.id} failed: ${failure}`, {
      projectId: project.id,
      reason: failure,
    });
  }
  const readContext: ReadContext = {
    snapshot: project.snapshot(),
    project: readViewOf(project),
    // Read through the request's context, which makes the signal only when someone asks.
    get signal() {
      return context.signal;
    },
  };
  const result = handle(readContext, params);
  if (!(result instanceof Promise)) {
    // A cancellation that arrived with the request (in the same chunk) is known before it is served.
    if (context.cancelled()) throw new CancelledError();
    return result;
  }
  return result.then((value) => {
    if (context.signal.aborted) throw new CancelledError();
    return value;
  });
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
