// The one-asset overlay of an open buffer gives exactly the diagnostics of the whole-project overlay.
import { cpSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../server/src/project/loader.js';
import { declarationRecords, withDeclarationText } from '../../server/src/lsp/overlay.js';
import { PackerHost } from '../../server/src/index.js';
import { useTempDirs } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-overlay-');

const PROJECTS = {
  'the broken fixture': fileURLToPath(new URL('../transcripts/fixtures/broken', import.meta.url)),
  'the registry conflicts fixture': fileURLToPath(
    new URL('../transcripts/fixtures/registry-conflicts', import.meta.url),
  ),
  'the example project': fileURLToPath(new URL('../../examples/demo-game', import.meta.url)),
};

/** Edits a user might be in the middle of: the text itself, broken JSON, another type, another uuid. */
function edits(text: string, uuids: string[]): string[] {
  return [
    text,
    text.slice(0, Math.floor(text.length / 2)),
    text.replace(/"type": "[^"]*"/, '"type": "sprite"'),
    text.replace(/"codec": "[^"]*"/, '"codec": "LZ4"'),
    ...uuids.map((uuid) => text.replace(/"asset_uuid": "[^"]*"/, `"asset_uuid": "${uuid}"`)),
  ];
}

describe('the overlay of an open asset.json', () => {
  for (const [name, folder] of Object.entries(PROJECTS)) {
    it(`gives the diagnostics of the whole-project join for every root of ${name}`, () => {
      const snapshot = loadSnapshot(folder, 1);
      const uuids = [...new Set(snapshot.assets.map((record) => record.assetUuid).filter((uuid) => uuid !== null))];
      for (const [root, anchor] of snapshot.parsedAnchors) {
        for (const text of edits(anchor.text ?? '{}', uuids.slice(0, 3))) {
          const full = withDeclarationText(snapshot, root, text).assets.filter((record) => record.root === root);
          const fast = declarationRecords(snapshot, root, text);
          expect(
            fast.map((record) => record.diagnostics),
            `${root} with ${text.slice(0, 60)}`,
          ).toEqual(full.map((record) => record.diagnostics));
          expect(fast.map((record) => record.inputs)).toEqual(full.map((record) => record.inputs));
        }
      }
    });
  }
});

describe('the overlay of an unchanged asset.json', () => {
  it("keeps the format checks of the asset's inputs, as the disk has them", async () => {
    // A copy: opening a project may write packer-owned files into it.
    const folder = tempDir();
    cpSync(fileURLToPath(new URL('../transcripts/fixtures/format-blockers', import.meta.url)), folder, {
      recursive: true,
    });
    const host = new PackerHost({ watcher: null });
    try {
      const project = await host.open(pathToFileURL(folder).href);
      await project.validationSettled();
      const snapshot = project.snapshot();
      const checked = snapshot.assets.filter((record) =>
        record.diagnostics.some((diagnostic) => diagnostic.code.startsWith('format-')),
      );
      expect(checked.length).toBeGreaterThan(0);
      for (const record of checked) {
        const text = snapshot.parsedAnchors.get(record.root)!.text!;
        expect(declarationRecords(snapshot, record.root, text).map((found) => found.diagnostics)).toEqual([
          record.diagnostics,
        ]);
      }
    } finally {
      host.dispose();
    }
  });
});
