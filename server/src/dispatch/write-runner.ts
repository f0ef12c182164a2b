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

/** Makes the runner of one connection; `sendProgress` sends one `$/progress` notification. */
export function createWriteRunner(
  sendProgress: (token: string | number, value: WorkDoneProgressValue) => void,
): <R>(prepared: PreparedWrite<R>) => Promise<R> {
  return async <R>(prepared: PreparedWrite<R>): Promise<R> => {
    const { lane, operation, workDoneToken } = prepared;
    let stopMirror: (() => void) | undefined;
    if (workDoneToken !== undefined) {
      stopMirror = lane.subscribe((event) => {
        if (event.operationId !== operation.operationId) return;
        if (event.kind === 'operation.started')
          sendProgress(workDoneToken, { kind: 'begin', title: operation.operation, cancellable: true });
        else if (event.kind === 'operation.progress') {
          const { done, total, message } = event.body;
          sendProgress(workDoneToken, {
            kind: 'report',
            ...(total ? { percentage: Math.min(100, Math.floor((done / total) * 100)) } : {}),
            ...(message !== undefined ? { message } : {}),
          });
        } else if (isTerminalKind(event.kind))
          sendProgress(workDoneToken, { kind: 'end', message: event.kind.slice('operation.'.length) });
      });
    }
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
