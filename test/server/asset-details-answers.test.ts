/**
 * The bytes of `packer/getAssetDetails` answers: built once per snapshot and memoised, they are exactly what
 * serialising freshly built details gives, however the asset is named and however often it is asked for, and
 * a new snapshot answers with its own details. The hand-written params check agrees with the schema.
 */
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { packerRequests } from '@prometeu/packer-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { fastAssetDetailsParams } from '../../server/src/dispatch/fast-params.js';
import { connectInProcess } from '../support/in-process-server.js';
import { toAssetDetails } from '../../server/src/wire/convert.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-details-');
const disposers: (() => void)[] = [];
afterEach(() => {
  for (const dispose of disposers.splice(0)) dispose();
});

/** Each frame body the server wrote, as text, in order. */
function framesOf(bytes: Buffer): string[] {
  const bodies: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const headerEnd = bytes.indexOf('\r\n\r\n', offset);
    const length = Number(/Content-Length: (\d+)/.exec(bytes.subarray(offset, headerEnd).toString('ascii'))![1]);
    bodies.push(bytes.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8'));
    offset = headerEnd + 4 + length;
  }
  return bodies;
}

async function connect() {
  const server = await connectInProcess();
  disposers.push(() => server.dispose());
  return { connection: server.connection, host: server.host, frames: () => framesOf(server.written()) };
}

describe('getAssetDetails answers', () => {
  it('are the bytes of freshly serialised details, by id, uuid and root, first and later, and follow a new snapshot', async () => {
    const dir = tempDir();
    writeProject(dir, {
      assets: [
        { root: 'sprites/hero', name: 'Héro « quoted » \u{1F600}', registered: 1 },
        { root: 'sprites/hero/nested', registered: 2 },
        { root: 'sounds/loose', registered: false },
      ],
    });
    const { connection, host, frames } = await connect();
    const opened = (await connection.sendRequest('packer/openProject', { rootUri: pathToFileURL(dir).href })) as {
      projectId: string;
    };
    const project = host.get(opened.projectId);
    await project.lane.whenIdle();
    // The format checks publish a snapshot of their own; the comparison below needs one snapshot throughout.
    await project.validationSettled();
    const references = [{ assetId: 1 }, { assetId: 2 }, { root: 'sounds/loose' }];
    const check = async (): Promise<void> => {
      for (let round = 0; round < 3; round++) {
        for (const reference of references) {
          const snapshot = project.snapshot();
          const record =
            'assetId' in reference ? snapshot.byId.get(reference.assetId)! : snapshot.byRoot.get(reference.root)!;
          const named = [reference, { assetUuid: record.assetUuid }];
          for (const asset of named) {
            await connection.sendRequest('packer/getAssetDetails', { projectId: opened.projectId, asset });
            // Today's answer: the details built now, serialised by JSON.stringify as vscode-jsonrpc frames them.
            const body = frames().at(-1)!;
            const answeredId = (JSON.parse(body) as { id: number }).id;
            expect(body).toBe(
              JSON.stringify({ jsonrpc: '2.0', id: answeredId, result: toAssetDetails(project.snapshot(), record) }),
            );
          }
        }
      }
    };
    await check();
    const before = project.snapshot().revision;
    // A write publishes a new snapshot: its details are built anew, with its revision.
    await connection.sendRequest('packer/applyMutation', {
      projectId: opened.projectId,
      mutation: { kind: 'setBuildInclusion', asset: { assetId: 1 }, included: false },
    });
    expect(project.snapshot().revision).toBeGreaterThan(before);
    await project.validationSettled();
    await check();
    const details = (await connection.sendRequest('packer/getAssetDetails', {
      projectId: opened.projectId,
      asset: { assetId: 1 },
    })) as { revision: number; asset: { includedInBuild: boolean } };
    expect(details.revision).toBe(project.snapshot().revision);
    expect(details.asset.includedInBuild).toBe(false);
  });

  it('the hand-written params check accepts only what the schema accepts, and returns what it returns', () => {
    const schema = packerRequests.getAssetDetails.params;
    const assetIds = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.constant(Number.MAX_SAFE_INTEGER + 1),
      fc.constant(Number.MAX_SAFE_INTEGER),
      fc.string(),
      fc.constant(-0),
    );
    const nearShapes = fc.oneof(
      fc.anything(),
      // The shape clients send, with every kind of value in it.
      fc.record({ projectId: fc.string({ maxLength: 300 }), asset: fc.record({ assetId: assetIds }) }),
      fc.record(
        {
          projectId: fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null)),
          asset: fc.oneof(
            fc.record(
              {
                assetId: fc.oneof(
                  fc.integer(),
                  fc.double(),
                  fc.constant(Number.MAX_SAFE_INTEGER + 1),
                  fc.string(),
                  fc.constant(-0),
                ),
                assetUuid: fc.string(),
                extra: fc.anything(),
              },
              { requiredKeys: [] },
            ),
            fc.anything(),
          ),
          extra: fc.anything(),
        },
        { requiredKeys: [] },
      ),
    );
    let accepted = 0;
    fc.assert(
      fc.property(nearShapes, (raw) => {
        const fast = fastAssetDetailsParams(raw);
        if (fast === undefined) return;
        accepted++;
        const parsed = schema.safeParse(raw);
        expect(parsed.success).toBe(true);
        expect(fast).toStrictEqual(parsed.data);
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(0);
    // The common shape is taken by the fast path; an object with another prototype is left to the schema.
    expect(fastAssetDetailsParams({ projectId: 'p', asset: { assetId: 7 } })).toStrictEqual({
      projectId: 'p',
      asset: { assetId: 7 },
    });
    expect(
      fastAssetDetailsParams(
        Object.assign(Object.create({ inherited: 1 }) as object, { projectId: 'p', asset: { assetId: 7 } }),
      ),
    ).toBeUndefined();
    expect(fastAssetDetailsParams({ projectId: 'p', asset: { assetId: 0 } })).toBeUndefined();
  });
});
