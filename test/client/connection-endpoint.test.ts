/**
 * `PackerConnection.fromEndpoint` against an in-memory endpoint that answers nothing by itself: what it asks
 * of the endpoint (one handler per notification method, registered once and removed on stop; exact
 * arities), request timeouts that cancel the endpoint's token, and pending requests ended by `stop()`.
 */
import { describe, expect, it } from 'vitest';
import type { CancellationToken } from 'vscode-jsonrpc';
import {
  ConnectionClosedError,
  PackerConnection,
  ServerTimeoutError,
  type JsonRpcEndpoint,
  type PackerEvent,
} from '../../client/src/index.js';

/** An endpoint that records every call; requests stay unanswered unless the test answers them. */
function recordingEndpoint(): {
  endpoint: JsonRpcEndpoint;
  requests: { method: string; args: unknown[]; token: CancellationToken | undefined }[];
  notifications: unknown[][];
  handlers: Map<string, (params: unknown) => void>;
  registrations: string[];
  disposals: string[];
} {
  const requests: { method: string; args: unknown[]; token: CancellationToken | undefined }[] = [];
  const notifications: unknown[][] = [];
  const handlers = new Map<string, (params: unknown) => void>();
  const registrations: string[] = [];
  const disposals: string[] = [];
  const endpoint: JsonRpcEndpoint = {
    sendRequest: (method: string, ...rest: unknown[]) => {
      const last = rest.at(-1) as Partial<CancellationToken> | undefined;
      const token = last !== undefined && typeof last.onCancellationRequested === 'function' ? last : undefined;
      requests.push({ method, args: rest, token: token as CancellationToken | undefined });
      return new Promise<never>(() => undefined);
    },
    sendNotification: (...args: unknown[]) => {
      notifications.push(args);
      return Promise.resolve();
    },
    onNotification: (method, handler) => {
      registrations.push(method);
      handlers.set(method, handler);
      return { dispose: () => void (disposals.push(method), handlers.delete(method)) };
    },
  };
  return { endpoint, requests, notifications, handlers, registrations, disposals };
}

const event = (sequence: number): PackerEvent =>
  ({
    projectId: 'p',
    epoch: 'e',
    sequence,
    time: new Date(0).toISOString(),
    kind: 'snapshot.published',
    body: { revision: sequence, previousRevision: sequence - 1, cause: 'mutation' },
  }) as PackerEvent;

describe('PackerConnection over an endpoint', () => {
  it('takes the endpoint’s packer/event handler once and fans each event out to every listener', () => {
    const { endpoint, handlers, registrations } = recordingEndpoint();
    const packer = PackerConnection.fromEndpoint(endpoint);
    const first: number[] = [];
    const second: number[] = [];
    packer.onEvent((received) => first.push(received.sequence));
    packer.onEvent((received) => second.push(received.sequence));
    handlers.get('packer/event')!(event(1));
    handlers.get('packer/event')!(event(2));
    expect(registrations).toEqual(['packer/event']);
    expect(first).toEqual([1, 2]);
    expect(second).toEqual([1, 2]);
  });

  it('registers another notification method once, on first use, however many listeners it has', () => {
    const { endpoint, handlers, registrations } = recordingEndpoint();
    const packer = PackerConnection.fromEndpoint(endpoint);
    const heard: unknown[] = [];
    packer.onNotification('packer/submissionRefused', (params) => heard.push(['a', params]));
    packer.onNotification('packer/submissionRefused', (params) => heard.push(['b', params]));
    handlers.get('packer/submissionRefused')!({ operationId: 'x' });
    expect(registrations).toEqual(['packer/event', 'packer/submissionRefused']);
    expect(heard).toEqual([
      ['a', { operationId: 'x' }],
      ['b', { operationId: 'x' }],
    ]);
  });

  it('sends a request with params and a token, and a notification without params as one argument', async () => {
    const { endpoint, requests, notifications } = recordingEndpoint();
    const packer = PackerConnection.fromEndpoint(endpoint);
    void packer.listAssets({ projectId: 'p' }).catch(() => undefined);
    // No notification of the protocol is sent without params, so a made-up declaration stands for one.
    await packer.sendNotification({ method: 'packer/ping' } as never, undefined as never);
    expect(requests[0]!.method).toBe('packer/listAssets');
    expect(requests[0]!.args[0]).toEqual({ projectId: 'p' });
    expect(requests[0]!.args).toHaveLength(2);
    expect(requests[0]!.token?.isCancellationRequested).toBe(false);
    expect(notifications).toEqual([['packer/ping']]);
    await packer.stop();
  });

  it('a request past its timeoutMs rejects with ServerTimeoutError and cancels the endpoint’s token', async () => {
    const { endpoint, requests } = recordingEndpoint();
    const packer = PackerConnection.fromEndpoint(endpoint);
    const failure = await packer.listAssets({ projectId: 'p' }, { timeoutMs: 10 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ServerTimeoutError);
    expect(requests[0]!.token?.isCancellationRequested).toBe(true);
  });

  it('stop() sends nothing, rejects what is pending with ConnectionClosedError and removes every handler', async () => {
    const { endpoint, requests, notifications, handlers, disposals } = recordingEndpoint();
    const packer = PackerConnection.fromEndpoint(endpoint);
    packer.onNotification('window/logMessage', () => undefined);
    const pending = packer.listAssets({ projectId: 'p' });
    await packer.stop();
    await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(requests.map((request) => request.method)).toEqual(['packer/listAssets']);
    expect(notifications).toEqual([]);
    expect(disposals.sort()).toEqual(['packer/event', 'window/logMessage']);
    expect(handlers.size).toBe(0);
  });
});
