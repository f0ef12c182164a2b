/**
 * When work a project starts by itself after answering (the open's first validation round, the renewal of
 * the load threads) may begin: two turns of the event loop after the answer was handed to the connection,
 * and then once the connection's output has left the process. A burst sent before the answer (every file's
 * diagnostics at open, most of a megabyte at 10k roots) is written only while the event loop is free, so
 * work started in between held the answer back behind it.
 */

/** Calls `run` once the connection's output has left the process (at once when nothing waits to be written). */
export type OutputGate = (run: () => void) => void;

/** How long work waits at most for the output, in ms: a client that stops reading must not hold it forever. */
const OUTPUT_WAIT_MS = 2000;

/** Invariant: the gate of the connection that set it last, or undefined where none is set (tests, tools). */
let gate: OutputGate | undefined;

/** Sets the gate `afterAnswer` waits on (the connection, at its start), or clears it; returns a function that clears it if still set. */
export function setOutputGate(next: OutputGate): () => void {
  gate = next;
  return () => {
    if (gate === next) gate = undefined;
  };
}

/** Runs `run` after the answer being sent now has left the process (see the top of this file). */
export function afterAnswer(run: () => void): void {
  setImmediate(() =>
    setImmediate(() => {
      const current = gate;
      if (current === undefined) {
        run();
        return;
      }
      let done = false;
      const once = (): void => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        run();
      };
      const deadline = setTimeout(once, OUTPUT_WAIT_MS);
      deadline.unref();
      current(once);
    }),
  );
}
