/**
 * The journal's two formats and the recovery paths of the second: a registry patch instead of both whole
 * texts (rebuilt byte for byte on either side), a journal whose registry is already "after" removed without
 * touching anything, a registry that is neither side refused, a journal of the first format (as a previous
 * version left it) still recovered both ways, the registry's temporary file made beside the journal (and the
 * commit still done when it cannot be), and single-file commits that need no journal at all.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MutationIntent, RegistryEntry, RegistryFile } from '@prometeu/packer-protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PackerHost } from '../../server/src/index.js';
import { applyRegistryPatch, patchSideOf, registryPatch, serializeRegistry } from '../../server/src/domain/registry.js';
import { ProjectFs } from '../../server/src/io/project-fs.js';
import { JOURNAL_PATH, recoverJournal } from '../../server/src/mutations/execute.js';
import { applyMutationOperation } from '../../server/src/writes/apply-mutation.js';
import type { Project } from '../../server/src/project/project.js';
import type { LaneOutcome } from '../../server/src/project/writer-lane.js';
import { MIXED_ROOTS, useTempDirs, writeProject } from '../support/workspace-builder.js';
import { seededRandom, treeDifferences, treeOf } from './support.js';

/** Thrown from the step hook: the process "dies" right after a durable step. */
class SimulatedCrash extends Error {
  constructor(readonly step: string) {
    super(`simulated crash after ${step}`);
  }
}

const REGISTRY = '.prometeu/index.json';
const RELOCATE: MutationIntent = { kind: 'relocate', asset: { assetId: 1 }, to: 'moved/deep/hero' };

/** Control files that are not part of a write: the lock and the watcher's fingerprints. */
const skipControl = (path: string): boolean =>
  path === '.prometeu/writer.lock' || path === '.prometeu/fingerprint.json';

function writeBase(dir: string): void {
  writeProject(dir, {
    assets: [...MIXED_ROOTS],
  });
}

describe('the registry patch a journal records', () => {
  const entry = (id: number, random: ReturnType<typeof seededRandom>): RegistryEntry => ({
    asset_id: id,
    asset_uuid: `00000000-0000-4000-8000-${String(id).padStart(6, '0')}${random.pick(['aaaaaa', 'bbbbbb'])}`,
    included_in_build: random.pick([true, false]),
    root: `root/${id}/${random.pick(['a', 'b', 'c'])}`,
  });

  it('rebuilds each side byte for byte from the other, and tells the two sides apart, over random changes', () => {
    const random = seededRandom(13_005);
    for (let round = 0; round < 200; round++) {
      const count = Math.floor(random.next() * 40);
      const assets = Array.from({ length: count }, (_, index) => entry(index * 2 + 1, random));
      const before: RegistryFile = { schema_version: 1, next_asset_id: count * 2 + 1, assets };
      // Keep most entries as the very same objects, change, drop or add a few, and maybe move next_asset_id.
      const kept = assets.flatMap((item) => {
        const roll = random.next();
        if (roll < 0.1) return [];
        if (roll < 0.2) return [{ ...item, root: `${item.root}-moved` }];
        if (roll < 0.25) return [{ ...item, included_in_build: !item.included_in_build }];
        return [item];
      });
      const added = random.next() < 0.5 ? [entry(before.next_asset_id, random)] : [];
      const after: RegistryFile = {
        schema_version: 1,
        next_asset_id: before.next_asset_id + added.length,
        assets: [...kept, ...added],
      };
      const patch = registryPatch(before, after)!;
      expect(patch).not.toBeNull();
      const beforeText = serializeRegistry(before);
      const afterText = serializeRegistry(after);
      if (beforeText === afterText) continue;
      expect(patchSideOf(before, patch)).toBe('before');
      expect(patchSideOf(after, patch)).toBe('after');
      expect(serializeRegistry(applyRegistryPatch(before, patch, 'before'))).toBe(afterText);
      expect(serializeRegistry(applyRegistryPatch(after, patch, 'after'))).toBe(beforeText);
      // Through JSON, as recovery reads it from the journal.
      const read = JSON.parse(JSON.stringify(patch)) as typeof patch;
      expect(serializeRegistry(applyRegistryPatch(JSON.parse(beforeText) as RegistryFile, read, 'before'))).toBe(
        afterText,
      );
    }
  });

  it('is refused when the registries differ in more than entries and next_asset_id, or give one id to two entries', () => {
    const one: RegistryEntry = { asset_id: 1, asset_uuid: 'u1', included_in_build: true, root: 'a' };
    const base: RegistryFile = { schema_version: 1, next_asset_id: 2, assets: [one] };
    expect(registryPatch(base, { ...base, $schema: 'x' })).toBeNull();
    expect(registryPatch({ ...base, assets: [one, { ...one, root: 'b' }] }, base)).toBeNull();
  });
});

describe('recovering a journal', () => {
  const tempDir = useTempDirs('packer-lane-journal-format-');
  const hosts: PackerHost[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const host of hosts.splice(0)) host.dispose();
  });

  async function open(dir: string, hook?: (step: string) => void): Promise<Project> {
    const host = new PackerHost({
      epoch: 'journal-format',
      newUuid: () => '00000000-0000-4000-8000-00000000c0de',
      watcher: null,
      ...(hook !== undefined ? { stepHook: hook } : {}),
    });
    hosts.push(host);
    return host.open(pathToFileURL(dir).href);
  }

  async function apply(
    project: Project,
    mutation: MutationIntent,
    operationId = 'op-1',
  ): Promise<LaneOutcome<unknown>> {
    return project.lane.enqueue(
      applyMutationOperation(project, operationId, { mutation, consent: true }, project.newUuid, 'workspace+registry'),
    );
  }

  function closeAll(): void {
    for (const host of hosts.splice(0)) host.dispose();
  }

  /** A project whose relocate crashed right after `step`, with the journal it left and the registry texts around it. */
  async function crashedAt(step: string): Promise<{ dir: string; assets: string; journal: string; before: string }> {
    const dir = realpathSync(tempDir());
    writeBase(dir);
    const assets = join(dir, 'assets');
    const before = readFileSync(join(assets, REGISTRY), 'utf8');
    let journal = '';
    const project = await open(dir, (reached) => {
      if (reached === step) {
        journal = readFileSync(join(assets, JOURNAL_PATH), 'utf8');
        throw new SimulatedCrash(reached);
      }
    });
    expect((await apply(project, RELOCATE)).status).toBe('error');
    closeAll();
    return { dir, assets, journal, before };
  }

  /** The registry text a relocate of the base project writes, from a run that did not crash. */
  async function relocatedRegistry(): Promise<string> {
    const dir = realpathSync(tempDir());
    writeBase(dir);
    const project = await open(dir);
    expect((await apply(project, RELOCATE)).status).toBe('succeeded');
    closeAll();
    return readFileSync(join(dir, 'assets', REGISTRY), 'utf8');
  }

  it('a relocate journals the registry as a patch of the entries it changes, not as whole texts', async () => {
    const { journal } = await crashedAt('journal-written');
    const parsed = JSON.parse(journal) as Record<string, unknown>;
    expect(parsed).toMatchObject({ version: 2, registry: { nextAssetId: { before: 4, after: 4 } } });
    expect(parsed).not.toHaveProperty('registryBefore');
    expect(parsed).not.toHaveProperty('registryAfter');
    const patch = parsed['registry'] as { removed: RegistryEntry[]; added: RegistryEntry[] };
    expect(patch.removed.map((item) => item.root)).toEqual(['chars/hero']);
    expect(patch.added.map((item) => item.root)).toEqual(['moved/deep/hero']);
  });

  it('a relocate after a commit of the same process, whose registry it wrote as bytes it never decoded, still journals a patch', async () => {
    const dir = realpathSync(tempDir());
    writeBase(dir);
    const assets = join(dir, 'assets');
    let journal = '';
    const project = await open(dir, (reached) => {
      if (reached === 'journal-written') {
        journal = readFileSync(join(assets, JOURNAL_PATH), 'utf8');
        throw new SimulatedCrash(reached);
      }
    });
    const include: MutationIntent = { kind: 'setBuildInclusion', asset: { assetId: 2 }, included: true };
    expect((await apply(project, include, 'op-include')).status).toBe('succeeded');
    // What the first commit wrote is the canonical text of the registry it committed.
    const written = readFileSync(join(assets, REGISTRY), 'utf8');
    expect(written).toBe(serializeRegistry(JSON.parse(written) as RegistryFile));
    expect(JSON.parse(written)).toMatchObject({ assets: [{}, { asset_id: 2, included_in_build: true }, {}] });
    expect((await apply(project, RELOCATE, 'op-relocate')).status).toBe('error');
    const parsed = JSON.parse(journal) as Record<string, unknown>;
    expect(parsed).toMatchObject({ version: 2, operationId: 'op-relocate' });
    expect(parsed).not.toHaveProperty('registryBefore');
    closeAll();
  });

  it('a patch journal is rolled forward to exactly the registry the commit writes', async () => {
    const expected = await relocatedRegistry();
    const { assets } = await crashedAt('action-0');
    expect(await recoverJournal(assets)).toMatchObject({ operationId: 'op-1', outcome: 'completed' });
    expect(readFileSync(join(assets, REGISTRY), 'utf8')).toBe(expected);
    expect(existsSync(join(assets, 'moved/deep/hero/asset.json'))).toBe(true);
  });

  it('a patch journal whose roll-forward the disk no longer allows is rolled back, the registry left byte for byte as before', async () => {
    const { assets, before } = await crashedAt('action-0');
    const journal = JSON.parse(readFileSync(join(assets, JOURNAL_PATH), 'utf8')) as { actions: unknown[] };
    // A second action that can never run (its source does not exist) forces the rollback of the first.
    journal.actions.push({ kind: 'moveFolder', from: 'nowhere/at/all', to: 'somewhere' });
    writeFileSync(join(assets, JOURNAL_PATH), JSON.stringify(journal));
    expect(await recoverJournal(assets)).toMatchObject({ operationId: 'op-1', outcome: 'rolledBack' });
    expect(readFileSync(join(assets, REGISTRY), 'utf8')).toBe(before);
    expect(existsSync(join(assets, 'chars/hero/asset.json'))).toBe(true);
    expect(existsSync(join(assets, 'moved'))).toBe(false);
    expect(existsSync(join(assets, JOURNAL_PATH))).toBe(false);
  });

  it('a patch journal found with the registry already as after is removed without touching anything, even after a later write changed a file it names', async () => {
    const { dir, assets, journal } = await crashedAt('registry-written');
    // Recovered once (as the commit itself would have finished), then a later single-file write changes
    // the moved asset's declaration: the journal reappears, as a removal lost to a power failure would.
    expect(await recoverJournal(assets)).toMatchObject({ outcome: 'completed' });
    const project = await open(dir);
    expect((await apply(project, { kind: 'rename', asset: { assetId: 1 }, name: 'champion' }, 'op-2')).status).toBe(
      'succeeded',
    );
    closeAll();
    const tree = treeOf(assets, skipControl);
    writeFileSync(join(assets, JOURNAL_PATH), journal);
    expect(await recoverJournal(assets)).toMatchObject({ operationId: 'op-1', outcome: 'completed' });
    expect(treeDifferences(tree, treeOf(assets, skipControl))).toEqual([]);
  });

  it('a patch journal found with a registry that is neither side is set aside, and nothing is changed', async () => {
    const { assets } = await crashedAt('action-0');
    const registry = JSON.parse(readFileSync(join(assets, REGISTRY), 'utf8')) as RegistryFile;
    const edited = { ...registry, assets: registry.assets.map((item) => ({ ...item, root: `${item.root}x` })) };
    writeFileSync(join(assets, REGISTRY), `${JSON.stringify(edited, null, 2)}\n`);
    const tree = treeOf(assets, (path) => skipControl(path) || path === JOURNAL_PATH);
    const report = await recoverJournal(assets);
    expect(report).toMatchObject({ operationId: 'op-1', outcome: 'failed' });
    expect(report?.setAside).toMatch(/^\.prometeu\/journal-unrecoverable-/);
    const after = treeOf(
      assets,
      (path) => skipControl(path) || path === JOURNAL_PATH || path.startsWith('.prometeu/journal-unrecoverable-'),
    );
    expect(treeDifferences(tree, after)).toEqual([]);
  });

  it('a journal of the first format (whole texts, as the previous version wrote it) is still rolled forward and rolled back', async () => {
    const expected = await relocatedRegistry();
    for (const outcome of ['completed', 'rolledBack'] as const) {
      const { assets, journal, before } = await crashedAt('journal-written');
      const current = JSON.parse(journal) as { operationId: string; actions: unknown[]; createdFolders: string[] };
      const old = {
        version: 1,
        operationId: current.operationId,
        actions: current.actions,
        registryBefore: before,
        registryAfter: expected,
        createdFolders: current.createdFolders,
      };
      writeFileSync(join(assets, JOURNAL_PATH), JSON.stringify(old));
      if (outcome === 'rolledBack') {
        mkdirSync(join(assets, 'moved/deep/hero'), { recursive: true });
        writeFileSync(join(assets, 'moved/deep/hero/mine.txt'), 'mine\n');
      }
      expect(await recoverJournal(assets)).toMatchObject({ operationId: 'op-1', outcome });
      expect(readFileSync(join(assets, REGISTRY), 'utf8')).toBe(outcome === 'completed' ? expected : before);
      expect(existsSync(join(assets, 'chars/hero/asset.json'))).toBe(outcome === 'rolledBack');
      expect(existsSync(join(assets, JOURNAL_PATH))).toBe(false);
    }
  });

  it('when the registry cannot be staged beside the journal, the commit still writes it at its step', async () => {
    const expected = await relocatedRegistry();
    const dir = realpathSync(tempDir());
    writeBase(dir);
    const project = await open(dir);
    const prepare = vi.spyOn(ProjectFs.prototype, 'prepareFileAtomic');
    prepare.mockRejectedValueOnce(Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' }));
    expect((await apply(project, RELOCATE)).status).toBe('succeeded');
    expect(prepare).toHaveBeenCalledTimes(1);
    expect(readFileSync(join(dir, 'assets', REGISTRY), 'utf8')).toBe(expected);
    expect(existsSync(join(dir, 'assets', JOURNAL_PATH))).toBe(false);
    expect(readdirSync(join(dir, 'assets/.prometeu')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('a rename and a register each write one file with no journal, and a journal removal left unflushed is flushed before the next rename', async () => {
    const dir = realpathSync(tempDir());
    writeBase(dir);
    const steps: string[] = [];
    const project = await open(dir, (step) => steps.push(step));
    const writes = vi.spyOn(ProjectFs.prototype, 'writeFileAtomic');
    const flushes = vi.spyOn(ProjectFs.prototype, 'syncFolder');
    expect((await apply(project, { kind: 'rename', asset: { assetId: 1 }, name: 'champion' }, 'op-1')).status).toBe(
      'succeeded',
    );
    expect((await apply(project, { kind: 'register', root: 'props/barrel' }, 'op-2')).status).toBe('succeeded');
    expect(steps).toEqual(['registry-written', 'registry-written']);
    expect(writes).not.toHaveBeenCalled();
    expect(flushes.mock.calls.filter(([folder]) => folder === '.prometeu')).toEqual([]);
    // A relocate removes its journal without flushing `.prometeu`; the next single-file commit flushes it.
    expect((await apply(project, RELOCATE, 'op-3')).status).toBe('succeeded');
    const afterRelocate = flushes.mock.calls.filter(([folder]) => folder === '.prometeu').length;
    expect(
      (await apply(project, { kind: 'setBuildInclusion', asset: { assetId: 2 }, included: true }, 'op-4')).status,
    ).toBe('succeeded');
    expect(flushes.mock.calls.filter(([folder]) => folder === '.prometeu').length).toBe(afterRelocate + 1);
    expect(readFileSync(join(dir, 'assets/moved/deep/hero/asset.json'), 'utf8')).toContain('"champion"');
    expect(readdirSync(join(dir, 'assets/.prometeu')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('a commit that leaves the registry alone keeps the checked registry of the snapshot before it', async () => {
    const dir = realpathSync(tempDir());
    writeBase(dir);
    const project = await open(dir);
    const before = project.snapshot();
    expect((await apply(project, { kind: 'rename', asset: { assetId: 1 }, name: 'champion' }, 'op-1')).status).toBe(
      'succeeded',
    );
    const after = project.snapshot();
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(after.byId.get(1)!.anchor!.name).toBe('champion');
    // The very object: checking the same registry again walked every entry on each such commit.
    expect(after.parsedRegistry).toBe(before.parsedRegistry);
  });
});
