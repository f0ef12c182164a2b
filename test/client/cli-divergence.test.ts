/**
 * `packer status`, `packer reconcile` and `packer events` around changes made on disk behind the packer's
 * back, against temp projects and the real server. A one-shot CLI sees changes made between its runs:
 * the server compares the disk with the fingerprints its last reconcile saved.
 */
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { declarationFor, writeFile, writeProject } from '../support/workspace-builder.js';
import { CLI_SCRIPT, blobAsset, eventually, runPacker, track, type CliRun } from './support.js';

const resources = track();

function expectExit(run: CliRun, code: number): void {
  if (run.code !== code)
    throw new Error(`Expected exit ${code}, got ${run.code}.\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
}

/** A project whose fingerprints a first `packer reconcile` saved, so later runs notice external changes. */
async function reconciledProject(): Promise<string> {
  const dir = resources.tempDir();
  writeProject(dir, { assets: [blobAsset('hero', 'hero bytes\n'), blobAsset('crate', 'crate bytes\n')] });
  const first = await runPacker(['reconcile', dir]);
  expectExit(first, 0);
  return dir;
}

/** Changes the test makes behind the packer's back: one input edited, one removed, one new root. */
function changeOnDisk(dir: string): void {
  writeFileSync(join(dir, 'assets', 'hero', 'x.bin'), 'edited in another tool\n');
  rmSync(join(dir, 'assets', 'crate', 'x.bin'));
  const lamp = blobAsset('lamp', 'lamp\n');
  writeFile(join(dir, 'assets', 'lamp', 'x.bin'), 'lamp\n');
  writeFile(join(dir, 'assets', 'lamp', 'asset.json'), `${JSON.stringify(declarationFor(lamp), null, 2)}\n`);
}

/** Runs `packer status` until it reports `diverged` (the server finds between-run changes in the background). */
function divergedStatus(dir: string): Promise<CliRun> {
  return eventually(async () => {
    const run = await runPacker(['status', dir]);
    expectExit(run, 0);
    return /^State\s+diverged$/m.test(run.stdout) ? run : undefined;
  }, 'packer status to report the project diverged');
}

describe('packer status and reconcile with changes made on disk', () => {
  it('status of an untouched project is ready, with no divergence, and says how the workspace is watched', async () => {
    const dir = await reconciledProject();
    const run = await runPacker(['status', dir]);
    expectExit(run, 0);
    expect(run.stdout).toMatch(/^State\s+ready$/m);
    expect(run.stdout).toMatch(/^Divergence\s+none$/m);
    expect(run.stdout).toMatch(/^Watching\s+(watching|degraded) \((chokidar|parcel)\)/m);
    expect(run.stdout).not.toContain('Changed on disk');
  });

  it('status shows diverged, each changed path with its kind, and the watching state', async () => {
    const dir = await reconciledProject();
    changeOnDisk(dir);
    const run = await divergedStatus(dir);
    expect(run.stdout).toMatch(/^Divergence\s+the disk changed since revision \d+ \(packer reconcile accepts it\)$/m);
    expect(run.stdout).toMatch(/^Watching\s+watching \(\w+\)/m);
    expect(run.stdout).toMatch(
      /^Changed on disk\n {2}removed\s+crate\/x\.bin\n {2}changed\s+hero\/x\.bin\n {2}added\s+lamp\/asset\.json\n {2}added\s+lamp\/x\.bin$/m,
    );

    const json = await runPacker(['status', '--json', dir]);
    expectExit(json, 0);
    const status = JSON.parse(json.stdout) as {
      state: string;
      divergence: { diverged: boolean };
      watching: { state: string };
    };
    // Still diverged: nothing but reconcile clears it.
    expect(status.state).toBe('diverged');
    expect(status.divergence.diverged).toBe(true);
  });

  it('reconcile accepts the changes into a new revision and prints what changed; the project is ready again', async () => {
    const dir = await reconciledProject();
    changeOnDisk(dir);
    await divergedStatus(dir);
    const run = await runPacker(['reconcile', dir]);
    expectExit(run, 0);
    expect(run.stdout).toMatch(/^Reconciled: revision \d+ -> \d+ \(operation \S+\); 4 changes on disk accepted\.$/m);
    expect(run.stdout).toMatch(
      /^Changes found on disk\n {2}removed\s+crate\/x\.bin\n {2}changed\s+hero\/x\.bin\n {2}added\s+lamp\/asset\.json\n {2}added\s+lamp\/x\.bin$/m,
    );
    // This run's first snapshot was read after the changes, so the two snapshots hold the same roots.
    expect(run.stdout).toMatch(
      /^Asset roots\n {2}no root was added, removed, moved or changed between revisions \d+ and \d+$/m,
    );
    expect(run.stdout).toMatch(/^Diagnostics: \d+ before, \d+ after\.$/m);
    const after = await runPacker(['status', dir]);
    expectExit(after, 0);
    expect(after.stdout).toMatch(/^State\s+ready$/m);
    expect(after.stdout).toMatch(/^Divergence\s+none$/m);
    const list = await runPacker(['list', dir]);
    expect(list.stdout).toMatch(/^-\s+lamp\s+blob\s+lamp\s+no\s+no/m);
    // The removed input is now a blocking diagnostic, not a silent edit of the registry.
    const doctor = await runPacker(['doctor', dir]);
    expectExit(doctor, 1);
    expect(doctor.stdout).toMatch(/input-missing\s+blocking\s+crate\/x\.bin/);
  });

  it('reconcile --json prints the raw result', async () => {
    const dir = await reconciledProject();
    const run = await runPacker(['reconcile', '--json', dir]);
    expectExit(run, 0);
    const result = JSON.parse(run.stdout) as { previousRevision: number; revision: number };
    // The revision before is the open's or, once published, its format checks'; the reconcile adds one.
    expect(result).toMatchObject({ diff: { added: [], removed: [], moved: [], changed: [] }, accepted: [] });
    expect(result.revision).toBe(result.previousRevision + 1);
  });
});

describe('packer events', () => {
  it('prints the events of this server run, after --after, one per line; --json prints one JSON event per line', async () => {
    const dir = resources.tempDir();
    writeProject(dir, { assets: [blobAsset('hero', 'hero bytes\n')] });
    const all = await runPacker(['events', dir]);
    expectExit(all, 0);
    // A project's log starts with its load: loading, then the first snapshot.
    expect(all.stdout).toMatch(/^ {5}1 {2}project\.stateChanged\s+-\s+new -> loading \(revision 0\)$/m);
    expect(all.stdout).toMatch(/^ {5}2 {2}snapshot\.published\s+-\s+revision 1 \(open\)$/m);
    const after = await runPacker(['events', '--after', '1', '--json', dir]);
    expectExit(after, 0);
    const events = after.stdout
      .trim()
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as { sequence: number; kind: string });
    expect(events.every((event) => event.sequence > 1)).toBe(true);
  });

  it('--follow prints live events, such as the divergence the watcher finds, until interrupted (exit 130)', async () => {
    const dir = resources.tempDir();
    writeProject(dir, { assets: [blobAsset('hero', 'hero bytes\n')] });
    const child = spawn(process.execPath, [CLI_SCRIPT, 'events', '--follow', dir], {
      env: { ...process.env, PACKER_SERVER: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const waiters = new Set<() => void>();
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      for (const waiter of [...waiters]) waiter();
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const printed = (pattern: RegExp, what: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!pattern.test(stdout)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`Timed out waiting for ${what}; stdout so far:\n${stdout}\nstderr:\n${stderr}`));
        }, 20_000);
        waiters.add(check);
        check();
      });
    try {
      await printed(/watch\.stateChanged\s+-\s+watching/, 'the watcher to arm');
      writeFileSync(join(dir, 'assets', 'hero', 'x.bin'), 'edited while following\n');
      await printed(/divergence\.detected\s+-\s+changed hero\/x\.bin/, 'the divergence event');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(130);
    expect(stdout).toMatch(/^ {5}2 {2}snapshot\.published/m);
  });
});
