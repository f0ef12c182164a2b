/** `BLOB/raw_v1`: the exact bytes of one file, and what blocks it. */
import { describe, expect, it } from 'vitest';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';
import { blockedLines, packNow, readSucceeded } from './pack-fixtures.js';

const tempDir = useTempDirs('pack-blob-');

describe('BLOB/raw_v1', () => {
  it('stores the exact bytes of its data file, empty files included', async () => {
    const bytes = Uint8Array.from({ length: 300 }, (_, index) => (index * 37) & 0xff);
    const project = writeProject(tempDir(), {
      assets: [
        { root: 'misc/table', inputs: { data: ['table.bin'] }, files: { 'table.bin': bytes } },
        { root: 'misc/empty', inputs: { data: ['nothing.bin'] }, files: { 'nothing.bin': new Uint8Array(0) } },
      ],
    });
    const { pa } = readSucceeded(await packNow(project.assetsDir));
    expect(
      pa.entries.map((entry) => [
        entry.assetId,
        entry.assetName,
        entry.bankType,
        entry.codec,
        entry.size,
        entry.decodedSize,
      ]),
    ).toEqual([
      [1, 'table', 'BLOB', 'NONE', 300, 300],
      [2, 'empty', 'BLOB', 'NONE', 0, 0],
    ]);
    expect(pa.entries[0]!.bytes).toEqual(bytes);
    expect(pa.entries[0]!.metadata).toEqual({});
    expect(pa.entries[1]!.offset).toBe(304);
  });

  it('blocks when data lists two files, when data is absent, on an unknown role and on any metadata key', async () => {
    const project = writeProject(tempDir(), {
      assets: [
        { root: 'two', inputs: { data: ['a.bin', 'b.bin'] } },
        { root: 'none', inputs: { payload: ['a.bin'] } },
        {
          root: 'meta',
          inputs: { data: ['a.bin'] },
          output: { format: 'BLOB/raw_v1', codec: 'NONE', metadata: { align: 4 } },
        },
      ],
    });
    const lines = blockedLines(await packNow(project.assetsDir));
    expect(lines).toEqual([
      'format-declaration-invalid meta/asset.json: meta (BLOB/raw_v1): output.metadata has key "align", but this format takes no metadata.',
      'format-declaration-invalid none/asset.json: none (BLOB/raw_v1): inputs has role "payload", which this format does not use; its roles are "data".',
      'format-declaration-invalid none/asset.json: none (BLOB/raw_v1): inputs.data lists no files; at least 1 is required.',
      'format-declaration-invalid two/asset.json: two (BLOB/raw_v1): inputs.data lists 2 files; at most 1 is allowed.',
    ]);
  });
});
