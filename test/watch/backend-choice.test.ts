/**
 * The host's backend choice (`startWatcher`): @parcel/watcher wherever its native module loads, and a
 * subscription that fails is a failure, not a reason to try chokidar, which would hit the same kernel limit
 * after holding ten times the memory.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startWatcher } from '../../server/src/watch/watcher.js';
import { useTempDirs } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-backend-choice-');
const listener = { onChanges: () => undefined, onFault: () => undefined };

describe('the backend the host starts', () => {
  it('is the native one where its module loads', async () => {
    const watcher = await startWatcher(tempDir(), listener);
    try {
      expect(watcher.backend).toBe('parcel');
    } finally {
      await watcher.close();
    }
  });

  it('fails when the native backend cannot subscribe, rather than falling back to chokidar', async () => {
    const notAFolder = join(tempDir(), 'assets');
    writeFileSync(notAFolder, 'a file where assets/ should be\n');
    await expect(startWatcher(notAFolder, listener)).rejects.toThrow(/directory/i);
  });
});
