/**
 * What clients get without guessing: `initialize` advertises the asset types, formats and input roles from
 * the tables the server validates with; an asset's actions say what they touch and whether they need consent,
 * as the planner decides it; workspace hygiene diagnostics of registered roots carry their `assetId`.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { InitializeResult, type Diagnostic, type MutationIntent } from '@prometeu/packer-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ASSET_TYPES } from '../../server/src/domain/asset-types.js';
import { planMutation } from '../../server/src/mutations/plan.js';
import { FORMATS } from '../../server/src/pack/formats/registry.js';
import { loadSnapshot } from '../../server/src/project/loader.js';
import { PackerHost } from '../../server/src/index.js';
import { availableActionOf } from '../../server/src/wire/convert.js';
import { useTempDirs, uuidFor, writeProject } from '../support/workspace-builder.js';
import { connectInProcess, Notifier, type InProcessClient } from '../lane/support.js';

describe('capabilities and metadata for clients', () => {
  const tempDir = useTempDirs('packer-capabilities-');
  const disposers: (() => void)[] = [];
  afterEach(() => {
    for (const dispose of disposers.splice(0).reverse()) dispose();
  });

  function connect(): InProcessClient {
    const host = new PackerHost({ epoch: 'capabilities', watcher: null });
    disposers.push(() => host.dispose());
    const client = connectInProcess(host, new Notifier());
    disposers.push(() => client.dispose());
    return client;
  }

  it('initialize advertises every asset type with its format, codecs and input roles, and every format id', async () => {
    const client = connect();
    const result = InitializeResult.parse(
      await client.connection.sendRequest('initialize', { processId: null, capabilities: {} }),
    );
    const packer = result.capabilities.experimental.packer;
    expect(packer.formats).toEqual([...FORMATS.keys()].sort());
    expect(packer.assetTypes.map((entry) => entry.type).sort()).toEqual(Object.keys(ASSET_TYPES).sort());
    for (const advertised of packer.assetTypes) {
      const contract = ASSET_TYPES[advertised.type]!;
      expect(advertised.format).toBe(contract.format);
      expect(advertised.codecs).toEqual(contract.codecs);
      expect(packer.formats).toContain(advertised.format);
      const format = FORMATS.get(advertised.format)!;
      expect(format.type).toBe(advertised.type);
      expect(advertised.inputs).toEqual(
        format.inputRoles.map((rule) => ({ role: rule.role, min: rule.min, max: rule.max, rule: rule.content })),
      );
      expect(advertised.inputs.length).toBeGreaterThan(0);
    }
  });

  it("an asset's actions carry the class and the consent the planner gives the concrete mutation", () => {
    const dir = realpathSync(tempDir());
    writeProject(dir, {
      assets: [
        { root: 'chars/hero' },
        { root: 'chars/slime', included: false },
        { root: 'loose', registered: false },
        // A copy sharing the hero's identity: adopting it repairs asset.json.
        { root: 'copy', uuid: uuidFor('chars/hero'), registered: false },
      ],
    });
    const snapshot = loadSnapshot(dir, 1);
    const concrete = (kind: string, root: string, included: boolean): MutationIntent | undefined => {
      const asset = { root };
      switch (kind) {
        case 'register':
        case 'adopt':
          return { kind, root };
        case 'forget':
        case 'remove':
        case 'quarantine':
          return { kind, asset };
        case 'rename':
          return { kind, asset, name: 'renamed' };
        case 'relocate':
          return { kind, asset, to: `moved/${root.replace('/', '-')}` };
        case 'setBuildInclusion':
          return { kind, asset, included: !included };
        default:
          return undefined;
      }
    };
    let checked = 0;
    for (const record of snapshot.assets) {
      for (const kind of record.availableActions) {
        const intent = concrete(kind, record.root, record.entry?.included_in_build ?? false);
        if (intent === undefined) continue;
        const plan = planMutation(snapshot, intent, { uuid: '00000000-0000-4000-8000-0000000000ff' });
        // A blocked plan changes nothing, so it says nothing about what the action touches.
        if (plan.blockers.length > 0) continue;
        expect(availableActionOf(kind, record), `${kind} of ${record.root}`).toEqual({
          kind,
          operationClass: plan.operationClass,
          requiresConsent: plan.requiresConsent,
        });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('doctor --workspace gives hygiene diagnostics of a registered root its assetId', async () => {
    const dir = realpathSync(tempDir());
    writeProject(dir, {
      assets: [{ root: 'chars/hero', files: { 'hero.bin': 'HERO\n', 'notes.txt': 'todo\n' } }],
    });
    const client = connect();
    await client.connection.sendRequest('initialize', {
      processId: null,
      capabilities: {},
      workspaceFolders: [{ uri: pathToFileURL(dir).href, name: 'game' }],
    });
    const opened = await client.connection.sendRequest<{ projectId: string }>('packer/openProject', {
      rootUri: pathToFileURL(dir).href,
    });
    const doctor = await client.connection.sendRequest<{ diagnostics: Diagnostic[] }>('packer/doctor', {
      projectId: opened.projectId,
      scope: 'workspace',
    });
    const unreferenced = doctor.diagnostics.find((diagnostic) => diagnostic.path === 'chars/hero/notes.txt');
    expect(unreferenced).toMatchObject({ root: 'chars/hero', path: 'chars/hero/notes.txt', assetId: 1 });
  });
});
