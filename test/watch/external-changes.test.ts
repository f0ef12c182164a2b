/**
 * External changes on the real filesystem, seen by each real watcher backend: inputs and anchors added,
 * changed and deleted, a root moved with a file manager, an editor's atomic save and a git checkout all
 * become explicit divergence; reads keep serving the last revision until a reconcile accepts the disk.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SnapshotDiff } from '../../server/src/domain/snapshot-diff.js';
import type { Snapshot } from '../../server/src/domain/snapshot.js';
import type { DivergentChange } from '../../server/src/watch/divergence.js';
import {
  declarationFor,
  useTempDirs,
  uuidFor,
  writeProject,
  type AssetSpec,
  type ProjectSpec,
} from '../support/workspace-builder.js';
import {
  BACKENDS,
  describeChanges,
  registryText,
  sortChanges,
  useWatchedProjects,
  type WatchedProject,
} from './support.js';

const tempDir = useTempDirs('prometeu-watch-external-');
const openWatched = useWatchedProjects();

/** Three registered blobs; the lamp declares an input that does not exist yet. */
const BASE: ProjectSpec = {
  assets: [
    { root: 'characters/hero', inputs: { data: ['hero.bin'] } },
    { root: 'props/crate', inputs: { data: ['crate.bin'] } },
    { root: 'props/lamp', inputs: { data: ['lamp.bin'] }, files: {} },
  ],
};

/** One external edit and what the packer must make of it. */
interface EditCase {
  readonly name: string;
  readonly act: (assetsDir: string) => void;
  readonly expected: readonly DivergentChange[];
  /** The asset roots the divergence event names. */
  readonly touched: readonly string[];
  /** What reads still show while diverged (the previous revision's view). */
  readonly previousView: (snapshot: Snapshot) => void;
  /** What the reconcile's diff reports. */
  readonly diff: (diff: SnapshotDiff) => void;
  /**
   * Whether the reconcile leaves an asset with something new to check (a reload keeps the format results of
   * unchanged inputs, so a validation revision follows only then).
   */
  readonly revalidates: boolean;
}

const BARREL: AssetSpec = { root: 'props/barrel', inputs: { data: ['barrel.bin'] } };

const EDITS: readonly EditCase[] = [
  {
    name: 'an input file added',
    revalidates: true,
    act: (assetsDir) => writeFileSync(join(assetsDir, 'props/lamp/lamp.bin'), 'LAMP BYTES'),
    expected: [{ path: 'props/lamp/lamp.bin', change: 'added' }],
    touched: ['props/lamp'],
    previousView: (snapshot) => expect(snapshot.byRoot.get('props/lamp')!.inputs[0]!.state).toBe('missing'),
    diff: (diff) =>
      expect(diff).toMatchObject({ added: [], removed: [], moved: [], changed: [{ root: 'props/lamp' }] }),
  },
  {
    name: 'an input file changed',
    revalidates: true,
    act: (assetsDir) =>
      writeFileSync(join(assetsDir, 'characters/hero/hero.bin'), 'NEW HERO BYTES, longer than the old ones'),
    expected: [{ path: 'characters/hero/hero.bin', change: 'changed' }],
    touched: ['characters/hero'],
    previousView: (snapshot) => expect(snapshot.byRoot.get('characters/hero')!.inputs[0]!.state).toBe('present'),
    // The snapshot models an input's presence, not its bytes, so no root is listed as changed; the cleared
    // divergence (clearedChanges) is what tells the client that hero.bin was accepted.
    diff: (diff) => expect(diff).toMatchObject({ added: [], removed: [], moved: [] }),
  },
  {
    name: 'an input file deleted',
    revalidates: false,
    act: (assetsDir) => rmSync(join(assetsDir, 'props/crate/crate.bin')),
    expected: [{ path: 'props/crate/crate.bin', change: 'removed' }],
    touched: ['props/crate'],
    previousView: (snapshot) => expect(snapshot.byRoot.get('props/crate')!.inputs[0]!.state).toBe('present'),
    diff: (diff) =>
      expect(diff).toMatchObject({ added: [], removed: [], moved: [], changed: [{ root: 'props/crate' }] }),
  },
  {
    name: 'an anchor added (a new root)',
    revalidates: true,
    act: (assetsDir) => {
      mkdirSync(join(assetsDir, BARREL.root));
      writeFileSync(join(assetsDir, BARREL.root, 'asset.json'), `${JSON.stringify(declarationFor(BARREL), null, 2)}\n`);
      writeFileSync(join(assetsDir, BARREL.root, 'barrel.bin'), 'BARREL');
    },
    expected: [
      { path: 'props/barrel/asset.json', change: 'added' },
      { path: 'props/barrel/barrel.bin', change: 'added' },
    ],
    touched: ['props/barrel'],
    previousView: (snapshot) => expect(snapshot.byRoot.has('props/barrel')).toBe(false),
    diff: (diff) =>
      expect(diff).toMatchObject({
        added: [{ root: 'props/barrel', assetUuid: uuidFor('props/barrel') }],
        removed: [],
        moved: [],
        changed: [],
      }),
  },
  {
    name: 'an anchor changed',
    revalidates: true,
    act: (assetsDir) => {
      const declaration = {
        ...declarationFor({ root: 'characters/hero', inputs: { data: ['hero.bin'] } }),
        name: 'hero_prime',
      };
      writeFileSync(join(assetsDir, 'characters/hero/asset.json'), `${JSON.stringify(declaration, null, 2)}\n`);
    },
    expected: [{ path: 'characters/hero/asset.json', change: 'changed' }],
    touched: ['characters/hero'],
    previousView: (snapshot) => expect(snapshot.byRoot.get('characters/hero')!.anchor!.name).toBe('hero'),
    diff: (diff) =>
      expect(diff).toMatchObject({ added: [], removed: [], moved: [], changed: [{ root: 'characters/hero' }] }),
  },
  {
    name: 'an anchor deleted',
    revalidates: false,
    act: (assetsDir) => rmSync(join(assetsDir, 'props/crate/asset.json')),
    expected: [{ path: 'props/crate/asset.json', change: 'removed' }],
    touched: ['props/crate'],
    previousView: (snapshot) => expect(snapshot.byRoot.get('props/crate')!.anchor).not.toBeNull(),
    diff: (diff) =>
      expect(diff).toMatchObject({ added: [], removed: [{ root: 'props/crate', assetId: 2 }], moved: [], changed: [] }),
  },
  {
    name: 'the registry edited',
    revalidates: false,
    act: (assetsDir) => {
      const path = join(assetsDir, '.prometeu/index.json');
      const registry = JSON.parse(readFileSync(path, 'utf8')) as { assets: { included_in_build: boolean }[] };
      registry.assets[1]!.included_in_build = false;
      writeFileSync(path, `${JSON.stringify(registry, null, 2)}\n`);
    },
    expected: [{ path: '.prometeu/index.json', change: 'changed' }],
    touched: [],
    previousView: (snapshot) => expect(snapshot.byRoot.get('props/crate')!.entry!.included_in_build).toBe(true),
    diff: (diff) =>
      expect(diff).toMatchObject({ added: [], removed: [], moved: [], changed: [{ root: 'props/crate' }] }),
  },
];

/** Every change the project's `divergence.detected` events announced, in order. */
function announced(watched: WatchedProject): DivergentChange[] {
  return watched
    .eventsOf('divergence.detected')
    .flatMap((event) => event.body.changes)
    .map(({ from, assetUuid, ...change }) => ({
      ...change,
      ...(from !== undefined ? { from } : {}),
      ...(assetUuid !== undefined ? { assetUuid } : {}),
    }));
}

describe.each(BACKENDS)('with the $name backend', ({ name, factory }) => {
  it.each(EDITS)(
    '$name outside the packer becomes divergence naming the asset; reads keep the last revision; reconcile accepts it',
    async (edit) => {
      const dir = tempDir();
      writeProject(dir, BASE);
      const watched = await openWatched(dir, { watcher: factory });
      expect(watched.status().watching).toMatchObject({ state: 'watching', backend: name });

      edit.act(join(dir, 'assets'));
      const registryBefore = registryText(dir);
      await watched.untilDivergenceIs(edit.expected);

      const detected = watched.eventsOf('divergence.detected');
      expect(detected.length).toBeGreaterThan(0);
      for (const event of detected) expect(event.body).toMatchObject({ revision: 2, between: false });
      expect(sortChanges(announced(watched)).map((change) => change.path)).toEqual(
        expect.arrayContaining(edit.expected.map((change) => change.path)),
      );
      expect(
        [
          ...new Set(
            detected.flatMap((event) => event.body.assets.map((asset) => ('root' in asset ? asset.root : ''))),
          ),
        ].sort(),
      ).toEqual(edit.touched);

      const status = watched.status();
      expect(status).toMatchObject({
        revision: 2,
        state: 'diverged',
        divergence: { diverged: true, sinceRevision: 2 },
      });
      expect(status.divergence.changes).toEqual(sortChanges(edit.expected));
      edit.previousView(watched.project.snapshot());
      expect(watched.project.snapshot().revision).toBe(2);

      const response = await watched.reconcile();
      expect(response).toMatchObject({ previousRevision: 2, revision: 3, clearedChanges: edit.expected.length });
      edit.diff(response.diff);
      expect(watched.status()).toMatchObject({
        // The reconcile's revision, then the validation of what it left to check.
        revision: edit.revalidates ? 4 : 3,
        state: 'ready',
        divergence: { diverged: false, sinceRevision: null, changes: [] },
      });
      // Reconcile reads the registry; it never writes it.
      expect(registryText(dir)).toBe(registryBefore);
    },
  );

  it('a root moved and renamed with a file manager is one move recognised by asset_uuid; reconcile offers the relocate fix and leaves the registry alone', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const watched = await openWatched(dir, { watcher: factory });
    const assetsDir = join(dir, 'assets');
    const registryBefore = registryText(dir);

    mkdirSync(join(assetsDir, 'heroes'));
    renameSync(join(assetsDir, 'characters/hero'), join(assetsDir, 'heroes/main-hero'));
    const move = {
      path: 'heroes/main-hero',
      change: 'moved',
      from: 'characters/hero',
      assetUuid: uuidFor('characters/hero'),
    } as const;
    await watched.untilDivergenceIs([move]);
    expect(announced(watched).filter((change) => change.change === 'moved')).toEqual([move]);
    expect(watched.project.snapshot().byId.get(1)!.root).toBe('characters/hero');

    const response = await watched.reconcile();
    expect(response.diff).toMatchObject({
      added: [],
      removed: [],
      moved: [{ from: 'characters/hero', to: 'heroes/main-hero', assetUuid: uuidFor('characters/hero'), assetId: 1 }],
    });
    expect(response.clearedChanges).toBe(1);
    expect(registryText(dir)).toBe(registryBefore);
    const diagnostics = watched.project.snapshot().byId.get(1)!.diagnostics;
    const moved = diagnostics.find((diagnostic) => diagnostic.code === 'root-moved');
    expect(moved).toMatchObject({ root: 'characters/hero', path: 'heroes/main-hero/asset.json' });
    expect(moved?.safeFix).toMatchObject({
      fixId: 'moved-root:1',
      mutation: { kind: 'relocate', asset: { assetId: 1 }, to: 'heroes/main-hero' },
    });
    expect(watched.status().state).toBe('ready');
  });

  it('a folder holding two roots moved with a file manager is two moves', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const watched = await openWatched(dir, { watcher: factory });
    const assetsDir = join(dir, 'assets');

    mkdirSync(join(assetsDir, 'world'));
    renameSync(join(assetsDir, 'props'), join(assetsDir, 'world/items'));
    await watched.untilDivergenceIs([
      { path: 'world/items/crate', change: 'moved', from: 'props/crate', assetUuid: uuidFor('props/crate') },
      { path: 'world/items/lamp', change: 'moved', from: 'props/lamp', assetUuid: uuidFor('props/lamp') },
    ]);
    const response = await watched.reconcile();
    expect(response.diff.moved.map((move) => [move.from, move.to])).toEqual([
      ['props/crate', 'world/items/crate'],
      ['props/lamp', 'world/items/lamp'],
    ]);
  });

  it('an atomic save (temporary file renamed over the input) is one change, with no added or removed path', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const watched = await openWatched(dir, { watcher: factory });
    const hero = join(dir, 'assets/characters/hero/hero.bin');

    writeFileSync(`${hero}.tmp`, 'SAVED BY AN EDITOR, longer than before');
    renameSync(`${hero}.tmp`, hero);
    await watched.untilDivergenceIs([{ path: 'characters/hero/hero.bin', change: 'changed' }]);
    expect(announced(watched)).toEqual([{ path: 'characters/hero/hero.bin', change: 'changed' }]);

    const response = await watched.reconcile();
    expect(response).toMatchObject({ clearedChanges: 1, diff: { added: [], removed: [], moved: [] } });
  });

  it('a slow atomic save whose temporary file was seen leaves no temporary path behind once it is renamed', async () => {
    const dir = tempDir();
    writeProject(dir, BASE);
    const watched = await openWatched(dir, { watcher: factory });
    const hero = join(dir, 'assets/characters/hero/hero.bin');

    writeFileSync(`${hero}.tmp`, 'SAVED SLOWLY BY AN EDITOR');
    await watched.untilDivergenceIs([{ path: 'characters/hero/hero.bin.tmp', change: 'added' }]);
    renameSync(`${hero}.tmp`, hero);
    await watched.untilDivergenceIs([{ path: 'characters/hero/hero.bin', change: 'changed' }]);
  });

  it('a git checkout that changes, adds and deletes many files in many roots at once is reported in full', async () => {
    const dir = tempDir();
    const roots = Array.from(
      { length: 24 },
      (_, index) => `world/zone-${index % 4}/thing-${String(index).padStart(2, '0')}`,
    );
    writeProject(dir, {
      assets: roots.map((root) => ({ root, inputs: { data: ['data.bin'], extra: ['extra.bin'] } })),
    });
    const watched = await openWatched(dir, { watcher: factory });
    const assetsDir = join(dir, 'assets');
    const expected: DivergentChange[] = [];

    // Eight inputs rewritten, four deleted, four new files beside them, two anchors rewritten,
    // two roots deleted whole and two new roots checked out: all in one burst, as git does it.
    for (const root of roots.slice(0, 8)) {
      writeFileSync(join(assetsDir, root, 'data.bin'), `checked out ${root}, a longer revision of the data`);
      expected.push({ path: `${root}/data.bin`, change: 'changed' });
    }
    for (const root of roots.slice(8, 12)) {
      rmSync(join(assetsDir, root, 'extra.bin'));
      expected.push({ path: `${root}/extra.bin`, change: 'removed' });
    }
    for (const root of roots.slice(12, 16)) {
      writeFileSync(join(assetsDir, root, 'notes.txt'), 'new');
      expected.push({ path: `${root}/notes.txt`, change: 'added' });
    }
    for (const root of roots.slice(16, 18)) {
      const declaration = {
        ...declarationFor({ root, inputs: { data: ['data.bin'], extra: ['extra.bin'] } }),
        preload: { enabled: true },
      };
      writeFileSync(join(assetsDir, root, 'asset.json'), `${JSON.stringify(declaration, null, 2)}\n`);
      expected.push({ path: `${root}/asset.json`, change: 'changed' });
    }
    for (const root of roots.slice(18, 20)) {
      rmSync(join(assetsDir, root), { recursive: true });
      for (const file of ['asset.json', 'data.bin', 'extra.bin'])
        expected.push({ path: `${root}/${file}`, change: 'removed' });
    }
    for (const root of ['world/zone-9/new-a', 'world/zone-9/new-b']) {
      mkdirSync(join(assetsDir, root), { recursive: true });
      writeFileSync(join(assetsDir, root, 'asset.json'), `${JSON.stringify(declarationFor({ root }), null, 2)}\n`);
      writeFileSync(join(assetsDir, root, 'data.bin'), root);
      for (const file of ['asset.json', 'data.bin']) expected.push({ path: `${root}/${file}`, change: 'added' });
    }
    await watched.untilDivergenceIs(expected);
    expect(watched.status().revision).toBe(2);

    const response = await watched.reconcile();
    expect(response.clearedChanges).toBe(expected.length);
    expect(response.diff.added.map((entry) => entry.root)).toEqual(['world/zone-9/new-a', 'world/zone-9/new-b']);
    expect(response.diff.removed.map((entry) => entry.root)).toEqual(roots.slice(18, 20));
    expect(response.diff.moved).toEqual([]);
    // Missing extras and rewritten anchors change the asset; rewritten bytes and unreferenced notes do not.
    expect(response.diff.changed.map((entry) => entry.root)).toEqual(
      [...roots.slice(8, 12), ...roots.slice(16, 18)].sort(),
    );
    expect(watched.status().state, describeChanges(watched.changes())).toBe('ready');
  });
});
