/** Time slices for long synchronous work on the main thread: it lets the event loop run every few milliseconds. */

/** How long a slice of work runs before it lets the event loop run, in ms. */
export const SLICE_MS = 3;

/**
 * A clock of work slices: {@link pause} lets the event loop run ({@link yieldToClients}, so queued reads and a
 * cancellation are answered) once the current slice has used {@link SLICE_MS}, and returns at once otherwise.
 * Measured in time, not in items, so a slice stays short whatever one item costs.
 */
import { yieldToClients } from '../io/turns.js';
export class SliceClock {
  #since = performance.now();

  /**
   * Whether the current slice is used up: a loop over thousands of items checks it and awaits {@link pause}
   * only then, since even an await that does not yield costs a turn of the microtask queue per item.
   */
  get due(): boolean {
    return performance.now() - this.#since >= SLICE_MS;
  }

  /** Yields to the event loop when the current slice is used up. */
  async pause(): Promise<void> {
    if (performance.now() - this.#since < SLICE_MS) return;
    await yieldToClients();
    this.#since = performance.now();
  }
}
