/**
 * Turns of the event loop that background work gives to the clients. vscode-jsonrpc takes one incoming message
 * per turn (one `setImmediate` each), so work that yields one turn between slices of tens of milliseconds lets
 * one queued read through per slice: at 100k roots, reads sent while the open's validation round was published
 * queued for seconds behind one another, though no slice held the main thread for a second. A yield here goes on
 * turning while the turns let messages through, so the queue that built up during a slice is taken before the
 * next slice runs.
 */

/** How long one yield keeps turning while messages come through, in ms, so a flood of input cannot stop the work. */
const MAX_YIELD_MS = 20;

/** Invariant: how many incoming messages the connections have taken off their queues so far (only grows). */
let dispatched = 0;

/** Says that a connection took one incoming message off its queue (the transport's message strategy calls it). */
export function noteDispatched(): void {
  dispatched++;
}

function immediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Lets the event loop run at least one turn, and more while each turn lets an incoming message through, for at
 * most {@link MAX_YIELD_MS}: the messages queued when it was called are taken before it returns. Where nothing
 * waits it costs one turn, as a plain `setImmediate` does.
 */
export async function yieldToClients(): Promise<void> {
  const started = performance.now();
  let before = dispatched;
  await immediate();
  while (dispatched !== before && performance.now() - started < MAX_YIELD_MS) {
    before = dispatched;
    await immediate();
  }
}
