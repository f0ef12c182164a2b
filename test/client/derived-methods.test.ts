/**
 * The client's typed request methods are derived from the protocol's declarations: every request of
 * `packerRequests` is a method of the same name, and calling it sends that declaration's method string
 * with the params as given.
 */
import { PassThrough } from 'node:stream';
import { StreamMessageReader, StreamMessageWriter, createMessageConnection } from 'vscode-jsonrpc/node';
import { describe, expect, it } from 'vitest';
import { PackerClient, packerRequests } from '../../client/src/index.js';
import { track } from './support.js';

const resources = track();

describe('request methods derived from the protocol', () => {
  it('every request of the protocol is a method of the client with the same name', () => {
    for (const name of Object.keys(packerRequests))
      expect(typeof (PackerClient.prototype as unknown as Record<string, unknown>)[name], name).toBe('function');
  });

  it('a derived method sends its declaration method string with the params and resolves with the answer', async () => {
    const toClient = new PassThrough();
    const toServer = new PassThrough();
    const server = createMessageConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
    const received: { method: string; params: unknown }[] = [];
    server.onRequest('initialize', () => ({
      serverInfo: { name: 'in-process', version: '0' },
      capabilities: { experimental: { packer: {} } },
      projects: [],
    }));
    server.onRequest((method, params) => {
      received.push({ method, params });
      return { answeredFor: method };
    });
    server.listen();
    const client = resources.client(PackerClient.fromStreams(toClient, toServer));
    try {
      await client.start();
      const answer: unknown = await client.projectStatus({ projectId: 'prj-x' });
      expect(answer).toEqual({ answeredFor: packerRequests.projectStatus.method });
      expect(received).toEqual([{ method: 'packer/projectStatus', params: { projectId: 'prj-x' } }]);
    } finally {
      await client.stop();
      server.dispose();
    }
  });
});
