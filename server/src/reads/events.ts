/**
 * The `packer/events` read: the retained events after a sequence, in order, the same every time.
 */
import { PackerErrorCodes, type ParamsOf, type ResultOf, type packerRequests } from '@prometeu/packer-protocol';
import type { ReadContext } from '../dispatch/context.js';
import { PackerError } from '../errors.js';

type Requests = typeof packerRequests;

/** `packer/events`. */
export function events(context: ReadContext, params: ParamsOf<Requests['events']>): ResultOf<Requests['events']> {
  const { project } = context;
  if (params.epoch !== undefined && params.epoch !== project.epoch) {
    throw new PackerError(
      PackerErrorCodes.EpochMismatch,
      `Sequence numbers of epoch ${params.epoch} mean nothing in the current epoch ${project.epoch}: the server restarted. Resynchronise from a read.`,
      {
        requested: params.epoch,
        current: project.epoch,
      },
    );
  }
  const replay = project.replay(params.afterSequence, {
    ...(params.operationId !== undefined ? { operationId: params.operationId } : {}),
    ...(params.limit !== undefined ? { limit: params.limit } : {}),
  });
  return { epoch: project.epoch, ...replay };
}
