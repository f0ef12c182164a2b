/**
 * The `packer/previewMutation` read: plans a mutation against the pinned snapshot, changing nothing, and
 * remembers the plan so an apply can name it.
 */
import type { ParamsOf, ResultOf, packerRequests } from '@prometeu/packer-protocol';
import type { ReadContext } from '../dispatch/context.js';
import { planMutation } from '../mutations/plan.js';
import { toMutationPreview } from '../wire/convert.js';

type Requests = typeof packerRequests;

/** `packer/previewMutation`: plans against the pinned snapshot and remembers the plan for an apply. */
export function previewMutation(
  context: ReadContext,
  params: ParamsOf<Requests['previewMutation']>,
): ResultOf<Requests['previewMutation']> {
  const allocations = { uuid: context.project.newUuid(), time: context.project.now() };
  const plan = planMutation(context.snapshot, params.mutation, allocations);
  const previewId = context.project.rememberPreview(plan, allocations);
  return toMutationPreview(context.project.id, previewId, plan);
}
