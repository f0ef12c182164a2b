// What the panel may send, built from what the packer said: an apply only from a card's preview id, consent only when given.
import type { MutationIntent, ParamsOf, packerRequests } from '@prometeu/packer-protocol';
import type { PreviewCard } from './views.js';

/**
 * The `packer/applyMutation` params for a preview card: its `previewId` (so the packer re-checks exactly that
 * preview), the caller's `operationId`, and `consent: true` only when the person gave it. Nothing else: the
 * panel never applies an intent it did not preview.
 */
export function applyParamsFor(
  card: PreviewCard,
  choice: { readonly operationId: string; readonly consent: boolean },
): ParamsOf<typeof packerRequests.applyMutation> {
  return {
    projectId: card.projectId,
    previewId: card.previewId,
    operationId: choice.operationId,
    ...(choice.consent ? { consent: true } : {}),
  };
}

/** The `packer/previewMutation` params for an intent. */
export function previewParamsFor(
  projectId: string,
  mutation: MutationIntent,
): ParamsOf<typeof packerRequests.previewMutation> {
  return { projectId, mutation };
}

/** Whether a card needs the person's consent before its apply can succeed (the preview's `requiresConsent`). */
export function needsConsent(card: PreviewCard): boolean {
  return card.requiresConsent;
}
