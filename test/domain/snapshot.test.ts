/**
 * Unit tests of the snapshot join, driven through the real crawl and registry parser on temporary
 * projects: asset states, identity conflicts, blocking rules, counts, ordering and determinism.
 */
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnostic } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import { crawlAssets } from '../../server/src/domain/crawl.js';
import { checkRegistry, parseRegistry, REGISTRY_PATH } from '../../server/src/domain/registry.js';
import { planMutation } from '../../server/src/mutations/plan.js';
import {
  buildSnapshot,
  filesOfRoot,
  inBuildSet,
  snapshotDiagnostics,
  type AssetRecord,
  type Snapshot,
} from '../../server/src/domain/snapshot.js';
import { declarationFor, useTempDirs, uuidFor, writeProject, type ProjectSpec } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-snapshot-');

/** Crawls a project and joins it with its registry, the way the server loads a snapshot. */
function snapshotOfDir(assetsDir: string, revision = 1): Snapshot {
  let text: string | null = null;
  try {
    text = readFileSync(join(assetsDir, REGISTRY_PATH), 'utf8');
  } catch {
    // Absent: parseRegistry reports it.
  }
  return buildSnapshot(revision, crawlAssets(assetsDir), parseRegistry(text));
}

function snapshotOf(spec: ProjectSpec): Snapshot {
  return snapshotOfDir(writeProject(tempDir(), spec).assetsDir);
}

function record(snapshot: Snapshot, root: string): AssetRecord {
  const found = snapshot.byRoot.get(root);
  expect(found, `no record for ${root}`).toBeDefined();
  return found!;
}

function codesOf(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map((diagnostic) => diagnostic.code);
}

describe('buildSnapshot: asset states', () => {
  it('joins registered, unregistered and missing assets', () => {
    const snapshot = snapshotOf({
      assets: [{ root: 'registered' }, { root: 'loose', registered: false }, { root: 'gone', declaration: null }],
    });
    const registered = record(snapshot, 'registered');
    expect(registered).toMatchObject({
      state: 'ok',
      entry: { asset_id: 1, root: 'registered' },
      assetUuid: uuidFor('registered'),
      diagnostics: [],
    });
    expect(registered.anchor?.declaration?.name).toBe('registered');

    const loose = record(snapshot, 'loose');
    expect(loose).toMatchObject({ state: 'ok', entry: null, assetUuid: uuidFor('loose') });
    expect(codesOf(loose.diagnostics)).toEqual(['unregistered-root']);

    const gone = record(snapshot, 'gone');
    expect(gone).toMatchObject({
      state: 'missing',
      anchor: null,
      entry: { asset_id: 2 },
      assetUuid: uuidFor('gone'),
      inputs: [],
    });
  });

  it('reports a registered root without asset.json as a blocking missing-anchor with a forget safe fix', () => {
    const snapshot = snapshotOf({
      assets: [{ root: 'ok' }, { root: 'characters/gone', declaration: null, files: {} }],
    });
    const gone = record(snapshot, 'characters/gone');
    expect(gone.diagnostics).toEqual([
      expect.objectContaining({
        code: 'missing-anchor',
        family: 'structural',
        severity: 'error',
        blocking: true,
        assetId: 2,
        assetUuid: uuidFor('characters/gone'),
        root: 'characters/gone',
        path: 'characters/gone/asset.json',
        safeFix: {
          fixId: 'missing-anchor:2',
          title: 'Forget registry entry #2',
          mutation: { kind: 'forget', asset: { assetId: 2 } },
        },
      }),
    ]);
    expect(gone.diagnostics[0]!.message).toContain('characters/gone/asset.json');
    expect(gone.availableActions).toEqual(['forget']);
    expect(gone.worstSeverity).toBe('error');
  });

  it('marks a registered asset with an invalid declaration invalid, blocking, and still named by its readable fields', () => {
    const snapshot = snapshotOf({
      assets: [{ root: 'broken', declaration: { ...declarationFor({ root: 'broken' }), preload: { enabeld: true } } }],
    });
    const broken = record(snapshot, 'broken');
    expect(broken.state).toBe('invalid');
    expect(broken.assetUuid).toBe(uuidFor('broken'));
    expect(broken.anchor?.name).toBe('broken');
    expect(broken.diagnostics).toEqual([
      expect.objectContaining({
        code: 'declaration-invalid',
        severity: 'error',
        blocking: true,
        assetId: 1,
        assetUuid: uuidFor('broken'),
      }),
    ]);
    expect(broken.availableActions).toEqual(['relocate', 'setBuildInclusion', 'forget', 'quarantine', 'remove']);
  });

  it('reports a registry entry whose root holds another asset as a blocking identity-uuid-mismatch', () => {
    const other = uuidFor('replacement');
    const snapshot = snapshotOf({
      assets: [{ root: 'hero', uuid: other, registered: false }],
      registry: {
        schema_version: 1,
        next_asset_id: 2,
        assets: [{ asset_id: 1, asset_uuid: uuidFor('hero'), root: 'hero', included_in_build: true }],
      },
    });
    const hero = record(snapshot, 'hero');
    expect(hero.entry?.asset_uuid).toBe(uuidFor('hero'));
    expect(hero.assetUuid).toBe(other);
    expect(hero.diagnostics).toEqual([
      expect.objectContaining({
        code: 'identity-uuid-mismatch',
        blocking: true,
        assetId: 1,
        assetUuid: uuidFor('hero'),
        path: 'hero/asset.json',
      }),
    ]);
    expect(hero.diagnostics[0]!.message).toContain(other);
    expect(snapshot.counts.unregistered).toBe(0);
  });

  it('reports two anchors carrying one uuid on both, each naming the other, and blocks', () => {
    const uuid = uuidFor('original');
    const snapshot = snapshotOf({
      assets: [
        { root: 'original', uuid },
        { root: 'copy of original', uuid, registered: false },
      ],
    });
    const original = record(snapshot, 'original');
    const copy = record(snapshot, 'copy of original');
    const duplicateOf = (each: AssetRecord) =>
      each.diagnostics.filter((diagnostic) => diagnostic.code === 'identity-duplicate-uuid');
    expect(duplicateOf(original)).toEqual([
      expect.objectContaining({
        blocking: true,
        assetId: 1,
        assetUuid: uuid,
        path: 'original/asset.json',
        related: [{ path: 'copy of original/asset.json', message: 'same asset_uuid' }],
      }),
    ]);
    expect(duplicateOf(copy)).toEqual([
      expect.objectContaining({
        blocking: true,
        assetUuid: uuid,
        related: [{ path: 'original/asset.json', message: 'same asset_uuid' }],
      }),
    ]);
    expect(duplicateOf(copy)[0]!.assetId).toBeUndefined();
    expect(snapshot.byUuid.get(uuid)).toBe(original);
  });

  it('reports a root nested in another on the inner root, naming the outer one', () => {
    const snapshot = snapshotOf({ assets: [{ root: 'outer' }, { root: 'outer/deep/inner', registered: false }] });
    expect(record(snapshot, 'outer').diagnostics).toEqual([]);
    const inner = record(snapshot, 'outer/deep/inner');
    expect(inner.diagnostics.filter((diagnostic) => diagnostic.code === 'nested-root')).toEqual([
      expect.objectContaining({
        blocking: true,
        root: 'outer/deep/inner',
        assetUuid: uuidFor('outer/deep/inner'),
        related: [{ path: 'outer/asset.json', message: 'the enclosing asset root' }],
      }),
    ]);
  });

  it('names the nearest enclosing root when roots nest three deep', () => {
    const snapshot = snapshotOf({ assets: [{ root: 'a' }, { root: 'a/b' }, { root: 'a/b/c' }] });
    const nestedOf = (root: string) =>
      record(snapshot, root).diagnostics.filter((diagnostic) => diagnostic.code === 'nested-root');
    expect(nestedOf('a')).toEqual([]);
    expect(nestedOf('a/b')[0]!.related).toEqual([{ path: 'a/asset.json', message: 'the enclosing asset root' }]);
    expect(nestedOf('a/b/c')[0]!.related).toEqual([{ path: 'a/b/asset.json', message: 'the enclosing asset root' }]);
  });
});

describe('buildSnapshot: inputs and blocking', () => {
  const inputs = { data: ['present.bin', 'missing.bin', '../escape.bin'] };
  const files = { 'present.bin': 'here' };

  it('gives every declared input a state', () => {
    const snapshot = snapshotOf({ assets: [{ root: 'a', inputs, files }] });
    expect(record(snapshot, 'a').inputs).toEqual([
      { role: 'data', path: 'present.bin', assetsPath: 'a/present.bin', state: 'present', sha256: null },
      { role: 'data', path: 'missing.bin', assetsPath: 'a/missing.bin', state: 'missing', sha256: null },
      { role: 'data', path: '../escape.bin', assetsPath: null, state: 'outsideRoot', sha256: null },
    ]);
    // With an input missing or outside the root, the format checks cannot run.
    expect(record(snapshot, 'a').validation).toBe('notRun');
  });

  it('blocks on a missing input only when the asset is registered and included in the build', () => {
    const snapshot = snapshotOf({
      assets: [
        { root: 'included', inputs, files },
        { root: 'excluded', inputs, files, included: false },
        { root: 'unregistered', inputs, files, registered: false },
      ],
    });
    const inputDiagnostics = (root: string) =>
      record(snapshot, root).diagnostics.filter(
        (diagnostic) => diagnostic.code === 'input-missing' || diagnostic.code === 'input-outside-root',
      );
    expect(inputDiagnostics('included').map(({ code, severity, blocking }) => ({ code, severity, blocking }))).toEqual([
      { code: 'input-outside-root', severity: 'error', blocking: true },
      { code: 'input-missing', severity: 'error', blocking: true },
    ]);
    expect(inputDiagnostics('excluded').map(({ severity, blocking }) => ({ severity, blocking }))).toEqual([
      { severity: 'error', blocking: false },
      { severity: 'error', blocking: false },
    ]);
    expect(inputDiagnostics('unregistered').map(({ severity, blocking }) => ({ severity, blocking }))).toEqual([
      { severity: 'warning', blocking: false },
      { severity: 'warning', blocking: false },
    ]);
    const missing = inputDiagnostics('included')[1]!;
    expect(missing).toMatchObject({
      root: 'included',
      path: 'included/missing.bin',
      assetId: 1,
      assetUuid: uuidFor('included'),
    });
    expect(missing.message).toContain('missing.bin');
  });

  it('does not block on declaration problems of an excluded asset, and keeps its identity', () => {
    const snapshot = snapshotOf({ assets: [{ root: 'excluded', type: 'tilemap', included: false }] });
    const excluded = record(snapshot, 'excluded');
    expect(inBuildSet(excluded)).toBe(false);
    expect(excluded.entry).toMatchObject({ asset_id: 1, asset_uuid: uuidFor('excluded'), included_in_build: false });
    expect(excluded.diagnostics).toEqual([
      expect.objectContaining({ code: 'unknown-asset-type', severity: 'error', blocking: false }),
    ]);
    expect(snapshot.counts).toMatchObject({ registered: 1, includedInBuild: 0, blocking: 0, errors: 1 });
  });

  it("does not count a file with an input's name in another root as that input", () => {
    const snapshot = snapshotOf({ assets: [{ root: 'a', files: {} }, { root: 'b' }] });
    expect(record(snapshot, 'a').inputs[0]!.state).toBe('missing');
    expect(record(snapshot, 'b').inputs[0]!.state).toBe('present');
  });
});

describe('buildSnapshot: the registry', () => {
  it('offers a register safe fix on unregistered roots when the registry is valid', () => {
    const snapshot = snapshotOf({ assets: [{ root: 'new/thing', registered: false }] });
    expect(record(snapshot, 'new/thing').diagnostics).toEqual([
      expect.objectContaining({
        code: 'unregistered-root',
        family: 'hygiene',
        severity: 'info',
        blocking: false,
        assetUuid: uuidFor('new/thing'),
        path: 'new/thing/asset.json',
        safeFix: {
          fixId: 'unregistered-root:new/thing',
          title: 'Register new/thing',
          mutation: { kind: 'register', root: 'new/thing' },
        },
      }),
    ]);
  });

  it('offers no register fix for an unregistered root whose declaration is invalid', () => {
    const snapshot = snapshotOf({ assets: [{ root: 'bad', declaration: '{', registered: false }] });
    const unregistered = record(snapshot, 'bad').diagnostics.find(
      (diagnostic) => diagnostic.code === 'unregistered-root',
    );
    expect(unregistered).toBeDefined();
    expect(unregistered!.safeFix).toBeUndefined();
    expect(record(snapshot, 'bad').availableActions).toEqual(['adopt', 'relocate', 'quarantine', 'remove']);
  });

  it('treats every root as unregistered in a workspace that has no registry, and offers no register fix', () => {
    const snapshot = snapshotOf({ assets: [{ root: 'a' }, { root: 'b' }], registry: false });
    expect(snapshot.workspaceInitialized).toBe(false);
    expect(snapshot.registry).toBeNull();
    expect(codesOf(snapshot.projectDiagnostics)).toEqual(['registry-missing']);
    expect(snapshot.assets.map((each) => [each.root, each.entry])).toEqual([
      ['a', null],
      ['b', null],
    ]);
    for (const each of snapshot.assets) {
      expect(codesOf(each.diagnostics)).toEqual(['unregistered-root']);
      expect(each.diagnostics[0]!.safeFix).toBeUndefined();
    }
    expect(snapshot.counts).toMatchObject({ registered: 0, unregistered: 2, blocking: 1 });
  });

  it('says nothing about unregistered roots while the registry cannot be trusted', () => {
    const snapshot = snapshotOf({ assets: [{ root: 'a' }], registry: '{ not json' });
    expect(snapshot.workspaceInitialized).toBe(true);
    expect(codesOf(snapshot.projectDiagnostics)).toEqual(['registry-unreadable']);
    expect(record(snapshot, 'a')).toMatchObject({ entry: null, diagnostics: [] });
  });

  it("attaches registry diagnostics about one entry to that entry's asset", () => {
    const snapshot = snapshotOf({ assets: [{ root: 'a' }, { root: 'b' }], nextAssetId: 2 });
    expect(snapshot.projectDiagnostics).toEqual([]);
    expect(codesOf(record(snapshot, 'b').diagnostics)).toEqual(['identity-id-not-allocated']);
    expect(record(snapshot, 'a').diagnostics).toEqual([]);
  });

  it('keeps registry diagnostics about an entry with an invalid root at project level', () => {
    const snapshot = snapshotOf({
      assets: [{ root: 'a' }],
      registry: {
        schema_version: 1,
        next_asset_id: 3,
        assets: [
          { asset_id: 1, asset_uuid: uuidFor('a'), root: 'a', included_in_build: true },
          { asset_id: 2, asset_uuid: uuidFor('x'), root: '../x', included_in_build: true },
        ],
      },
    });
    expect(codesOf(snapshot.projectDiagnostics)).toEqual(['root-path-invalid']);
    expect(snapshot.assets.map((each) => each.root)).toEqual(['a']);
  });

  it('reports each of two entries on one root once, on its own record, and counts the folder once', () => {
    const snapshot = snapshotOf({
      assets: [{ root: 'hero', registered: false }],
      registry: {
        schema_version: 1,
        next_asset_id: 3,
        assets: [
          { asset_id: 1, asset_uuid: uuidFor('hero'), root: 'hero', included_in_build: true },
          { asset_id: 2, asset_uuid: uuidFor('hero'), root: 'hero', included_in_build: true },
        ],
      },
    });
    const records = snapshot.assets.filter((each) => each.root === 'hero');
    expect(records.map((each) => each.entry?.asset_id)).toEqual([1, 2]);
    const duplicateRoot = (each: AssetRecord) =>
      each.diagnostics.filter((diagnostic) => diagnostic.code === 'identity-duplicate-root');
    expect(duplicateRoot(records[0]!).map((diagnostic) => diagnostic.assetId)).toEqual([1]);
    expect(duplicateRoot(records[1]!).map((diagnostic) => diagnostic.assetId)).toEqual([2]);
    expect(
      snapshotDiagnostics(snapshot).filter((diagnostic) => diagnostic.code === 'identity-duplicate-root'),
    ).toHaveLength(2);
    expect(
      snapshotDiagnostics(snapshot).filter((diagnostic) => diagnostic.code === 'identity-duplicate-uuid'),
    ).toHaveLength(2);
    expect(snapshot.counts).toMatchObject({ roots: 1, registered: 2, unregistered: 0, blocking: 4 });
    expect(snapshot.byRoot.get('hero')).toBe(records[0]);
    expect(snapshot.byId.get(2)).toBe(records[1]);
  });
});

describe('buildSnapshot: the whole projection', () => {
  const spec: ProjectSpec = {
    assets: [
      { root: 'zeta', registered: 1 },
      { root: 'alpha', registered: 5, included: false },
      { root: 'mid/gone', registered: 3, declaration: null },
      { root: 'mid/new', registered: false },
      { root: 'Aardvark', registered: false },
      { root: 'broken', registered: 4, files: {} },
    ],
  };

  it('orders registered assets by asset_id, then unregistered ones by root', () => {
    const snapshot = snapshotOf(spec);
    expect(snapshot.assets.map((each) => [each.entry?.asset_id ?? null, each.root])).toEqual([
      [1, 'zeta'],
      [3, 'mid/gone'],
      [4, 'broken'],
      [5, 'alpha'],
      [null, 'Aardvark'],
      [null, 'mid/new'],
    ]);
  });

  it('counts roots, registrations, missing anchors, the build set and diagnostics', () => {
    const snapshot = snapshotOf(spec);
    expect(snapshot.counts).toEqual({
      roots: 5,
      registered: 4,
      unregistered: 2,
      missing: 1,
      includedInBuild: 3,
      errors: 2, // the missing anchor of mid/gone and the missing input of broken
      warnings: 0,
      blocking: 2,
      validationPending: 4, // nothing was validated: every asset whose format checks can run waits for them
    });
    const all = snapshotDiagnostics(snapshot);
    expect(
      all
        .filter((diagnostic) => diagnostic.blocking)
        .map((diagnostic) => diagnostic.code)
        .sort(),
    ).toEqual(['input-missing', 'missing-anchor']);
  });

  it('offers the actions each state allows', () => {
    const snapshot = snapshotOf(spec);
    expect(record(snapshot, 'zeta').availableActions).toEqual([
      'rename',
      'relocate',
      'setBuildInclusion',
      'forget',
      'quarantine',
      'remove',
    ]);
    expect(record(snapshot, 'mid/gone').availableActions).toEqual(['forget']);
    expect(record(snapshot, 'mid/new').availableActions).toEqual([
      'register',
      'adopt',
      'rename',
      'relocate',
      'quarantine',
      'remove',
    ]);
  });

  it('indexes records by root, uuid and id', () => {
    const snapshot = snapshotOf(spec);
    expect(snapshot.byId.get(5)?.root).toBe('alpha');
    expect(snapshot.byUuid.get(uuidFor('mid/new'))?.root).toBe('mid/new');
    expect(snapshot.byUuid.get(uuidFor('mid/gone'))?.root).toBe('mid/gone');
    expect(snapshot.byRoot.get('Aardvark')?.entry).toBeNull();
    expect(snapshot.byId.get(2)).toBeUndefined();
  });

  it("is deterministic: two builds of one workspace are equal, and the revision is the caller's", () => {
    const { assetsDir } = writeProject(tempDir(), {
      ...spec,
      files: { 'stray.txt': 'x' },
      symlinks: { 'zeta/link': '..' },
    });
    const first = snapshotOfDir(assetsDir, 7);
    const second = snapshotOfDir(assetsDir, 7);
    expect(second).toEqual(first);
    expect(JSON.stringify(second.assets)).toBe(JSON.stringify(first.assets));
    expect(first.revision).toBe(7);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.assets)).toBe(true);
  });

  it('does not depend on the order in which the crawl met the anchors', () => {
    const { assetsDir } = writeProject(tempDir(), spec);
    const crawl = crawlAssets(assetsDir);
    const registry = parseRegistry(readFileSync(join(assetsDir, REGISTRY_PATH), 'utf8'));
    const reversed = { ...crawl, anchors: [...crawl.anchors].reverse() };
    expect(JSON.stringify(buildSnapshot(1, reversed, registry).assets)).toBe(
      JSON.stringify(buildSnapshot(1, crawl, registry).assets),
    );
  });
});

describe('filesOfRoot', () => {
  it("lists a root's files relative to it, sorted, without the files of roots nested inside it or of sibling folders", () => {
    const snapshot = snapshotOf({
      assets: [
        { root: 'ui', inputs: { data: ['b.bin', 'a/deep.bin'] } },
        { root: 'ui/icons', registered: false },
        { root: 'ui-old', registered: false },
      ],
      files: { 'ui/notes.txt': 'n', 'ui/icons/sub/extra.png': 'e', 'ui.txt': 'u' },
    });
    expect(filesOfRoot(snapshot, 'ui')).toEqual(['a/deep.bin', 'asset.json', 'b.bin', 'notes.txt']);
    expect(filesOfRoot(snapshot, 'ui/icons')).toEqual(['asset.json', 'data.bin', 'sub/extra.png']);
    expect(filesOfRoot(snapshot, 'ui-old')).toEqual(['asset.json', 'data.bin']);
  });

  it('lists what remains in the folder of a registered root whose asset.json is missing', () => {
    const snapshot = snapshotOf({ assets: [{ root: 'gone', declaration: null, files: { 'left-over.png': 'x' } }] });
    expect(filesOfRoot(snapshot, 'gone')).toEqual(['left-over.png']);
    expect(filesOfRoot(snapshot, 'not-a-root')).toEqual([]);
  });
});

describe('buildSnapshot: roots moved outside the packer', () => {
  /** `characters/hero` is registered, but its folder now sits at `heroes/hero` (moved with a file manager). */
  function movedHero(): Snapshot {
    const dir = tempDir();
    const { assetsDir } = writeProject(dir, {
      assets: [{ root: 'characters/hero', inputs: { data: ['hero.bin'] } }, { root: 'props/crate' }],
    });
    mkdirSync(join(assetsDir, 'heroes'));
    renameSync(join(assetsDir, 'characters/hero'), join(assetsDir, 'heroes/hero'));
    return snapshotOfDir(assetsDir);
  }

  it('reports a registered root whose asset_uuid is now carried by an unregistered root as a move, with no fingerprint at all', () => {
    const snapshot = movedHero();
    const gone = record(snapshot, 'characters/hero');
    expect(gone.state).toBe('missing');
    expect(gone.diagnostics).toEqual([
      expect.objectContaining({
        code: 'root-moved',
        blocking: true,
        assetId: 1,
        assetUuid: uuidFor('characters/hero'),
        root: 'characters/hero',
        path: 'heroes/hero/asset.json',
        related: [
          { path: 'characters/hero/asset.json', message: 'where the registry expects the root (gone)' },
          { path: 'heroes/hero/asset.json', message: 'where the root is now' },
        ],
        safeFix: {
          fixId: 'moved-root:1',
          title: 'Relocate entry #1 from characters/hero to heroes/hero',
          mutation: { kind: 'relocate', asset: { assetId: 1 }, to: 'heroes/hero' },
        },
      }),
    ]);
    expect(gone.diagnostics[0]!.message).toContain(`from characters/hero to heroes/hero`);
    expect(gone.diagnostics[0]!.message).toContain(uuidFor('characters/hero'));
  });

  it('offers the moved folder the same relocate fix instead of registering it a second time', () => {
    const snapshot = movedHero();
    const moved = record(snapshot, 'heroes/hero');
    expect(moved.entry).toBeNull();
    expect(moved.diagnostics).toEqual([
      expect.objectContaining({
        code: 'unregistered-root',
        blocking: false,
        safeFix: expect.objectContaining({
          fixId: 'moved-root:1',
          mutation: expect.objectContaining({ kind: 'relocate' }),
        }),
      }),
    ]);
  });

  it('relocating by the fix leaves a registry without any move or missing root', () => {
    const snapshot = movedHero();
    const plan = planMutation(snapshot, { kind: 'applySafeFix', fixId: 'moved-root:1' }, { uuid: uuidFor('unused') });
    expect(plan.blockers).toEqual([]);
    expect(plan.requiresConsent).toBe(false);
    expect(plan.filesystemChanges).toEqual([]);
    const after = buildSnapshot(2, snapshot.crawl, checkRegistry(plan.effect.registry!), { previous: snapshot });
    expect(codesOf(snapshotDiagnostics(after)).filter((code) => code !== 'unreferenced-file')).toEqual([]);
    expect(after.byId.get(1)!.root).toBe('heroes/hero');
  });
});

describe('safe fixes of the registry', () => {
  it('normalizeRegistry on a canonical registry changes nothing, and reassignAssetId refuses an id that is not shared', () => {
    const snapshot = snapshotOf({ assets: [{ root: 'hero' }] });
    const normalize = planMutation(snapshot, { kind: 'normalizeRegistry' }, { uuid: uuidFor('unused') });
    expect(normalize).toMatchObject({ blockers: [], warnings: [{ code: 'noChange' }], effect: { registry: null } });
    const reassign = planMutation(
      snapshot,
      { kind: 'reassignAssetId', asset: { assetId: 1 } },
      { uuid: uuidFor('unused') },
    );
    expect(reassign.blockers.map((blocker) => blocker.code)).toEqual(['noChange']);
    expect(reassign.effect.registry).toBeNull();
  });
});
