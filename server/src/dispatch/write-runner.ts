/**
 * The write lane runner: submits a prepared write into its project's lane, mirrors its events as LSP
 * `$/progress` when the request carried a `workDoneToken`, and turns the lane's outcome into the
 * response (or the error) the request answers with.
 */
import { isTerminalKind } from '@prometeu/packer-protocol';
import type {
  WorkDoneProgressBegin,
  WorkDoneProgressEnd,
  WorkDoneProgressReport,
} from 'vscode-languageserver-protocol';
import { CancelledError, PackerError, ProtocolError } from '../errors.js';
import type { LaneOutcome } from '../project/writer-lane.js';
import type { PreparedWrite } from './context.js';

/** One `$/progress` value of LSP's work-done progress. */
export type WorkDoneProgressValue = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

/**
 * Mirrors one operation's events as LSP work-done progress on its token: `begin` when it starts (with
 * `cancellable` true only for operations cancelling can still stop once started), `report` for each
 * progress event (and once with `cancellable: false` when it passes its last checkpoint), `end` with its
 * terminal event. Nothing is sent before `begin`: a write cancelled while queued, or refused, sends nothing.
 * Returns the function that stops mirroring.
 */
export function mirrorProgress(
  prepared: PreparedWrite<unknown>,
  send: (value: WorkDoneProgressValue) => void,
): () => void {
  const { lane, operation } = prepared;
  let begun = false;
  let ended = false;
  let cancellable = operation.cancellableOnceStarted === true;
  const stopEvents = lane.subscribe((event) => {
    if (event.operationId !== operation.operationId || ended) return;
    if (event.kind === 'operation.started') {
      begun = true;
      send({ kind: 'begin', title: operation.operation, cancellable });
      return;
    }
    if (!begun) return;
    if (event.kind === 'operation.progress') {
      const { done, total, message } = event.body;
      send({
        kind: 'report',
        ...(total ? { percentage: Math.min(100, Math.floor((done / total) * 100)) } : {}),
        ...(message !== undefined ? { message } : {}),
      });
    } else if (isTerminalKind(event.kind)) {
      ended = true;
      send({ kind: 'end', message: event.kind.slice('operation.'.length) });
    }
  });
  const stopCheckpoints = lane.onPastLastCheckpoint((operationId) => {
    if (operationId !== operation.operationId || !begun || ended || !cancellable) return;
    cancellable = false;
    send({ kind: 'report', cancellable: false });
  });
  return () => {
    stopEvents();
    stopCheckpoints();
  };
}

/** Makes the runner of one connection; `sendProgress` sends one `$/progress` notification. */
export function createWriteRunner(
  sendProgress: (token: string | number, value: WorkDoneProgressValue) => void,
): <R>(prepared: PreparedWrite<R>) => Promise<R> {
  return async <R>(prepared: PreparedWrite<R>): Promise<R> => {
    const { lane, operation, workDoneToken } = prepared;
    const stopMirror =
      workDoneToken !== undefined ? mirrorProgress(prepared, (value) => sendProgress(workDoneToken, value)) : undefined;
    let outcome: LaneOutcome<R>;
    try {
      outcome = await lane.submit(operation);
    } finally {
      stopMirror?.();
    }
    switch (outcome.status) {
      case 'succeeded':
        return outcome.response;
      case 'failed':
        if ('error' in outcome) throw new ProtocolError(outcome.error.code, outcome.error.message, outcome.error.data);
        return outcome.response;
      case 'refused':
        throw new PackerError(outcome.error.code, outcome.error.message, outcome.error.data);
      case 'cancelled':
      case 'cancelledBeforeStart':
        throw new CancelledError(
          `Operation ${operation.operationId} was cancelled${outcome.status === 'cancelledBeforeStart' ? ' before it started' : ''}; nothing was changed.`,
        );
      case 'error':
        throw outcome.error;
    }
  };
}
