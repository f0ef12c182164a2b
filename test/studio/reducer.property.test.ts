/**
 * The adapter's rules over random event streams: operations with their lifecycle events interleaved at
 * random, progress coalesced the way a live connection merges it, delivery reordered across operations,
 * dropped connections, and duplicates after a replay. Whatever arrives, no operation is shown ended without
 * its terminal event or response, the newest progress wins, every terminal appears, and the same log gives
 * the same view.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PackerEvent } from '../../protocol/src/index.js';
import { initialState, reduce, reduceAll, type StudioMessage, type StudioState } from '../../studio/src/index.js';

const PROJECT = 'p1';
const EPOCH = 'e1';
const TERMINALS = ['operation.succeeded', 'operation.failed', 'operation.cancelled'] as const;

/** One operation's plan: how many progress events, and how (or whether) it ends. */
interface Plan {
  readonly progress: number;
  readonly end: (typeof TERMINALS)[number] | 'none';
  readonly respond: boolean;
}

const plans = fc.array(
  fc.record({
    progress: fc.integer({ min: 0, max: 5 }),
    end: fc.constantFrom(...TERMINALS, 'none' as const),
    respond: fc.boolean(),
  }),
  { minLength: 1, maxLength: 4 },
);

/** A stream scenario: the plans, an interleaving seed, and the delivery choices. */
const scenarios = fc.record({
  plans,
  interleave: fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
  reorder: fc.array(fc.nat(), { minLength: 40, maxLength: 40 }),
  merge: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
  disconnectAt: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
  replayAfter: fc.option(fc.nat({ max: 40 }), { nil: undefined }),
});
type Scenario = typeof scenarios extends fc.Arbitrary<infer T> ? T : never;

const operationIdOf = (index: number): string => `op-${index + 1}`;

/** The events of each operation, in its own order, without sequences yet. */
function lifecycles(plan: readonly Plan[]): { operationId: string; kind: string; body: Record<string, unknown> }[][] {
  return plan.map((one, index) => {
    const head = { operation: 'pack', operationClass: 'build' };
    const events: { operationId: string; kind: string; body: Record<string, unknown> }[] = [
      { operationId: operationIdOf(index), kind: 'operation.queued', body: { ...head, position: 0 } },
      { operationId: operationIdOf(index), kind: 'operation.started', body: { ...head, baseRevision: 1 } },
    ];
    for (let done = 1; done <= one.progress; done++)
      events.push({
        operationId: operationIdOf(index),
        kind: 'operation.progress',
        body: { done, total: one.progress, unit: 'assets' },
      });
    if (one.end === 'operation.cancelled')
      events.push({ operationId: operationIdOf(index), kind: one.end, body: { ...head, started: true } });
    else if (one.end !== 'none')
      events.push({
        operationId: operationIdOf(index),
        kind: one.end,
        body: { ...head, outcome: outcomeOf(index, one.end) },
      });
    return events;
  });
}

function outcomeOf(index: number, end: string): Record<string, unknown> {
  return {
    operationId: operationIdOf(index),
    projectId: PROJECT,
    outcome: end === 'operation.succeeded' ? 'succeeded' : 'blocked',
    revision: 1,
    blockers: [],
    artifacts: [],
    assets: [],
    materialized: 0,
    fromCache: 0,
  };
}

/** The server's log: every operation's events interleaved by the seed, numbered consecutively from 1. */
function logOf(scenario: Scenario): PackerEvent[] {
  const queues = lifecycles(scenario.plans).map((events) => [...events]);
  const log: PackerEvent[] = [];
  let step = 0;
  while (queues.some((queue) => queue.length > 0)) {
    const open = queues.filter((queue) => queue.length > 0);
    const queue = open[(scenario.interleave[step++ % scenario.interleave.length] ?? 0) % open.length]!;
    const next = queue.shift()!;
    log.push({
      projectId: PROJECT,
      epoch: EPOCH,
      sequence: log.length + 1,
      time: '2026-01-01T00:00:00.000Z',
      ...next,
    } as PackerEvent);
  }
  return log;
}

/**
 * What a live connection delivers: progress runs merged (the survivor keeps the newest sequence and says
 * how many it replaced), then the operations' streams interleaved differently from the log, each keeping
 * its own order.
 */
function liveDelivery(log: readonly PackerEvent[], scenario: Scenario): PackerEvent[] {
  const merged: PackerEvent[] = [];
  const pending = new Map<string, number>();
  log.forEach((event, index) => {
    if (event.kind === 'operation.progress') {
      const nextOfSameOp = log.slice(index + 1).find((later) => later.operationId === event.operationId);
      if (nextOfSameOp?.kind === 'operation.progress' && scenario.merge[index % scenario.merge.length]) {
        pending.set(event.operationId!, (pending.get(event.operationId!) ?? 0) + 1);
        return;
      }
      const replaced = pending.get(event.operationId!) ?? 0;
      pending.delete(event.operationId!);
      merged.push(replaced > 0 ? { ...event, body: { ...event.body, merged: replaced + 1 } } : event);
      return;
    }
    merged.push(event);
  });
  const byOperation = new Map<string, PackerEvent[]>();
  for (const event of merged) {
    const key = event.operationId ?? '-';
    byOperation.set(key, [...(byOperation.get(key) ?? []), event]);
  }
  const queues = [...byOperation.values()];
  const delivered: PackerEvent[] = [];
  let step = 0;
  while (queues.some((queue) => queue.length > 0)) {
    const open = queues.filter((queue) => queue.length > 0);
    delivered.push(open[(scenario.reorder[step++ % scenario.reorder.length] ?? 0) % open.length]!.shift()!);
  }
  return delivered;
}

/** The whole message stream: live events, responses after their terminal, a disconnect, and a replay with duplicates. */
function messagesOf(scenario: Scenario): { messages: StudioMessage[]; log: PackerEvent[] } {
  const log = logOf(scenario);
  const live = liveDelivery(log, scenario);
  const messages: StudioMessage[] = [];
  live.forEach((event, index) => {
    if (scenario.disconnectAt === index) messages.push({ type: 'connection', state: 'disconnected' });
    messages.push({ type: 'event', event });
    const planIndex = Number(event.operationId?.slice(3)) - 1;
    const plan = scenario.plans[planIndex];
    if (plan?.respond && (event.kind === 'operation.succeeded' || event.kind === 'operation.failed'))
      messages.push({
        type: 'response',
        method: 'pack',
        params: { projectId: PROJECT, operationId: event.operationId! },
        result: event.body.outcome,
      } as never);
  });
  if (scenario.replayAfter !== undefined) {
    const after = Math.min(scenario.replayAfter, log.length);
    messages.push({ type: 'connection', state: 'connected' });
    messages.push({
      type: 'response',
      method: 'events',
      params: { projectId: PROJECT, afterSequence: after },
      result: {
        epoch: EPOCH,
        events: log.filter((event) => event.sequence > after),
        lastSequence: log.length,
        firstRetainedSequence: 1,
        dropped: false,
        more: false,
      },
    });
  }
  return { messages, log };
}

/** The events and responses a prefix of the stream delivered, per operation. */
function deliveredSoFar(messages: readonly StudioMessage[]): {
  terminals: Map<string, PackerEvent>;
  responded: Set<string>;
  progress: Map<string, number>;
} {
  const terminals = new Map<string, PackerEvent>();
  const responded = new Set<string>();
  const progress = new Map<string, number>();
  const note = (event: PackerEvent): void => {
    const id = event.operationId;
    if (id === undefined) return;
    if (TERMINALS.includes(event.kind as never)) terminals.set(id, event);
    if (event.kind === 'operation.progress') progress.set(id, Math.max(progress.get(id) ?? 0, event.sequence));
  };
  for (const message of messages) {
    if (message.type === 'event') note(message.event);
    if (message.type === 'response' && message.method === 'events') message.result.events.forEach(note);
    if (message.type === 'response' && message.method === 'pack') responded.add(message.result.operationId);
  }
  return { terminals, responded, progress };
}

/** The parts of the feed that must not depend on delivery order or duplicates. */
function feedFacts(state: StudioState): unknown {
  return state.activity.map((operation) => ({
    operationId: operation.operationId,
    status: operation.status,
    terminal: operation.terminal,
    progress: operation.progress?.sequence ?? null,
    outcome: operation.outcome?.outcome ?? null,
  }));
}

describe('the studio reducer over random event streams', () => {
  it('never shows an operation succeeded, failed or cancelled without its terminal event or its response', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        const { messages } = messagesOf(scenario);
        let state = initialState();
        messages.forEach((message, index) => {
          state = reduce(state, message);
          const { terminals, responded } = deliveredSoFar(messages.slice(0, index + 1));
          for (const operation of state.activity) {
            if (!['succeeded', 'failed', 'cancelled'].includes(operation.status)) continue;
            const terminal = terminals.get(operation.operationId);
            expect(terminal !== undefined || responded.has(operation.operationId)).toBe(true);
            if (terminal !== undefined) expect(`operation.${operation.status}`).toBe(terminal.kind);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('shows the newest progress by sequence, however progress was merged or reordered', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        const { messages } = messagesOf(scenario);
        const state = reduceAll(messages);
        const { progress } = deliveredSoFar(messages);
        for (const operation of state.activity)
          expect(operation.progress?.sequence ?? null).toBe(progress.get(operation.operationId) ?? null);
      }),
      { numRuns: 300 },
    );
  });

  it('shows every terminal event that arrived, with its kind and sequence', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        const { messages, log } = messagesOf(scenario);
        const state = reduceAll(messages);
        for (const terminal of log.filter((event) => TERMINALS.includes(event.kind as never))) {
          const shown = state.activity.find((operation) => operation.operationId === terminal.operationId);
          expect(shown?.terminal).toEqual({ kind: terminal.kind, sequence: terminal.sequence });
          expect(`operation.${shown?.status}`).toBe(terminal.kind);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never calls an operation whose outcome did not arrive anything but sent, queued, running or unknown', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        const { messages } = messagesOf(scenario);
        const state = reduceAll(messages);
        const { terminals, responded } = deliveredSoFar(messages);
        for (const operation of state.activity)
          if (!terminals.has(operation.operationId) && !responded.has(operation.operationId))
            expect(['sent', 'queued', 'running', 'unknown']).toContain(operation.status);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same view for the same log, and duplicates after a replay change nothing', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        const { messages } = messagesOf(scenario);
        const once = reduceAll(messages);
        expect(reduceAll(messages)).toEqual(once);
        const events = messages.filter((message) => message.type === 'event');
        expect(reduceAll([...messages, ...events])).toEqual(once);
      }),
      { numRuns: 300 },
    );
  });

  it('shows the same feed whatever order the operations were delivered in', () => {
    fc.assert(
      fc.property(scenarios, (scenario) => {
        const log = logOf(scenario);
        const inOrder = reduceAll(log.map((event) => ({ type: 'event', event }) as const));
        const reordered = reduceAll(liveDelivery(log, scenario).map((event) => ({ type: 'event', event }) as const));
        expect(feedFacts(reordered)).toEqual(feedFacts(inOrder));
      }),
      { numRuns: 300 },
    );
  });
});
