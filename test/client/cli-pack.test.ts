/**
 * `packer pack` end to end: progress on stderr (a bar on a terminal, lines otherwise), the summary on
 * stdout, the same bytes every time, and its exit codes: 0 packed, 1 blocked or failed, 4 server crashed.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/src/run.js';
import { writeProject } from '../support/workspace-builder.js';
import { blobAsset, fixtureServer, runPacker, track, type CliRun } from './support.js';

const resources = track();

function project(): string {
  const dir = resources.tempDir();
  writeProject(dir, {
    assets: [
      blobAsset('hero', 'hero bytes\n', { preload: true }),
      blobAsset('props/crate', 'crate bytes, a bit longer\n'),
      blobAsset('slime', 'slime\n', { included: false }),
    ],
  });
  return dir;
}

function expectExit(run: CliRun, code: number): void {
  if (run.code !== code)
    throw new Error(`Expected exit ${code}, got ${run.code}.\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
}

/** The sha256 the summary prints for `build/assets.pa`. */
function printedHash(stdout: string): string {
  const match = /^ {2}build\/assets\.pa\s+(\d+)\s+([0-9a-f]{64})$/m.exec(stdout);
  if (match === null) throw new Error(`No assets.pa row in:\n${stdout}`);
  return match[2]!;
}

describe('packer pack', () => {
  it('writes build/assets.pa, prints the asset table and the artifacts; a second pack prints the same sha256', async () => {
    const dir = project();
    const first = await runPacker(['pack', dir]);
    expectExit(first, 0);
    expect(first.stdout).toMatch(/^Packed revision 2 \(operation \S+\): 2 built, 0 from cache\.$/m);
    expect(first.stdout).toMatch(/^ {2}ID\s+NAME\s+BANK\s+OFFSET\s+SIZE\s+CACHED$/m);
    expect(first.stdout).toMatch(/^ {2}1\s+hero\s+BLOB\s+0\s+11\s+no$/m);
    expect(first.stdout).toMatch(/^ {2}2\s+crate\s+BLOB\s+\d+\s+26\s+no$/m);
    expect(first.stdout).not.toMatch(/slime/);
    expect(first.stdout).toMatch(/^ {2}PATH\s+SIZE\s+SHA256$/m);
    for (const name of ['asset_table.json', 'asset_table_metadata.json', 'preload.json'])
      expect(first.stdout).toMatch(new RegExp(`^ {2}build/${name.replace('.', '\\.')}\\s+\\d+\\s+[0-9a-f]{64}$`, 'm'));
    // Plain progress lines on stderr (not a terminal), one per asset (a slow reader may see fewer).
    expect(first.stderr).toMatch(/^(pack: 1\/2 assets hero\n)?pack: 2\/2 assets crate\n$/);

    const bytes = readFileSync(join(dir, 'build', 'assets.pa'));
    const hash = printedHash(first.stdout);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(hash);

    const second = await runPacker(['pack', dir]);
    expectExit(second, 0);
    expect(printedHash(second.stdout)).toBe(hash);
    // Nothing changed: the second pack keeps build/ as it is and says so.
    expect(second.stdout).toMatch(
      /^Up to date at revision \d+ .*: nothing changed since the last pack, build\/ left untouched\.$/m,
    );
    expect(second.stdout).toMatch(/^ {2}1\s+hero\s+BLOB\s+0\s+11\s+no$/m);

    const full = await runPacker(['pack', '--no-cache', dir]);
    expectExit(full, 0);
    expect(printedHash(full.stdout)).toBe(hash);
    expect(full.stdout).toMatch(/: 2 built, 0 from cache\./);
  });

  it('--json prints the raw result only', async () => {
    const dir = project();
    const run = await runPacker(['pack', '--json', dir]);
    expectExit(run, 0);
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout) as { outcome: string; artifacts: { name: string; sha256: string }[] };
    expect(result.outcome).toBe('succeeded');
    expect(result.artifacts.find((artifact) => artifact.name === 'assets.pa')?.sha256).toBe(
      createHash('sha256')
        .update(readFileSync(join(dir, 'build', 'assets.pa')))
        .digest('hex'),
    );
  });

  it('a blocked pack exits 1, prints every blocker with code, root and message, and leaves build/ alone', async () => {
    const dir = resources.tempDir();
    writeProject(dir, {
      assets: [
        { ...blobAsset('hero', ''), files: {} },
        blobAsset('fine', 'fine\n'),
        { ...blobAsset('odd', 'odd\n'), output: { format: 'GLYPH/indexed_v1', codec: 'NONE' } },
      ],
    });
    const run = await runPacker(['pack', dir]);
    expectExit(run, 1);
    expect(run.stdout).toMatch(
      /^Pack blocked at revision 2 by these blocking diagnostics; build\/ was not changed\.$/m,
    );
    expect(run.stdout).toMatch(/^ {2}CODE\s+ROOT\s+MESSAGE$/m);
    expect(run.stdout).toMatch(/^ {2}input-missing\s+hero\s+\S.*hero\/x\.bin/m);
    expect(run.stdout).toMatch(/^ {2}output-contract-mismatch\s+odd\s+\S/m);
    expect(run.stderr).toMatch(
      /^packer: pack blocked \((input-missing, output-contract-mismatch|output-contract-mismatch, input-missing)\); build\/ was not changed\.$/m,
    );
    expect(existsSync(join(dir, 'build'))).toBe(false);
  });

  it('a pack that fails because the disk changed exits 1 with the reason and the changed paths', async () => {
    const run = await runPacker(['pack', project()], {
      env: { PACKER_SERVER: fixtureServer('scripted-writes'), FIXTURE_SCRIPT: 'pack-diverged' },
    });
    expectExit(run, 1);
    expect(run.stdout).toMatch(/^Pack failed at revision 1: The disk no longer matches revision 1/m);
    expect(run.stdout).toMatch(/^Changed on disk\n {2}hero\/hero\.bin$/m);
    expect(run.stderr).toMatch(/pack: 2\/2 assets slime\npacker: pack failed: The disk no longer matches/);
  });

  it('a server that crashes during the pack exits 4 with its exit code and the end of its stderr', async () => {
    const run = await runPacker(['pack', project()], {
      env: { PACKER_SERVER: fixtureServer('scripted-writes'), FIXTURE_SCRIPT: 'pack-crash' },
    });
    expectExit(run, 4);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('pack: 1/2 assets hero');
    expect(run.stderr).toContain('exited with code 9');
    expect(run.stderr).toContain('fixture: crashing in the middle of a pack');
  });

  it('on a terminal, progress is a bar redrawn in place on stderr and cleared before the summary', async () => {
    const dir = project();
    const collect = (
      tty: boolean,
    ): { stream: Writable & { isTTY?: boolean; columns?: number }; text: () => string } => {
      let text = '';
      const stream = new Writable({
        write(chunk: Buffer, _encoding, callback) {
          text += chunk.toString('utf8');
          callback();
        },
      }) as Writable & { isTTY?: boolean; columns?: number };
      if (tty) {
        stream.isTTY = true;
        stream.columns = 100;
      }
      return { stream, text: () => text };
    };
    const stdout = collect(false);
    const stderr = collect(true);
    const code = await runCli(['pack', dir], {
      stdout: stdout.stream,
      stderr: stderr.stream,
      cwd: dir,
      env: { ...process.env, PACKER_SERVER: '' },
    });
    expect(code).toBe(0);
    const drawn = stderr.text();
    expect(drawn).toMatch(
      // eslint-disable-next-line no-control-regex -- the progress bar is drawn with ANSI escapes.
      /^(\rpack \[#{12}\.{12}\] {2}50% 1\/2 assets hero\u001b\[K)?\rpack \[#{24}\] 100% 2\/2 assets crate\u001b\[K\r\u001b\[K$/,
    );
    expect(drawn).toContain('\rpack [########################] 100% 2/2 assets crate\u001b[K');
    expect(drawn.endsWith('\r\u001b[K')).toBe(true);
    expect(drawn).not.toContain('\n');
    expect(stdout.text()).toMatch(/^Packed revision 2/);
  });
});
