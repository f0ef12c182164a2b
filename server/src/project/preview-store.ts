/**
 * The previews a project handed out, so an apply can name one by `previewId`. Bounded: the oldest are
 * forgotten first, and an apply naming a forgotten preview is rejected with `unknownPreview`.
 */
import type { Allocations, MutationPlan } from '../mutations/plan.js';

/** A preview as kept for its apply. */
export interface StoredPreview {
  readonly previewId: string;
  readonly plan: MutationPlan;
  readonly allocations: Allocations;
}

/** How many previews a project keeps. */
export const PREVIEW_CAPACITY = 1000;

export class PreviewStore {
  /** Invariant: insertion order is age order; at most {@link PREVIEW_CAPACITY} entries. */
  private readonly previews = new Map<string, StoredPreview>();
  /** Invariant: counts previews handed out, so ids are unique within the server run. */
  private counter = 0;

  /** Keeps a plan and returns its id. */
  remember(plan: MutationPlan, allocations: Allocations): StoredPreview {
    const stored = { previewId: `pv-${plan.baseRevision}-${++this.counter}`, plan, allocations };
    this.previews.set(stored.previewId, stored);
    if (this.previews.size > PREVIEW_CAPACITY) this.previews.delete(this.previews.keys().next().value!);
    return stored;
  }

  /** The preview with this id, if still kept. */
  get(previewId: string): StoredPreview | undefined {
    return this.previews.get(previewId);
  }
}
