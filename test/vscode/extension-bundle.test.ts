/**
 * The VS Code extension in examples/vscode-extension, as far as it can be checked without VS Code: it
 * type-checks against `@types/vscode` and vscode-languageclient 9; esbuild bundles it into one CommonJS file
 * that requires nothing but Node's modules and `vscode`; and that bundle, copied into a folder outside the
 * repository where only a `vscode` stub and the shipped server package resolve, runs its packer-facing part
 * from a CommonJS entry point against the real server on a copy of examples/demo-game: it finds the server,
 * lists the assets in its tree, packs with progress and outcome from the packer, refreshes the tree from
 * `snapshot.published`, and with a second project picks it and cancels a pack from its progress notification.
 */
import { spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const extensionDir = join(root, 'examples', 'vscode-extension');
const fixtures = join(root, 'test', 'vscode', 'fixtures');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (the test's timeout bounds it). */
function run(command: string, args: readonly string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_PATH: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let build: Run;
const scratch: string[] = [];

beforeAll(async () => {
  // The extension's own build script, as a developer runs it.
  build = await run('npm', ['run', '--silent', 'build'], extensionDir);
}, 120_000);

afterAll(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** What the CommonJS entry point prints. */
interface EntryReport {
  unresolvable: Record<string, boolean>;
  serverScript: string;
  unknownVscodeNames: string[];
  treeBefore: { label: string; description: string; icon: string; opens?: string }[];
  packReport: { kind: string; assets?: number; bytes?: number; message: string };
  progress: { message: string; increment?: number }[];
  progressTitles: string[];
  messages: { level: string; message: string }[];
  events: string[];
  treeAfter: { label: string }[];
  projectLevel: string[];
  bigAssets: number;
  quickPicks: string[][];
  cancelReport: { kind: string; message: string };
  cancelMessages: { level: string; message: string }[];
  blockerOutcome: string;
  exitCode: number | null;
}

describe('the VS Code extension example', () => {
  it('type-checks against @types/vscode and vscode-languageclient 9 with the repository’s strict flags', async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(extensionDir, 'tsconfig.json')], root);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 120_000);

  it('esbuild bundles it into one CommonJS file that requires only Node’s modules and vscode', () => {
    expect(build.stderr).toBe('');
    expect(build.code).toBe(0);
    const bundle = readFileSync(join(extensionDir, 'dist', 'extension.js'), 'utf8');
    const required = new Set([...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]!));
    const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    expect([...required].filter((name) => !builtins.has(name))).toEqual(['vscode']);
    expect(bundle).toContain('module.exports = __toCommonJS(');
    expect(bundle).not.toContain('import.meta.url');
  });

  it('the bundle runs from a CommonJS entry with only its packages installed: finds the server, lists, packs, refreshes from events, cancels', async () => {
    expect(build.code).toBe(0);
    // A folder outside the repository: nothing resolves from it but what is put here.
    const dir = mkdtempSync(join(tmpdir(), 'packer-vscode-bundle-'));
    scratch.push(dir);
    mkdirSync(join(dir, 'dist'));
    cpSync(join(extensionDir, 'dist', 'extension.js'), join(dir, 'dist', 'extension.js'));
    cpSync(join(extensionDir, 'package.json'), join(dir, 'package.json'));
    cpSync(join(fixtures, 'bundle-entry.cjs'), join(dir, 'entry.cjs'));
    mkdirSync(join(dir, 'node_modules', 'vscode'), { recursive: true });
    cpSync(join(fixtures, 'vscode-stub.cjs'), join(dir, 'node_modules', 'vscode', 'index.js'));
    // The server package ships beside the bundle (its own dependencies come with it, as an install brings them).
    mkdirSync(join(dir, 'node_modules', '@prometeu'));
    symlinkSync(join(root, 'server'), join(dir, 'node_modules', '@prometeu', 'packer-server'), 'dir');
    const game = join(dir, 'demo-game');
    cpSync(join(root, 'examples', 'demo-game'), game, {
      recursive: true,
      filter: (source) => !source.includes(`${join('demo-game', 'build')}`),
    });

    const result = await run(process.execPath, ['entry.cjs', game], dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as EntryReport;

    // Nothing but the bundle's packages resolves from the entry's folder.
    expect(Object.values(report.unresolvable).every(Boolean)).toBe(true);
    // The server was found through the shipped package, from inside the CommonJS bundle.
    expect(report.serverScript).toBe(join(root, 'server', 'bin', 'packer-server.js'));

    // The tree lists every asset of the demo game, each opening its asset.json.
    const list = JSON.parse(
      readFileSync(join(root, 'examples', 'demo-game', 'assets', '.prometeu', 'index.json'), 'utf8'),
    ) as { assets: { included_in_build: boolean }[] };
    const included = list.assets.filter((entry) => entry.included_in_build).length;
    expect(report.treeBefore.length).toBeGreaterThanOrEqual(list.assets.length);
    expect(report.treeBefore.filter((node) => node.description.includes(' · #'))).toHaveLength(list.assets.length);
    expect(report.treeBefore.every((node) => node.opens === 'vscode.open')).toBe(true);

    // The pack command: progress from operation.progress events, the outcome from the response.
    expect(report.progressTitles[0]).toBe('Packing demo-game');
    expect(report.packReport.kind).toBe('succeeded');
    expect(report.packReport.assets).toBe(included);
    expect(report.packReport.bytes).toBeGreaterThan(0);
    expect(report.progress.length).toBeGreaterThan(0);
    expect(report.messages[0]).toEqual({ level: 'info', message: report.packReport.message });
    expect(report.events).toContain('operation.progress');
    expect(report.events).toContain('operation.succeeded');

    // A reconcile's snapshot.published refreshed the tree, which now shows the new asset.
    expect(report.events).toContain('snapshot.published');
    expect(report.treeAfter.map((node) => node.label)).toContain('lamp');

    // Two projects: the tree gains a project level, and the pack command asks which one.
    expect(report.projectLevel).toEqual(['demo-game', 'big']);
    expect(report.bigAssets).toBe(200);
    expect(report.quickPicks).toEqual([['demo-game', 'big']]);
    // Cancelled from its progress notification while queued: the server's RequestCancelled, said as a warning.
    expect(report.progressTitles[1]).toBe('Packing big');
    expect(report.cancelReport).toEqual({ kind: 'cancelled', message: 'The pack was cancelled.' });
    expect(report.cancelMessages).toEqual([{ level: 'warning', message: 'The pack was cancelled.' }]);
    expect(report.blockerOutcome).toBe('succeeded');
    expect(report.exitCode).toBe(0);
  }, 120_000);
});
