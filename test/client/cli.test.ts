/**
 * The `packer` CLI end to end: `node cli/bin/packer.js ...` against temp projects and the real server,
 * checking what it prints and its documented exit codes.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HERO_UUID, fixtureServer, runPacker, track, writeProject } from './support.js';

const resources = track();

/** Runs the CLI to completion; the test's own timeout bounds it. */
const packer = runPacker;

function project(options: Parameters<typeof writeProject>[1] = {}): string {
  const dir = resources.tempDir();
  writeProject(dir, options);
  return dir;
}

describe('packer CLI reads', () => {
  it('status prints the state, revision and counts of the project in the current folder', async () => {
    const dir = project();
    const run = await packer(['status'], { cwd: dir });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^State\s+ready$/m);
    expect(run.stdout).toMatch(/^Revision\s+\d+$/m);
    expect(run.stdout).toMatch(/^\s+Registered\s+1$/m);
    expect(run.stdout).toMatch(/^\s+Blocking\s+0$/m);
  });

  it('list prints one aligned row per asset with id, name, type, root, registration, inclusion and worst severity', async () => {
    const dir = project({ withUnregistered: true });
    const run = await packer(['list', dir]);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+TYPE\s+ROOT\s+REGISTERED\s+INCLUDED\s+STATE\s+WORST$/);
    expect(lines[1]).toMatch(/^1\s+hero\s+blob\s+hero\s+yes\s+yes\s+ok\s+-$/);
    expect(lines[2]).toMatch(/^-\s+extra\s+blob\s+extra\s+no\s+no\s+ok\s+info$/);
    // Aligned: every column starts at the same offset on every row.
    expect(lines[1]!.indexOf('hero')).toBe(lines[0]!.indexOf('NAME'));
    // Revision 2: list waits for the format checks that the open schedules (revision 1 is the open itself).
    expect(run.stdout).toMatch(
      /^Project: 2 asset roots, 1 registered, 1 unregistered, 1 in build, 0 missing anchors \(revision 2\)\.$/m,
    );
  });

  it("a filtered list's footer gives the server's counts of the whole project, not a count of the rows shown", async () => {
    const dir = project({ withUnregistered: true });
    const status = await packer(['status', '--json', dir]);
    expect(status.code).toBe(0);
    const { counts, revision } = JSON.parse(status.stdout) as {
      revision: number;
      counts: { roots: number; registered: number; unregistered: number; includedInBuild: number; missing: number };
    };
    // The counts are the server's; the revision may be newer in the list (it waits for the format checks).
    const footer = `Project: ${counts.roots} asset roots, ${counts.registered} registered, ${counts.unregistered} unregistered, ${counts.includedInBuild} in build, ${counts.missing} missing anchors (revision `;
    expect(revision).toBeGreaterThanOrEqual(1);
    for (const [flag, root] of [
      ['--unregistered', 'extra'],
      ['--registered', 'hero'],
    ] as const) {
      const run = await packer(['list', flag, dir]);
      expect(run.code).toBe(0);
      const rows = run.stdout.split('\n\n')[0]!.split('\n').slice(1);
      // One row shown, while the project (and so the footer) has two roots.
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatch(new RegExp(`\\s${root}\\s`));
      expect(run.stdout).toContain(`Listed: ${flag.slice(2)} only, as the server filtered them. ${footer}`);
    }
    expect(counts).toMatchObject({ roots: 2, registered: 1, unregistered: 1, includedInBuild: 1 });
  });

  it('show finds an asset by id, by uuid and by root path', async () => {
    const dir = project();
    for (const reference of ['1', HERO_UUID, 'hero']) {
      const run = await packer(['show', reference, dir]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Asset uuid\s+3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70$/m);
      expect(run.stdout).toMatch(/^\s+data\s+hero\.bin\s+present$/m);
    }
  });

  it('show of an asset that does not exist exits 3 with AssetNotFound', async () => {
    const run = await packer(['show', '99', project()]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('AssetNotFound (1004)');
  });

  it('doctor exits 0 on a healthy project', async () => {
    const run = await packer(['doctor', project()]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toContain('No problems found');
  });

  it('doctor exits 1 when a registered asset is broken, listing the diagnostic and a summary line', async () => {
    const run = await packer(['doctor', project({ withoutHeroInput: true })]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^hero \(asset 1\)$/m);
    expect(run.stdout).toMatch(/^\s+error\s+input-missing\s+blocking\s+hero\/hero\.bin\s+\S.*$/m);
    expect(run.stdout).toContain('1 error, 0 warnings, 0 infos, 0 hints; 1 blocking (registered scope');
  });

  it('doctor --workspace adds the hygiene diagnostics but they do not block', async () => {
    const run = await packer(['doctor', '--workspace', project({ withUnregistered: true })]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^extra$/m);
    expect(run.stdout).toMatch(
      /^ {2}info\s+unregistered-root\s+-\s+extra\/asset\.json\s+.*\[fix unregistered-root:extra: Register extra\]$/m,
    );
    expect(run.stdout).toContain("Apply a fix with 'packer fix <fixId>'");
  });

  it('doctor --workspace never labels a registered root "unregistered", whatever its hygiene diagnostics carry', async () => {
    const dir = project();
    writeFileSync(join(dir, 'assets', 'hero', 'notes.txt'), 'not referenced');
    const run = await packer(['doctor', '--workspace', dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('unreferenced-file');
    // The server may or may not give the diagnostic hero's asset id; either way the CLI says only what it got.
    expect(run.stdout).toMatch(/^hero( \(asset 1\))?$/m);
    expect(run.stdout).not.toContain('(unregistered)');
  });

  it('--json prints the raw result as JSON on stdout', async () => {
    const dir = project({ withoutHeroInput: true });
    const list = await packer(['list', '--json', dir]);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject({
      revision: 1,
      assets: [{ assetId: 1, root: 'hero', worstSeverity: 'error' }],
    });
    const doctor = await packer(['doctor', '--json', dir]);
    expect(doctor.code).toBe(1);
    expect(JSON.parse(doctor.stdout)).toMatchObject({ scope: 'registered', summary: { blocking: 1 } });
  });
});

describe('packer CLI init', () => {
  it('init creates assets/ and its registry in a new folder, and says so', async () => {
    const dir = resources.tempDir();
    const run = await packer(['init', dir]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Created assets/.prometeu/index.json');
    expect(existsSync(join(dir, 'assets', '.prometeu', 'index.json'))).toBe(true);
    const again = await packer(['init', '--json', dir]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'alreadyValid' });
  });
});

describe('packer CLI errors and exit codes', () => {
  it('a usage error exits 2 with a message and a pointer to the help', async () => {
    for (const args of [['frob'], ['show'], ['list', '--bogus'], ['status', '--workspace']]) {
      const run = await packer(args);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^packer: .+\nRun 'packer( \w+)? --help' for usage\.\n$/);
    }
  });

  it('--help documents the commands and exit codes and exits 0', async () => {
    const run = await packer(['--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Exit codes:');
    expect(run.stdout).toContain('show <asset>');
    const show = await packer(['doctor', '--help']);
    expect(show.stdout).toContain('Usage: packer doctor [--workspace] [--json] [PROJECT_DIR]');
  });

  it('a missing project folder exits 3 with the error code and its name on stderr', async () => {
    const run = await packer(['status', join(resources.tempDir(), 'missing')]);
    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^packer: the server refused packer\/openProject: ProjectRootInvalid \(1002\): .*does not exist/,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('a folder without assets/ exits 3 with AssetsFolderMissing and a hint to run init', async () => {
    const dir = resources.tempDir();
    mkdirSync(join(dir, 'game'));
    const run = await packer(['list', join(dir, 'game')]);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('AssetsFolderMissing (1003)');
    expect(run.stderr).toContain('packer init');
  });

  it('a server that crashes exits 4 and shows its exit code and the end of its stderr', async () => {
    const run = await packer(['status', project()], {
      env: { PACKER_SERVER: fixtureServer('crash-on-notification'), FIXTURE_EXIT_ON_INITIALIZE: '1' },
    });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('exited with code 3');
    expect(run.stderr).toContain('fixture: about to crash with exit code 3');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('a server that writes garbage on stdout exits 4 with a protocol error', async () => {
    const run = await packer(['status', project()], { env: { PACKER_SERVER: fixtureServer('garbage-stdout') } });
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('broke the protocol');
  });
});
