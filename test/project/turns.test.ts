/** Background work's yields take the messages queued meanwhile, as vscode-jsonrpc takes them: one per turn. */
import { describe, expect, it } from 'vitest';
import { noteDispatched, yieldToClients } from '../../server/src/io/turns.js';

/** A queue drained like vscode-jsonrpc's: one message per `setImmediate`, each noted as dispatched. */
function messageQueue(count: number, endless = false): { left: () => number; stop: () => void } {
  let left = count;
  let stopped = false;
  const take = (): void => {
    if (left === 0 || stopped) return;
    if (!endless) left--;
    noteDispatched();
    setImmediate(take);
  };
  setImmediate(take);
  return {
    left: () => left,
    stop: () => {
      stopped = true;
    },
  };
}

function immediate(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('yieldToClients', () => {
  it('returns only once the messages queued during a slice of work have all been taken', async () => {
    const queue = messageQueue(50);
    await yieldToClients();
    expect(queue.left()).toBe(0);
  });

  it('takes more than the single message a plain turn of the event loop lets through', async () => {
    const queue = messageQueue(50);
    await immediate();
    expect(queue.left()).toBeGreaterThan(40);
    await yieldToClients();
    expect(queue.left()).toBe(0);
  });

  it('returns after one turn when no message waits', async () => {
    let turns = 0;
    let counting = true;
    const count = (): void => {
      if (!counting) return;
      turns++;
      setImmediate(count);
    };
    setImmediate(count);
    await yieldToClients();
    counting = false;
    expect(turns).toBeLessThanOrEqual(2);
  });

  it('returns to the work even while messages keep coming', async () => {
    const queue = messageQueue(1, true);
    try {
      await yieldToClients();
      expect(queue.left()).toBe(1);
    } finally {
      queue.stop();
    }
  });
});
