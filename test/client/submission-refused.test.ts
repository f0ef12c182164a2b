/**
 * A `packer/submitMutation` the server cannot attribute to a project is refused with the declared
 * `packer/submissionRefused` notification; the client's handle rejects with its code and message, and
 * nothing else (log text, another operation's refusal, a refusal without an id) settles it. Driven by a
 * scripted test server until the real server sends the notification.
 */
import { describe, expect, it } from 'vitest';
import { PackerClient, SubmissionRefusedError, packerNotifications } from '../../client/src/index.js';
import { fixtureServer, track } from './support.js';

const resources = track();

async function startedClient(): Promise<PackerClient> {
  const client = resources.client(
    PackerClient.spawn({ serverCommand: fixtureServer('refuse-submission'), initializeTimeoutMs: 5_000 }),
  );
  await client.start();
  return client;
}

describe('refused submissions', () => {
  it('the refusal is a declared server-to-client notification of the protocol', () => {
    expect(packerNotifications.submissionRefused).toMatchObject({
      method: 'packer/submissionRefused',
      direction: 'serverToClient',
    });
  });

  it('a submission the server refuses rejects with SubmissionRefusedError carrying its code and message', async () => {
    const client = await startedClient();
    const operation = client.submitMutationOperation({
      projectId: 'prj-nope',
      mutation: { kind: 'forget', asset: { assetId: 1 } },
    });
    const failure = await operation.outcome.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SubmissionRefusedError);
    expect(failure).toMatchObject({
      kind: 'refused',
      operationId: operation.operationId,
      code: 1001,
      message: 'Unknown project prj-nope.',
    });
    expect(await operation.terminal).toBeUndefined();
    const events: unknown[] = [];
    for await (const event of operation.events) events.push(event);
    expect(events).toEqual([]);
  });

  it('log text, refusals of other operations and refusals without an id do not settle a submission', async () => {
    const client = await startedClient();
    const operation = client.submitMutationOperation({
      projectId: 'prj-known',
      mutation: { kind: 'forget', asset: { assetId: 1 } },
    });
    expect(await operation.outcome).toMatchObject({ operationId: operation.operationId, outcome: 'applied' });
    expect(await operation.terminal).toMatchObject({ kind: 'operation.succeeded' });
  });
});
