/**
 * The load on the crawl thread: the built modules (whose thread can start, unlike from TypeScript sources)
 * read and parse a project on the thread and join it on the main thread into the very snapshot the
 * synchronous load builds, diagnostics included, and a registry parsed over there keeps its layout
 * diagnostic through the registry checks of later commits.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// The built modules, so that the load really runs on its thread.
import { checkRegistry } from '../../server/dist/domain/registry.js';
import type { Snapshot } from '../../server/dist/domain/snapshot.js';
import { ProjectFs } from '../../server/dist/io/project-fs.js';
import { loadSnapshot } from '../../server/dist/project/loader.js';
import { loadSnapshotInBackground, startLoadThread } from '../../server/dist/project/load-worker.js';
import { useTempDirs, writeProject, type AssetSpec } from '../support/workspace-builder.js';

const tempDir = useTempDirs('load-thread-');

/** Waits until the process's crawl thread runs, so the load goes to it rather than inline. */
async function threadOnline(): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const thread = startLoadThread();
    expect(thread).not.toBeNull();
    if (thread!.online) return;
    if (Date.now() > deadline) throw new Error('the crawl thread did not come online within 20 s');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** What a client can see of a snapshot: every record, diagnostic, count and the quarantine. */
function visible(snapshot: Snapshot): unknown {
  return {
    assets: snapshot.assets,
    projectDiagnostics: snapshot.projectDiagnostics,
    counts: snapshot.counts,
    registry: snapshot.registry,
    quarantine: snapshot.quarantine,
    crawl: snapshot.crawl,
    unrecoverableJournals: snapshot.unrecoverableJournals,
    parsedAnchors: [...snapshot.parsedAnchors],
  };
}

describe('a project loaded on the crawl thread', () => {
  // More anchors than one message of parses holds (1,000), valid, invalid, nested and duplicated ones.
  const assets: AssetSpec[] = [
    ...Array.from({ length: 1203 }, (_, index) => ({ root: `many/a${index}`, registered: index % 3 !== 0 })),
    { root: 'bad/not-json', declaration: '{ "asset_uuid": ' },
    { root: 'bad/schema', declaration: { schema_version: 1, type: 'blob' } },
    { root: 'nest/outer' },
    { root: 'nest/outer/inner', registered: false },
    { root: 'missing/input', files: {} },
  ];

  it('gives the snapshot the synchronous load gives, diagnostics and all, with a registry that is not canonical', async () => {
    const written = writeProject(tempDir(), { assets });
    // Valid but not in canonical layout: a warning with a fix, which must survive a later registry check.
    const registryPath = join(written.assetsDir, '.prometeu', 'index.json');
    writeFileSync(registryPath, JSON.stringify(JSON.parse(readFileSync(registryPath, 'utf8'))));
    await threadOnline();
    const background = await loadSnapshotInBackground(ProjectFs.openRoot(written.root), 1);
    const inline = loadSnapshot(written.root, 1);
    expect(background.counts.roots).toBe(assets.length);
    expect(visible(background)).toEqual(visible(inline));
    const layout = (snapshot: Snapshot) =>
      checkRegistry(snapshot.registry!).diagnostics.filter(
        (diagnostic) => diagnostic.code === 'registry-not-canonical',
      );
    expect(layout(inline)).toHaveLength(1);
    expect(layout(background)).toEqual(layout(inline));
  });

  it('replaces its threads by fresh ones after a load, which take the next load', async () => {
    const written = writeProject(tempDir(), { assets: assets.slice(0, 20) });
    await threadOnline();
    const used = startLoadThread();
    const first = await loadSnapshotInBackground(ProjectFs.openRoot(written.root), 1);
    const deadline = Date.now() + 20_000;
    while (startLoadThread() === used) {
      if (Date.now() > deadline) throw new Error('the crawl threads were not replaced within 20 s');
      await new Promise((resolve) => setImmediate(resolve));
    }
    await threadOnline();
    const second = await loadSnapshotInBackground(ProjectFs.openRoot(written.root), 1);
    expect(visible(second)).toEqual(visible(first));
  });

  it('fails as the synchronous load does when assets/ cannot be listed', async () => {
    const written = writeProject(tempDir(), { assets: assets.slice(0, 2) });
    await threadOnline();
    const files = ProjectFs.openRoot(written.root);
    renameSync(written.assetsDir, join(written.root, 'moved'));
    await expect(loadSnapshotInBackground(files, 1)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => loadSnapshot(written.root, 1)).toThrow(expect.objectContaining({ code: 'ENOENT' }) as Error);
  });
});
