/**
 * The `packer/projectStatus` read: the project's revision, state, divergence, counts and lane, from the
 * pinned snapshot and the read view.
 */
import type { ResultOf, packerRequests } from '@prometeu/packer-protocol';
import type { ReadContext } from '../dispatch/context.js';
import { toProjectStatus } from '../wire/convert.js';

type Requests = typeof packerRequests;

/** `packer/projectStatus`. */
export function projectStatus(context: ReadContext): ResultOf<Requests['projectStatus']> {
  return toProjectStatus(context.project, context.snapshot);
}
