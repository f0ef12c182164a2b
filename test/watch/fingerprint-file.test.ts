/**
 * The saved fingerprint file: made in pieces (after a reconcile) or at once (when a project closes), it is the
 * same text `JSON.stringify` makes of the sorted fingerprints, and reads back as what was saved, whatever the
 * file names hold.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProjectFs } from '../../server/src/io/project-fs.js';
import {
  FINGERPRINT_PATH,
  readSavedFingerprints,
  saveFingerprints,
  saveFingerprintsSync,
  type Fingerprints,
} from '../../server/src/watch/fingerprint.js';
import { useTempDirs, writeProject } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-fingerprint-file-');

/** Names a JSON string must escape, and some it need not, out of order. */
const NAMES = ['b/plain.png', 'a/"quoted".bin', 'a/back\\slash', 'a/new\nline', 'c/emoji 🎮.png', 'c/é.txt', 'a/tab\t'];

function fingerprintsOf(count: number): Fingerprints {
  const fingerprints: Fingerprints = new Map();
  for (const name of NAMES) fingerprints.set(name, `${name.length}:1700000000123`);
  for (let index = 0; index < count; index++) fingerprints.set(`bulk/f${index}.bin`, `${index}:1700000000000`);
  return fingerprints;
}

describe('the saved fingerprint file', () => {
  it('is the text JSON.stringify makes of the sorted fingerprints, in pieces or at once, and reads back the same', async () => {
    const written = writeProject(realpathSync(tempDir()));
    const assetsFs = ProjectFs.openRoot(written.root).at('assets');
    // More than one piece of the text.
    const fingerprints = fingerprintsOf(2_500);
    const files: Record<string, string> = {};
    for (const path of [...fingerprints.keys()].sort()) files[path] = fingerprints.get(path)!;
    // Each save names the token of the mark it left in the log (random, so it is read back from the file).
    const expected = (text: string): string =>
      `${JSON.stringify({ version: 1, log: (JSON.parse(text) as { log: string }).log, files })}\n`;
    await saveFingerprints(assetsFs, fingerprints);
    const saved = readFileSync(join(written.assetsDir, FINGERPRINT_PATH), 'utf8');
    expect(saved).toBe(expected(saved));
    expect(readSavedFingerprints(assetsFs)).toEqual(fingerprints);
    saveFingerprintsSync(assetsFs, fingerprints);
    const savedSync = readFileSync(join(written.assetsDir, FINGERPRINT_PATH), 'utf8');
    expect(savedSync).toBe(expected(savedSync));
  });
});
