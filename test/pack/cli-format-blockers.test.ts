/**
 * The CLI against the real server, whose format checks run in a worker thread: a one-shot `packer doctor`
 * on a fresh open shows the format blockers (it waits for validation rather than reporting a guess), and
 * `packer pack` is blocked on exactly those.
 */
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runPacker } from '../client/support.js';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the transcript fixture with a duplicate tile index and a broken RIFF file. */
function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cli-format-blockers-'));
  made.push(dir);
  cpSync(new URL('../transcripts/fixtures/format-blockers', import.meta.url), dir, { recursive: true });
  return dir;
}

describe('packer doctor and pack on format blockers', () => {
  it('doctor on a fresh open lists both format blockers and exits 1; pack is blocked on the same ones', async () => {
    const dir = project();
    const doctor = await runPacker(['doctor', '--json', dir]);
    const found = JSON.parse(doctor.stdout) as {
      pending: unknown[];
      diagnostics: { code: string; path: string; blocking: boolean }[];
    };
    expect(found.pending).toEqual([]);
    const blockers = found.diagnostics.filter((diagnostic) => diagnostic.blocking);
    expect(blockers.map((diagnostic) => `${diagnostic.code} ${diagnostic.path}`)).toEqual([
      'format-input-invalid audio/sfx/jump.wav',
      'format-declaration-invalid graphics/font/asset.json',
    ]);
    expect(doctor.code, doctor.stderr).toBe(1);

    const pack = await runPacker(['pack', '--json', dir]);
    const packed = JSON.parse(pack.stdout) as { outcome: string; blockers: unknown[] };
    expect(packed.outcome).toBe('blocked');
    expect(packed.blockers).toEqual(blockers);
    expect(existsSync(join(dir, 'build'))).toBe(false);
  });
});
