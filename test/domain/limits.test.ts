/**
 * The limits as rules: path components and paths by UTF-8 length, names without control characters,
 * JSON nesting measured without recursion, ids inside the safe integer range, drafts without an
 * asset_uuid, and quarantine manifests checked like any other untrusted file. Each is a preview blocker
 * or a diagnostic, never an exception.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MutationIntent } from '@prometeu/packer-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDeclaration } from '../../server/src/domain/declaration.js';
import {
  jsonTextDepth,
  MAX_COMPONENT_BYTES,
  MAX_JSON_DEPTH,
  MAX_PATH_BYTES,
  nestsDeeperThan,
} from '../../server/src/domain/limits.js';
import { checkAssetsPath } from '../../server/src/domain/paths.js';
import { parseRegistry } from '../../server/src/domain/registry.js';
import { PackerHost } from '../../server/src/index.js';
import { planMutation } from '../../server/src/mutations/plan.js';
import type { Project } from '../../server/src/project/project.js';
import { useTempDirs, uuidFor, writeProject } from '../support/workspace-builder.js';

const UUID = '00000000-0000-4000-8000-00000000c0de';

/** `depth` nested arrays as JSON text, built without recursion. */
function deepText(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

const DECLARATION = {
  name: 'new',
  type: 'blob',
  inputs: { data: ['data.bin'] },
  output: { format: 'BLOB/raw_v1', codec: 'NONE' },
  preload: { enabled: false },
};

describe('path limits', () => {
  it('accepts a component of exactly 255 bytes and refuses one of 256, counting UTF-8 bytes', () => {
    expect(checkAssetsPath(`a/${'n'.repeat(MAX_COMPONENT_BYTES)}`).ok).toBe(true);
    expect(checkAssetsPath(`a/${'n'.repeat(MAX_COMPONENT_BYTES + 1)}`)).toEqual({
      ok: false,
      reason: 'component-too-long',
    });
    // 128 two-byte characters are 256 bytes.
    expect(checkAssetsPath(`a/${'é'.repeat(128)}`)).toEqual({ ok: false, reason: 'component-too-long' });
  });

  it(`refuses a whole path longer than ${MAX_PATH_BYTES} bytes`, () => {
    const segment = 'n'.repeat(200);
    const path = Array.from({ length: 6 }, () => segment).join('/');
    expect(checkAssetsPath(path)).toEqual({ ok: false, reason: 'path-too-long' });
  });

  it('refuses control characters anywhere in a name', () => {
    for (const name of ['a\u0001b', 'tab\there', 'new\nline', 'del\u007f', 'c1\u0085']) {
      expect(checkAssetsPath(`x/${name}`)).toEqual({ ok: false, reason: 'invalid-character' });
    }
  });
});

describe('JSON depth', () => {
  it('measures 5,000 levels of nesting without recursion and ignores brackets inside strings', () => {
    expect(jsonTextDepth(deepText(5000))).toBe(5000);
    expect(jsonTextDepth('{"a":"[[[[\\"[["}')).toBe(1);
    const deep = JSON.parse(deepText(5000)) as unknown;
    expect(nestsDeeperThan(deep, MAX_JSON_DEPTH)).toBe(true);
    expect(nestsDeeperThan(JSON.parse(deepText(MAX_JSON_DEPTH)), MAX_JSON_DEPTH)).toBe(false);
  });

  it('an asset.json nested 5,000 levels deep is a json-too-deep diagnostic, not a crash (issue 9, item 5)', () => {
    const parsed = parseDeclaration('deep', `{"name":"x","extra":${deepText(5000)}}`);
    expect(parsed.declaration).toBeNull();
    expect(parsed.diagnostics.map((diagnostic) => diagnostic.code)).toEqual(['json-too-deep']);
  });

  it('an index.json nested too deep is a json-too-deep diagnostic', () => {
    const parsed = parseRegistry(`{"schema_version":1,"x":${deepText(MAX_JSON_DEPTH + 1)}}`);
    expect(parsed.registry).toBeNull();
    expect(parsed.diagnostics.map((diagnostic) => diagnostic.code)).toEqual(['json-too-deep']);
  });
});

describe('limits as preview blockers', () => {
  const tempDir = useTempDirs('packer-limits-');
  const hosts: PackerHost[] = [];
  afterEach(() => {
    for (const host of hosts.splice(0)) host.dispose();
  });

  async function open(dir: string): Promise<Project> {
    const host = new PackerHost({ epoch: 'limits', newUuid: () => UUID, watcher: null });
    hosts.push(host);
    return host.open(pathToFileURL(dir).href);
  }

  async function blockersOf(project: Project, intent: MutationIntent): Promise<string[]> {
    return planMutation(project.snapshot(), intent, { uuid: UUID }).blockers.map((blocker) => blocker.code);
  }

  async function base(nextAssetId?: number): Promise<Project> {
    const dir = tempDir();
    writeProject(dir, {
      assets: [
        { root: 'chars/hero' },
        { root: 'props/barrel', registered: false },
        { root: 'props/box', registered: false },
      ],
      ...(nextAssetId !== undefined ? { nextAssetId } : {}),
    });
    return open(dir);
  }

  it('a relocate or createAsset to a 300-character component is blocked with nameTooLong (issue 9, item 4)', async () => {
    const project = await base();
    const long = `moved/${'n'.repeat(300)}`;
    expect(await blockersOf(project, { kind: 'relocate', asset: { assetId: 1 }, to: long })).toEqual(['nameTooLong']);
    expect(
      await blockersOf(project, { kind: 'createAsset', root: long, register: true, declaration: DECLARATION }),
    ).toEqual(['nameTooLong']);
  });

  it('a relocate that would make a file inside the root longer than the path limit is blocked with pathTooLong', async () => {
    const project = await base();
    const to = Array.from({ length: 4 }, () => 'n'.repeat(253)).join('/');
    expect(checkAssetsPath(to).ok).toBe(true);
    expect(await blockersOf(project, { kind: 'relocate', asset: { assetId: 1 }, to })).toEqual(['pathTooLong']);
  });

  it('a name with a control character is blocked with invalidName', async () => {
    const project = await base();
    expect(await blockersOf(project, { kind: 'relocate', asset: { assetId: 1 }, to: 'bad\u0007name' })).toEqual([
      'invalidName',
    ]);
  });

  it('a createAsset draft nested too deep is blocked, not serialised (issue 9, item 5)', async () => {
    const project = await base();
    const declaration = { ...DECLARATION, extra: JSON.parse(deepText(5000)) as unknown };
    expect(await blockersOf(project, { kind: 'createAsset', root: 'made/deep', register: false, declaration })).toEqual(
      ['declarationTooDeep'],
    );
  });

  it('a createAsset draft that carries asset_uuid is blocked with draftCarriesUuid (issue 9, item 11)', async () => {
    const project = await base();
    const declaration = { ...DECLARATION, asset_uuid: uuidFor('chars/hero') };
    expect(await blockersOf(project, { kind: 'createAsset', root: 'made/new', register: true, declaration })).toEqual([
      'draftCarriesUuid',
    ]);
  });

  it('a register from next_asset_id = 2^53 - 1 is blocked with idSpaceExhausted; one below it still works (issue 9, item 11)', async () => {
    const exhausted = await base(Number.MAX_SAFE_INTEGER);
    expect(await blockersOf(exhausted, { kind: 'register', root: 'props/barrel' })).toEqual(['idSpaceExhausted']);
    expect(await blockersOf(exhausted, { kind: 'adopt', root: 'props/barrel' })).toEqual(['idSpaceExhausted']);
    expect(
      await blockersOf(exhausted, { kind: 'createAsset', root: 'made/new', register: true, declaration: DECLARATION }),
    ).toEqual(['idSpaceExhausted']);
    const last = await base(Number.MAX_SAFE_INTEGER - 1);
    const plan = planMutation(last.snapshot(), { kind: 'register', root: 'props/barrel' }, { uuid: UUID });
    expect(plan.blockers).toEqual([]);
    expect(plan.effect.registry?.next_asset_id).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseRegistry(JSON.stringify(plan.effect.registry)).registry).not.toBeNull();
    // Applying it, then trying once more: the second is blocked, and the registry on disk stays valid.
    const first = await last.lane.enqueue(
      (await import('../../server/src/writes/apply-mutation.js')).applyMutationOperation(
        last,
        'op-1',
        { mutation: { kind: 'register', root: 'props/barrel' } },
        last.newUuid,
        'registry',
      ),
    );
    expect(first.status).toBe('succeeded');
    expect(await blockersOf(last, { kind: 'register', root: 'props/box' })).toEqual(['idSpaceExhausted']);
    expect(last.snapshot().registry).not.toBeNull();
  });

  it('a quarantine manifest whose root or asset_uuid climbs out of the project is blocked in the preview (issue 9, item 12)', async () => {
    const dir = tempDir();
    writeProject(dir, { assets: [{ root: 'chars/hero' }] });
    const crafted = (name: string, manifest: Record<string, unknown>): void => {
      const folder = join(dir, 'assets/.prometeu/quarantine', name);
      mkdirSync(join(folder, 'root'), { recursive: true });
      writeFileSync(join(folder, 'root', 'asset.json'), '{}');
      writeFileSync(join(folder, 'manifest.json'), JSON.stringify(manifest));
    };
    const climbing = '11111111-1111-4111-8111-111111111111';
    crafted(climbing, { asset_uuid: climbing, root: '../../outside', asset_id: null, included_in_build: false });
    crafted(`${climbing}-abs`, { asset_uuid: '/tmp', root: 'fine/place', asset_id: null, included_in_build: false });
    crafted(`${climbing}-up`, {
      asset_uuid: '../../../escape',
      root: 'fine/place',
      asset_id: null,
      included_in_build: false,
    });
    const badId = '22222222-2222-4222-8222-222222222222';
    crafted(badId, { asset_uuid: badId, root: 'fine/place', asset_id: 2 ** 60, included_in_build: true });
    const project = await open(dir);
    expect(await blockersOf(project, { kind: 'restore', asset: { assetUuid: badId } })).toEqual([
      'invalidQuarantineManifest',
    ]);
    expect(await blockersOf(project, { kind: 'restore', asset: { assetUuid: climbing } })).toEqual([
      'invalidQuarantineManifest',
    ]);
    expect(await blockersOf(project, { kind: 'restore', asset: { assetUuid: '/tmp' } })).toEqual([
      'invalidQuarantineManifest',
    ]);
    expect(await blockersOf(project, { kind: 'restore', asset: { assetUuid: '../../../escape' } })).toEqual([
      'invalidQuarantineManifest',
    ]);
  });
});
