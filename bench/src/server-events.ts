/** Following the `packer/event` notifications a server sends to the bench, with the time each arrived. */
import type { MessageConnection } from 'vscode-jsonrpc/node';

/** The parts of a `packer/event` the benchmarks read. */
export interface ReceivedEvent {
  readonly kind: string;
  readonly sequence: number;
  readonly operationId?: string;
  readonly body: Record<string, unknown>;
}

/** Events as they arrive, and waits for one that matches. */
export interface EventFollower {
  /**
   * Resolves with the first event, received from now on or already received since `since` (an index
   * returned by {@link mark}), that matches `predicate`, and the time (performance.now) it arrived.
   * Rejects after `timeoutMs`.
   */
  waitFor(
    predicate: (event: ReceivedEvent) => boolean,
    timeoutMs: number,
    since?: number,
  ): Promise<{ event: ReceivedEvent; at: number }>;
  /** The index of the next event to arrive, for {@link waitFor}'s `since`. */
  mark(): number;
  /** Stops following; pending waits are rejected. */
  dispose(): void;
}

interface Waiter {
  readonly predicate: (event: ReceivedEvent) => boolean;
  readonly resolve: (found: { event: ReceivedEvent; at: number }) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Starts following the `packer/event` notifications of `connection`. Only the newest 10,000 are kept. */
export function followEvents(connection: MessageConnection): EventFollower {
  const received: { event: ReceivedEvent; at: number }[] = [];
  let offset = 0;
  const waiters = new Set<Waiter>();
  const subscription = connection.onNotification('packer/event', (params: ReceivedEvent) => {
    const at = performance.now();
    const entry = { event: params, at };
    received.push(entry);
    if (received.length > 20_000) {
      received.splice(0, 10_000);
      offset += 10_000;
    }
    for (const waiter of [...waiters]) {
      if (!waiter.predicate(params)) continue;
      waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(entry);
    }
  });
  return {
    mark: () => offset + received.length,
    waitFor(predicate, timeoutMs, since) {
      if (since !== undefined) {
        for (let index = Math.max(0, since - offset); index < received.length; index++) {
          if (predicate(received[index]!.event)) return Promise.resolve(received[index]!);
        }
      }
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          predicate,
          resolve,
          reject,
          timer: setTimeout(() => {
            waiters.delete(waiter);
            reject(new Error(`no matching packer/event within ${timeoutMs} ms`));
          }, timeoutMs),
        };
        waiters.add(waiter);
      });
    },
    dispose() {
      subscription.dispose();
      for (const waiter of waiters) {
        clearTimeout(waiter.timer);
        waiter.reject(new Error('stopped following events'));
      }
      waiters.clear();
    },
  };
}
