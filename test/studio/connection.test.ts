/**
 * The reducer across a lost connection and a restarted server: an operation whose outcome did not arrive is
 * `unknown`, never failed; a replay with its terminal event settles it; a new epoch forgets the old sequence
 * numbers but keeps what the old server said about ended operations.
 */
import { describe, expect, it } from 'vitest';
import type { PackerEvent } from '../../protocol/src/index.js';
import { hasSeen, reduceAll, type StudioMessage } from '../../studio/src/index.js';

const head = { operation: 'pack', operationClass: 'build' } as const;

function event(
  epoch: string,
  sequence: number,
  kind: string,
  body: Record<string, unknown>,
  operationId?: string,
): StudioMessage {
  return {
    type: 'event',
    event: {
      projectId: 'p',
      epoch,
      sequence,
      time: 't',
      kind,
      body,
      ...(operationId ? { operationId } : {}),
    } as PackerEvent,
  };
}

const started: StudioMessage[] = [
  { type: 'connection', state: 'connected' },
  { type: 'request', method: 'pack', params: { projectId: 'p', operationId: 'a' } },
  event('e1', 1, 'operation.queued', { ...head, position: 0 }, 'a'),
  event('e1', 2, 'operation.started', { ...head, baseRevision: 1 }, 'a'),
  event('e1', 3, 'operation.progress', { done: 1, total: 3 }, 'a'),
];
const succeeded = event(
  'e1',
  4,
  'operation.succeeded',
  { ...head, outcome: { outcome: 'succeeded', artifacts: [] } },
  'a',
);

describe('the studio reducer across reconnects', () => {
  it('shows an operation whose outcome did not arrive as unknown when the connection is lost, not as failed', () => {
    const state = reduceAll([...started, { type: 'connection', state: 'disconnected', reason: 'closed' }]);
    expect(state.connection).toEqual({ state: 'disconnected', reason: 'closed', disconnects: 1 });
    expect(state.activity.map((operation) => [operation.status, operation.statusFrom])).toEqual([
      ['unknown', 'connection lost before its outcome arrived'],
    ]);
    expect(state.activity[0]!.progress?.done).toBe(1);
  });

  it('settles it from the terminal event a replay after the reconnect brings, whatever was seen twice', () => {
    const replay: StudioMessage = {
      type: 'response',
      method: 'events',
      params: { projectId: 'p', afterSequence: 2, epoch: 'e1' },
      result: {
        epoch: 'e1',
        events: [(started[4] as { event: PackerEvent }).event, (succeeded as { event: PackerEvent }).event],
        lastSequence: 4,
        firstRetainedSequence: 1,
        dropped: false,
        more: false,
      },
    };
    const state = reduceAll([
      ...started,
      { type: 'connection', state: 'disconnected' },
      { type: 'connection', state: 'connected' },
      replay,
    ]);
    expect(state.activity[0]).toMatchObject({ status: 'succeeded', statusFrom: 'event 4 operation.succeeded' });
    expect(state.lastSequence).toBe(4);
  });

  it('on a new epoch forgets the old sequences, keeps ended operations, and leaves the unfinished ones unknown', () => {
    const state = reduceAll([
      ...started,
      { type: 'request', method: 'reconcile', params: { projectId: 'p', operationId: 'b' } },
      event('e1', 5, 'operation.succeeded', { operation: 'reconcile', operationClass: 'workspace', outcome: {} }, 'b'),
      { type: 'connection', state: 'disconnected' },
      { type: 'resync', epoch: 'e2', reason: 'epochChanged' },
      event('e2', 1, 'watch.stateChanged', { state: 'watching', backend: 'parcel' }),
      { type: 'connection', state: 'connected' },
    ]);
    expect(state.epoch).toBe('e2');
    expect([1, 2, 3, 4, 5].map((sequence) => hasSeen(state.seen, sequence))).toEqual([
      true,
      false,
      false,
      false,
      false,
    ]);
    expect(state.activity.map((operation) => [operation.operationId, operation.status, operation.statusFrom])).toEqual([
      ['a', 'unknown', 'the server restarted before its outcome arrived'],
      ['b', 'succeeded', 'event 5 operation.succeeded'],
    ]);
  });

  it('lists an operation of the new server after those of the old one, though its sequence numbers are smaller', () => {
    const state = reduceAll([
      ...started,
      succeeded,
      { type: 'connection', state: 'disconnected' },
      { type: 'resync', epoch: 'e2', reason: 'epochChanged' },
      event('e2', 1, 'operation.queued', { ...head, position: 0 }, '0-new'),
      event('e2', 2, 'operation.started', { ...head, baseRevision: 1 }, '0-new'),
    ]);
    expect(state.activity.map((operation) => [operation.operationId, operation.status])).toEqual([
      ['a', 'succeeded'],
      ['0-new', 'running'],
    ]);
  });
});
