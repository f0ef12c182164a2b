/**
 * Property test of the snapshot a reload (reconcile) publishes: over seeded random sequences of edits made
 * behind the packer's back to a real project on disk, the snapshot `reloadedSnapshot` makes from its
 * predecessor (patched where it can be) equals one built from scratch on the same crawl, registry and
 * carried format results, records, indexes, counts and diagnostics included, and the published diffs taken
 * from it equal those walked over every asset.
 */
import { appendFileSync, mkdirSync, readFileSync, realpathSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crawlAssets } from '../../server/src/domain/crawl.js';
import { parseDeclaration } from '../../server/src/domain/declaration.js';
import { parseRegistry } from '../../server/src/domain/registry.js';
import { buildSnapshot, patchedRoots, type ParsedAnchor, type Snapshot } from '../../server/src/domain/snapshot.js';
import { diffDiagnostics, diffPublishedAssets, diffSnapshots } from '../../server/src/domain/snapshot-diff.js';
import { ProjectFs } from '../../server/src/io/project-fs.js';
import { loadQuarantine, loadSnapshot, readRegistryText } from '../../server/src/project/loader.js';
import { crawlForReloadInBackground } from '../../server/src/watch/crawl-worker.js';
import { stampOf } from '../../server/src/validation/check-asset.js';
import { changedFolders, reloadedSnapshot } from '../../server/src/project/reload.js';
import { carriedFormatResults, validateNow } from '../../server/src/validation/project-validation.js';
import { snapshotShape } from '../support/snapshot-shape.js';
import { declarationFor, useTempDirs, uuidFor, writeProject, type AssetSpec } from '../support/workspace-builder.js';

const SEED = 1414;
const RUNS = 25;

const ROOTS = [
  'chars/hero',
  'chars/slime',
  'chars/bat',
  'props/crate',
  'props/barrel',
  'ui/icons',
  'music/theme',
  'sfx/jump',
  'sfx/hit',
  'sfx/step',
];
const ASSETS: AssetSpec[] = ROOTS.map((root, index) => ({ root, registered: index < 6, included: index !== 2 }));
/** Roots an edit may create: fresh folders, one nested in a root, one copying another's asset_uuid. */
const NEW_ROOTS = ['fresh/x', 'fresh/y', 'chars/hero/inner', 'props/copy'];

/** One edit made behind the packer's back. */
type Edit =
  | { kind: 'touchAnchor' | 'renameInDeclaration' | 'breakAnchor' | 'removeRoot' | 'removeInput'; root: string }
  | { kind: 'rewriteInput' | 'touchInput' | 'addFile' | 'addDeepFile'; root: string }
  | { kind: 'createRoot'; root: string }
  | { kind: 'flipInclusion'; index: number };

const existing = fc.constantFrom(...ROOTS);
const edit: fc.Arbitrary<Edit> = fc.oneof(
  { arbitrary: existing.map((root): Edit => ({ kind: 'touchAnchor', root })), weight: 4 },
  { arbitrary: existing.map((root): Edit => ({ kind: 'renameInDeclaration', root })), weight: 3 },
  { arbitrary: existing.map((root): Edit => ({ kind: 'breakAnchor', root })), weight: 1 },
  { arbitrary: existing.map((root): Edit => ({ kind: 'removeRoot', root })), weight: 1 },
  { arbitrary: existing.map((root): Edit => ({ kind: 'removeInput', root })), weight: 1 },
  { arbitrary: existing.map((root): Edit => ({ kind: 'rewriteInput', root })), weight: 3 },
  { arbitrary: existing.map((root): Edit => ({ kind: 'touchInput', root })), weight: 2 },
  { arbitrary: existing.map((root): Edit => ({ kind: 'addFile', root })), weight: 2 },
  { arbitrary: existing.map((root): Edit => ({ kind: 'addDeepFile', root })), weight: 1 },
  { arbitrary: fc.constantFrom(...NEW_ROOTS).map((root): Edit => ({ kind: 'createRoot', root })), weight: 2 },
  { arbitrary: fc.integer({ min: 0, max: 5 }).map((index): Edit => ({ kind: 'flipInclusion', index })), weight: 1 },
);

/** Makes `change` on the project whose `assets/` is `assetsDir`; `step` makes written content unique. */
function applyEdit(assetsDir: string, change: Edit, step: number): void {
  const at = (...parts: string[]): string => join(assetsDir, ...parts);
  const anchor = (root: string): string => at(root, 'asset.json');
  try {
    switch (change.kind) {
      case 'touchAnchor':
        appendFileSync(anchor(change.root), '\n');
        return;
      case 'renameInDeclaration': {
        const declaration = JSON.parse(readFileSync(anchor(change.root), 'utf8')) as Record<string, unknown>;
        writeFileSync(anchor(change.root), `${JSON.stringify({ ...declaration, name: `renamed-${step}` }, null, 2)}\n`);
        return;
      }
      case 'breakAnchor':
        writeFileSync(anchor(change.root), '{ "schema_version": 1,');
        return;
      case 'removeRoot':
        rmSync(at(change.root), { recursive: true, force: true });
        return;
      case 'removeInput':
        rmSync(at(change.root, 'data.bin'), { force: true });
        return;
      case 'rewriteInput':
        writeFileSync(at(change.root, 'data.bin'), `rewritten ${change.root} at ${step}`);
        return;
      case 'touchInput': {
        // The same bytes with a new modification time: the carried result is renewed, not dropped.
        const when = new Date(Date.now() - 60_000 * (step + 1));
        utimesSync(at(change.root, 'data.bin'), when, when);
        return;
      }
      case 'addFile':
        writeFileSync(at(change.root, `extra-${step}.txt`), `extra ${step}`);
        return;
      case 'addDeepFile':
        mkdirSync(at(change.root, 'deep', `d${step}`), { recursive: true });
        writeFileSync(at(change.root, 'deep', `d${step}`, 'note.txt'), `deep ${step}`);
        return;
      case 'createRoot': {
        mkdirSync(at(change.root), { recursive: true });
        const uuid = change.root === 'props/copy' ? uuidFor('props/crate') : uuidFor(`${change.root}-${step}`);
        writeFileSync(anchor(change.root), `${JSON.stringify(declarationFor({ root: change.root, uuid }), null, 2)}\n`);
        writeFileSync(at(change.root, 'data.bin'), `fresh ${change.root} at ${step}`);
        return;
      }
      case 'flipInclusion': {
        const path = at('.prometeu', 'index.json');
        const registry = JSON.parse(readFileSync(path, 'utf8')) as { assets: { included_in_build: boolean }[] };
        const entry = registry.assets[change.index % registry.assets.length];
        if (entry !== undefined) entry.included_in_build = !entry.included_in_build;
        writeFileSync(path, `${JSON.stringify(registry, null, 2)}\n`);
        return;
      }
    }
  } catch {
    // The root or its file is gone (an earlier edit removed it): nothing to change.
  }
}

describe('the snapshot a reload publishes', () => {
  const tempDir = useTempDirs('packer-reload-patch-');

  it('equals the snapshot built from scratch after every reload of random edits made behind the packer, and so do its published diffs', async () => {
    let reloads = 0;
    let patched = 0;
    let validated = 0;
    let validatedByPatch = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(edit, { minLength: 1, maxLength: 3 }), { minLength: 3, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        async (steps, validateAfter) => {
          const dir = realpathSync(tempDir());
          const written = writeProject(dir, { assets: ASSETS });
          const projectFs = ProjectFs.openRoot(dir);
          const assetsFs = projectFs.at('assets');
          // Validated first, so that format results are carried, renewed and dropped by the reloads.
          let snapshot: Snapshot = validateNow(loadSnapshot(projectFs, 1), written.assetsDir);
          let registryText = readRegistryText(assetsFs).text;
          for (const [step, edits] of steps.entries()) {
            for (const change of edits) applyEdit(written.assetsDir, change, step);
            const { crawl, stamps } = await crawlForReloadInBackground(assetsFs, snapshot.crawl.files.length);
            const carried = await carriedFormatResults(snapshot, assetsFs, stamps);
            const quarantine = loadQuarantine(assetsFs);
            const read = readRegistryText(assetsFs);
            const text = read.text;
            const registryUnchanged = text !== null && text === registryText;
            const registry = registryUnchanged ? snapshot.parsedRegistry : parseRegistry(read.text, read.readError);
            const revision = snapshot.revision + 1;
            const next = await reloadedSnapshot(
              revision,
              snapshot,
              crawl,
              quarantine,
              registryUnchanged ? null : registry,
              carried,
            );
            reloads++;
            if (patchedRoots(snapshot, next) !== undefined) patched++;
            // From scratch: a copy of the crawl, no previous snapshot (so no record is reused); only the parses
            // of unchanged declarations are the previous ones, which the carried results are matched against.
            const kept = new Map<string, ParsedAnchor>();
            for (const anchor of crawl.anchors) {
              const before = snapshot.parsedAnchors.get(anchor.root);
              kept.set(
                anchor.root,
                before !== undefined && before.text === anchor.text
                  ? before
                  : { text: anchor.text, parsed: parseDeclaration(anchor.root, anchor.text, anchor.readError) },
              );
            }
            const scratch = buildSnapshot(revision, { ...crawl }, registry, {
              quarantine,
              formatResults: carried,
              parsedAnchors: kept,
            });
            const history = JSON.stringify(steps.slice(0, step + 1));
            // The reload's crawl is the crawl a load makes, and its stamps those format results record.
            expect(crawl).toEqual(crawlAssets(assetsFs));
            for (const file of crawl.files) expect(stamps.get(file), file).toBe(stampOf(assetsFs, file));
            const { crawl: _crawl, ...shownNext } = snapshotShape(next) as { crawl: unknown };
            const { crawl: _scratchCrawl, ...shownScratch } = snapshotShape(scratch) as { crawl: unknown };
            expect(shownNext, `after ${history}`).toEqual(shownScratch);
            expect(next.crawl).toBe(crawl);
            expect(next.formatResults).toBe(carried);
            // The diffs a publish sends, from the patch, against those walked over every asset.
            const whole = buildSnapshot(revision, { ...crawl }, registry, {
              quarantine,
              formatResults: carried,
              parsedAnchors: kept,
              previous: snapshot,
            });
            expect(diffPublishedAssets(snapshot, next), `after ${history}`).toEqual(
              diffPublishedAssets(snapshot, whole),
            );
            expect(diffSnapshots(snapshot, next)).toEqual(diffSnapshots(snapshot, whole));
            expect(diffDiagnostics(snapshot, next)).toEqual(diffDiagnostics(snapshot, whole));
            snapshot = next;
            if (validateAfter[step] === true) {
              // Format results arriving patch the snapshot at their roots: the same as a whole join with them.
              snapshot = validateNow(next, written.assetsDir);
              const joined = buildSnapshot(snapshot.revision, { ...crawl }, registry, {
                quarantine,
                formatResults: snapshot.formatResults,
                parsedAnchors: next.parsedAnchors,
              });
              const { crawl: _validatedCrawl, ...shownValidated } = snapshotShape(snapshot) as { crawl: unknown };
              const { crawl: _joinedCrawl, ...shownJoined } = snapshotShape(joined) as { crawl: unknown };
              expect(shownValidated, `validated after ${history}`).toEqual(shownJoined);
              if (snapshot !== next) validated++;
              if (patchedRoots(next, snapshot) !== undefined) validatedByPatch++;
            }
            registryText = text;
          }
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // Most reloads take the patch; the rest changed the registry or met conflicts a whole build decides.
    expect(patched).toBeGreaterThan(reloads / 3);
    expect(validatedByPatch).toBeGreaterThan(validated / 3);
  });
});

describe('the folders a reload patches', () => {
  const tempDir = useTempDirs('packer-reload-folders-');

  it('are the roots and folders whose listing or declaration text changed, and none when nothing did', async () => {
    const written = writeProject(realpathSync(tempDir()), { assets: ASSETS });
    const assetsFs = ProjectFs.openRoot(written.root).at('assets');
    const before = crawlAssets(assetsFs);
    expect(await changedFolders(before, crawlAssets(assetsFs))).toEqual(new Set());
    appendFileSync(join(written.assetsDir, 'chars/hero/asset.json'), '\n');
    mkdirSync(join(written.assetsDir, 'props/crate/sub'));
    writeFileSync(join(written.assetsDir, 'props/crate/sub/more.bin'), 'more');
    rmSync(join(written.assetsDir, 'sfx/hit'), { recursive: true });
    expect(await changedFolders(before, crawlAssets(assetsFs))).toEqual(
      new Set(['chars/hero', 'props/crate/sub', 'sfx/hit']),
    );
  });

  it('are none at all (a whole join) when a file at the top of assets/ changed or too many folders did', async () => {
    const written = writeProject(realpathSync(tempDir()), { assets: ASSETS });
    const assetsFs = ProjectFs.openRoot(written.root).at('assets');
    const before = crawlAssets(assetsFs);
    for (const root of ROOTS.slice(0, 4)) appendFileSync(join(written.assetsDir, root, 'asset.json'), '\n');
    expect(await changedFolders(before, crawlAssets(assetsFs), 3)).toBeNull();
    expect((await changedFolders(before, crawlAssets(assetsFs), 4))?.size).toBe(4);
    writeFileSync(join(written.assetsDir, 'top.txt'), 'top');
    expect(await changedFolders(before, crawlAssets(assetsFs))).toBeNull();
  });
});
