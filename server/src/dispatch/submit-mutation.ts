/**
 * `packer/submitMutation`: the notification form of an apply. It joins the same lane in arrival order and
 * its outcome is its terminal event; a submission that cannot be attributed to a project (params that do
 * not parse, unknown project) gets `packer/submissionRefused` instead.
 */
import { packerNotifications, StandardErrorCodes } from '@prometeu/packer-protocol';
import type { z } from 'zod';
import { toWireError } from '../wire/errors.js';
import { prepareApplyMutation } from '../writes/apply-mutation.js';
import type { PreparedWrite, ServerContext } from './context.js';

/** The body of a `packer/submissionRefused` notification. */
export type SubmissionRefusal = z.input<typeof packerNotifications.submissionRefused.params>;

/** What a submission needs from its connection. */
export interface SubmissionContext extends ServerContext {
  /** Tells the client a submission was refused before it reached a lane. */
  refuseSubmission(refusal: SubmissionRefusal): void;
  runWrite<R>(prepared: PreparedWrite<R>): Promise<R>;
}

/** Queues a submission in its project's lane, or refuses it. */
export function submitMutation(context: SubmissionContext, raw: unknown): void {
  const operationId =
    typeof raw === 'object' && raw !== null && typeof (raw as { operationId?: unknown }).operationId === 'string'
      ? (raw as { operationId: string }).operationId
      : null;
  const named = operationId !== null ? `operation ${operationId}` : 'a submission without operationId';
  const parsed = packerNotifications.submitMutation.params.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(params)'}: ${issue.message}`)
      .join('; ');
    context.refuseSubmission({
      operationId,
      code: StandardErrorCodes.InvalidParams,
      message: `packer/submitMutation refused ${named}: its params do not parse (${issues}).`,
    });
    return;
  }
  let prepared: PreparedWrite<unknown>;
  try {
    prepared = prepareApplyMutation(context, parsed.data);
  } catch (error) {
    const wire = toWireError(error);
    context.refuseSubmission({
      operationId,
      code: wire.code,
      message: `packer/submitMutation refused ${named}: ${wire.message}`,
    });
    return;
  }
  // The outcome reaches the client as the operation's terminal event.
  void context.runWrite(prepared).catch(() => undefined);
}
