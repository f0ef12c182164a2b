/**
 * The progress-coalescing event sink, without a server: what may be merged (buffered progress of one
 * operation, into the newest), what never is (everything else), and that a slow reader still gets every
 * terminal event, in order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventSink, type PackerEvent } from '../../client/src/index.js';

const PROJECT = 'prj-sink';
const EPOCH = 'epoch-sink';

/** Builds events with consecutive sequences, like one project's log. */
class Log {
  private sequence = 0;
  readonly all: PackerEvent[] = [];

  private add(event: Omit<PackerEvent, 'projectId' | 'epoch' | 'sequence' | 'time'>): PackerEvent {
    this.sequence++;
    const full = {
      projectId: PROJECT,
      epoch: EPOCH,
      sequence: this.sequence,
      time: '2026-01-01T00:00:00.000Z',
      ...event,
    } as PackerEvent;
    this.all.push(full);
    return full;
  }

  queued(operationId: string): PackerEvent {
    return this.add({
      operationId,
      kind: 'operation.queued',
      body: { operation: 'pack', operationClass: 'build', position: 0 },
    } as never);
  }
  started(operationId: string): PackerEvent {
    return this.add({
      operationId,
      kind: 'operation.started',
      body: { operation: 'pack', operationClass: 'build', baseRevision: 1 },
    } as never);
  }
  progress(operationId: string, done: number, total = 100): PackerEvent {
    return this.add({ operationId, kind: 'operation.progress', body: { done, total, unit: 'assets' } } as never);
  }
  published(operationId: string | undefined, revision: number): PackerEvent {
    return this.add({
      ...(operationId !== undefined ? { operationId } : {}),
      kind: 'snapshot.published',
      body: { revision, previousRevision: revision - 1, cause: 'mutation' },
    } as never);
  }
  succeeded(operationId: string): PackerEvent {
    return this.add({
      operationId,
      kind: 'operation.succeeded',
      body: { operation: 'pack', operationClass: 'build', outcome: { outcome: 'succeeded' } },
    } as never);
  }
  diverged(): PackerEvent {
    return this.add({
      kind: 'divergence.detected',
      body: { revision: 1, changes: [{ path: 'a/b.bin', change: 'changed' }], assets: [{ root: 'a' }], between: false },
    } as never);
  }
}

function mergedOf(event: PackerEvent): number {
  return event.kind === 'operation.progress' ? (event.body.merged ?? 0) : 0;
}

/**
 * What must hold for any input and any reading schedule, once everything was read: sequences only grow,
 * every event but progress arrives exactly once, each operation's newest progress arrives, and the merged
 * counts account for every progress event that did not.
 */
function checkDelivery(input: readonly PackerEvent[], output: readonly PackerEvent[]): void {
  const sequences = output.map((event) => event.sequence);
  expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
  expect(new Set(sequences).size).toBe(sequences.length);
  expect(output.filter((event) => event.kind !== 'operation.progress')).toEqual(
    input.filter((event) => event.kind !== 'operation.progress'),
  );
  const delivered = new Set(sequences);
  for (const event of output) {
    const original = input.find((candidate) => candidate.sequence === event.sequence)!;
    if (event.kind !== 'operation.progress') continue;
    expect({ ...event.body, merged: undefined }).toEqual({ ...(original.body as object), merged: undefined });
  }
  const operations = new Set(input.map((event) => event.operationId).filter((id) => id !== undefined));
  for (const operationId of operations) {
    const progress = input.filter((event) => event.operationId === operationId && event.kind === 'operation.progress');
    const deliveredProgress = output.filter(
      (event) => event.operationId === operationId && event.kind === 'operation.progress',
    );
    expect(deliveredProgress.length + deliveredProgress.reduce((sum, event) => sum + mergedOf(event), 0)).toBe(
      progress.length,
    );
    // Each delivered event of the operation is preceded (among the operation's input events) only by
    // progress that was merged into it or delivered: the last progress before any other event arrives.
    const ofOperation = input.filter((event) => event.operationId === operationId);
    ofOperation.forEach((event, index) => {
      const next = ofOperation[index + 1];
      if (event.kind === 'operation.progress' && (next === undefined || next.kind !== 'operation.progress'))
        expect(delivered.has(event.sequence)).toBe(true);
    });
    const terminal = output.filter((event) => event.operationId === operationId).at(-1);
    if (ofOperation.at(-1)?.kind === 'operation.succeeded') expect(terminal?.kind).toBe('operation.succeeded');
  }
}

describe('EventSink', () => {
  it('merges buffered progress of one operation into the newest, which says how many it replaced', () => {
    const log = new Log();
    const sink = new EventSink();
    sink.push(log.queued('op-1'));
    sink.push(log.started('op-1'));
    for (let done = 1; done <= 5; done++) sink.push(log.progress('op-1', done, 5));
    sink.push(log.succeeded('op-1'));
    const out = sink.drain();
    expect(out.map((event) => event.kind)).toEqual([
      'operation.queued',
      'operation.started',
      'operation.progress',
      'operation.succeeded',
    ]);
    expect(out[2]).toMatchObject({ sequence: 7, body: { done: 5, total: 5, merged: 4 } });
    expect(sink.mergedCount).toBe(4);
    checkDelivery(log.all, out);
  });

  it('never merges progress across another event of the same operation, nor progress of different operations', () => {
    const log = new Log();
    const sink = new EventSink();
    sink.push(log.progress('op-1', 1));
    sink.push(log.published('op-1', 2));
    sink.push(log.progress('op-1', 2));
    sink.push(log.progress('op-2', 1));
    const out = sink.drain();
    expect(out.map((event) => [event.operationId, event.kind])).toEqual([
      ['op-1', 'operation.progress'],
      ['op-1', 'snapshot.published'],
      ['op-1', 'operation.progress'],
      ['op-2', 'operation.progress'],
    ]);
    expect(sink.mergedCount).toBe(0);
  });

  it('moves the merged progress to the place of the newest, so sequence order holds across operations', () => {
    const log = new Log();
    const sink = new EventSink();
    sink.push(log.progress('op-1', 1));
    sink.push(log.diverged());
    sink.push(log.progress('op-2', 1));
    sink.push(log.progress('op-1', 2));
    const out = sink.drain();
    expect(out.map((event) => event.sequence)).toEqual([2, 3, 4]);
    expect(out[2]).toMatchObject({ operationId: 'op-1', body: { done: 2, merged: 1 } });
  });

  it('adds the merged counts the server already put on a progress event', () => {
    const log = new Log();
    const sink = new EventSink();
    sink.push(log.progress('op-1', 1));
    const fromServer = log.progress('op-1', 9);
    sink.push({ ...fromServer, body: { ...(fromServer.body as object), merged: 7 } } as PackerEvent);
    expect(sink.drain()).toEqual([expect.objectContaining({ body: expect.objectContaining({ done: 9, merged: 8 }) })]);
  });

  it('keeps every event with coalesceProgress: false', () => {
    const log = new Log();
    const sink = new EventSink({ coalesceProgress: false });
    for (let done = 1; done <= 4; done++) sink.push(log.progress('op-1', done));
    expect(sink.drain()).toEqual(log.all);
  });

  it('hands events straight to a reader that keeps up, merging nothing', async () => {
    const log = new Log();
    const sink = new EventSink();
    const received: PackerEvent[] = [];
    const reading = (async () => {
      for await (const event of sink) received.push(event);
    })();
    for (let done = 1; done <= 3; done++) {
      sink.push(log.progress('op-1', done));
      // One turn of the event loop: the reader takes the event and parks in next() again.
      await new Promise((resolve) => setImmediate(resolve));
      expect(received).toHaveLength(done);
    }
    sink.push(log.succeeded('op-1'));
    sink.close();
    await reading;
    expect(received).toEqual(log.all);
    expect(sink.mergedCount).toBe(0);
  });

  it('a reader slower than the producer gets every non-progress event in order and the terminal event last', async () => {
    const log = new Log();
    const sink = new EventSink();
    const received: PackerEvent[] = [];
    // The reader takes one event, then waits until the producer lets it take the next one.
    let free = false;
    let gate: (() => void) | undefined;
    const waitForGate = (): Promise<void> => (free ? Promise.resolve() : new Promise((resolve) => (gate = resolve)));
    const openGate = (): void => {
      const open = gate;
      gate = undefined;
      open?.();
    };
    const reading = (async () => {
      for await (const event of sink) {
        received.push(event);
        await waitForGate();
      }
    })();
    const operations = ['op-a', 'op-b', 'op-c'];
    for (const operationId of operations) {
      sink.push(log.queued(operationId));
      sink.push(log.started(operationId));
    }
    for (let done = 1; done <= 300; done++) {
      for (const operationId of operations) sink.push(log.progress(operationId, done, 300));
      if (done % 50 === 0) sink.push(log.diverged());
      if (done % 30 === 0) {
        openGate();
        await Promise.resolve();
      }
    }
    for (const operationId of operations) sink.push(log.succeeded(operationId));
    sink.close();
    free = true;
    openGate();
    await reading;
    checkDelivery(log.all, received);
    expect(sink.mergedCount).toBeGreaterThan(0);
    expect(received.filter((event) => event.kind === 'operation.progress').length).toBeLessThan(900);
    for (const operationId of operations)
      expect(received.filter((event) => event.operationId === operationId).at(-1)?.kind).toBe('operation.succeeded');
  });

  it('for any events and any schedule of drain() calls, merges only progress and delivers everything else', () => {
    const step = fc.oneof(
      fc.record({
        push: fc.constantFrom('progress', 'published', 'diverged'),
        operation: fc.integer({ min: 0, max: 2 }),
      }),
      fc.record({ read: fc.constant(true) }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 120 }), (steps) => {
        const log = new Log();
        const sink = new EventSink();
        const out: PackerEvent[] = [];
        const names = ['op-0', 'op-1', 'op-2'];
        for (const name of names) sink.push(log.started(name));
        const done = [0, 0, 0];
        for (const entry of steps) {
          if ('read' in entry) {
            // A render loop's frame: take everything buffered.
            out.push(...sink.drain());
            continue;
          }
          const name = names[entry.operation]!;
          if (entry.push === 'progress') sink.push(log.progress(name, ++done[entry.operation]!));
          else if (entry.push === 'published') sink.push(log.published(name, 2));
          else sink.push(log.diverged());
        }
        for (const name of names) sink.push(log.succeeded(name));
        sink.close();
        out.push(...sink.drain());
        checkDelivery(log.all, out);
        expect(sink.size).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('for any schedule of one-at-a-time reads, the same holds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constant('read' as const), fc.constant('other' as const)),
          { maxLength: 150 },
        ),
        async (steps) => {
          const log = new Log();
          const sink = new EventSink();
          const out: PackerEvent[] = [];
          const names = ['op-0', 'op-1', 'op-2'];
          const done = [0, 0, 0];
          for (const entry of steps) {
            if (entry === 'read') {
              if (sink.size > 0) {
                const result = await sink.next();
                if (result.done !== true) out.push(result.value);
              }
            } else if (entry === 'other') sink.push(log.diverged());
            else sink.push(log.progress(names[entry]!, ++done[entry]!));
          }
          for (const name of names) sink.push(log.succeeded(name));
          sink.close();
          for (let result = await sink.next(); result.done !== true; result = await sink.next()) out.push(result.value);
          checkDelivery(log.all, out);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('delivers what was buffered before close, ignores pushes after it, and ends', async () => {
    const log = new Log();
    const sink = new EventSink();
    sink.push(log.progress('op-1', 1));
    sink.push(log.succeeded('op-1'));
    sink.close();
    sink.push(log.diverged());
    const out: PackerEvent[] = [];
    for await (const event of sink) out.push(event);
    expect(out.map((event) => event.kind)).toEqual(['operation.progress', 'operation.succeeded']);
    expect(await sink.next()).toEqual({ value: undefined, done: true });
  });

  it('a reader waiting when the sink closes is told it ended; breaking out of for-await closes it', async () => {
    const sink = new EventSink();
    const waiting = sink.next();
    let closed = false;
    sink.onClose(() => (closed = true));
    sink.close();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(closed).toBe(true);

    const log = new Log();
    const other = new EventSink();
    other.push(log.diverged());
    other.push(log.diverged());
    for await (const event of other) {
      expect(event.sequence).toBe(1);
      break;
    }
    expect(other.closed).toBe(true);
    expect(other.size).toBe(0);
  });
});
