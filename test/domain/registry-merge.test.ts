/**
 * Two branches that each registered assets, merged with real git: the registry the merge leaves (conflict
 * markers, entries out of order, one asset_id given twice) is diagnosed precisely, and the safe fixes the
 * packer offers, previewed and applied through the lane like every mutation, bring it back to a valid one.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnostic } from '@prometeu/packer-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRegistry, serializeRegistry } from '../../server/src/domain/registry.js';
import { PackerHost } from '../../server/src/index.js';
import { connectInProcess, initialize, Notifier, type InProcessClient } from '../lane/support.js';
import { useTempDirs, uuidFor, writeProject } from '../support/workspace-builder.js';

const tempDir = useTempDirs('packer-registry-merge-');
const opened: { host: PackerHost; client: InProcessClient }[] = [];
afterEach(() => {
  for (const { host, client } of opened.splice(0)) {
    client.dispose();
    host.dispose();
  }
});

/** Runs git in `dir` with no user or system configuration, so the test is the same on every machine. */
function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Packer Test', '-c', 'user.email=test@example.invalid', ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
  });
}

/** Opens the project in an in-process server and returns a client on it. */
async function openProject(dir: string): Promise<{ client: InProcessClient; projectId: string }> {
  const host = new PackerHost({ epoch: 'merge', watcher: null });
  const client = connectInProcess(host, new Notifier());
  opened.push({ host, client });
  return { client, projectId: await initialize(client, dir) };
}

async function closeAll(): Promise<void> {
  for (const { host, client } of opened.splice(0)) {
    client.dispose();
    host.dispose();
  }
}

async function request<T>(client: InProcessClient, method: string, params: unknown): Promise<T> {
  return (await client.connection.sendRequest(method, params)) as T;
}

async function workspaceDiagnostics(client: InProcessClient, projectId: string): Promise<Diagnostic[]> {
  return (await request<{ diagnostics: Diagnostic[] }>(client, 'packer/doctor', { projectId, scope: 'workspace' }))
    .diagnostics;
}

/** Registers `root` through the packer, as a user on that branch would, then commits. */
async function registerOnBranch(dir: string, root: string): Promise<void> {
  const { client, projectId } = await openProject(dir);
  const applied = await request<{ outcome: string }>(client, 'packer/applyMutation', {
    projectId,
    mutation: { kind: 'register', root },
  });
  expect(applied.outcome).toBe('applied');
  await closeAll();
  git(dir, 'commit', '-q', '-am', `Register ${root}`);
}

/**
 * Resolves each conflict hunk of a diff3-style file the way a person does in an editor: `both` keeps our
 * side and then theirs (dropping the base), `ours` keeps ours only.
 */
function resolveConflicts(text: string, choices: readonly ('both' | 'ours')[]): string {
  const kept: string[] = [];
  let section: 'none' | 'ours' | 'base' | 'theirs' = 'none';
  let hunk = -1;
  for (const line of text.split('\n')) {
    if (line.startsWith('<<<<<<< ')) {
      section = 'ours';
      hunk++;
    } else if (line.startsWith('||||||| ')) section = 'base';
    else if (line === '=======') section = 'theirs';
    else if (line.startsWith('>>>>>>> ')) section = 'none';
    else if (section === 'none' || section === 'ours' || (section === 'theirs' && choices[hunk] === 'both'))
      kept.push(line);
  }
  return kept.join('\n');
}

/**
 * A project with `hero` registered and three unregistered roots, committed; branch `sounds` registers
 * `sfx/coin`, branch `props` (checked out at the end) registers `props/crate` and `props/lamp`. Both
 * branches hand out asset_id 2.
 */
async function twoBranches(): Promise<string> {
  const dir = tempDir();
  writeProject(dir, {
    assets: [
      { root: 'hero' },
      { root: 'props/crate', registered: false },
      { root: 'props/lamp', registered: false },
      { root: 'sfx/coin', registered: false },
    ],
  });
  // The packer's control data other than the registry is local to each checkout.
  writeFileSync(join(dir, '.gitignore'), 'assets/.prometeu/*\n!assets/.prometeu/index.json\n');
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'Base');
  git(dir, 'checkout', '-q', '-b', 'sounds');
  await registerOnBranch(dir, 'sfx/coin');
  git(dir, 'checkout', '-q', 'main');
  git(dir, 'checkout', '-q', '-b', 'props');
  await registerOnBranch(dir, 'props/crate');
  await registerOnBranch(dir, 'props/lamp');
  return dir;
}

/** Merges `sounds` into `props` with diff3 conflict markers; returns the registry text git left. */
function mergeSounds(dir: string): string {
  const merged = spawnSync(
    'git',
    ['-c', 'user.name=Packer Test', '-c', 'user.email=test@example.invalid', '-c', 'merge.conflictStyle=diff3'].concat([
      'merge',
      '--no-edit',
      'sounds',
    ]),
    { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } },
  );
  expect(merged.status, `git merge should stop on the registry conflict: ${merged.stdout}${merged.stderr}`).toBe(1);
  return readFileSync(registryPath(dir), 'utf8');
}

function registryPath(dir: string): string {
  return join(dir, 'assets/.prometeu/index.json');
}

describe('a registry merged with git', () => {
  it('with the conflict markers left in reports them with their lines, trusts nothing, and blocks the pack', async () => {
    const dir = await twoBranches();
    const text = mergeSounds(dir);
    const markerLines = text
      .split('\n')
      .flatMap((line, index) => (/^(<{7}|\|{7}|={7}|>{7})/.test(line) ? [index + 1] : []));
    expect(markerLines).toHaveLength(8);

    const { client, projectId } = await openProject(dir);
    const diagnostics = await workspaceDiagnostics(client, projectId);
    const conflict = diagnostics.find((diagnostic) => diagnostic.code === 'registry-merge-conflict');
    expect(conflict).toMatchObject({ blocking: true, path: '.prometeu/index.json' });
    expect(conflict!.message).toContain(`lines ${markerLines.join(', ')}`);
    expect(conflict!.related!.map((related) => related.message)).toEqual(
      markerLines.map((line) => expect.stringMatching(new RegExp(`^line ${line}: (<{7}|\\|{7}|={7}|>{7})`))),
    );
    expect(diagnostics.some((diagnostic) => diagnostic.code === 'registry-invalid')).toBe(false);
    const summary = await request<{ canPack: boolean }>(client, 'packer/packSummary', { projectId });
    expect(summary.canPack).toBe(false);
  });

  it('resolved by keeping both sides is valid again after the rewrite and renumber fixes, each applied through the lane', async () => {
    const dir = await twoBranches();
    // Keep both branches' entries in the first hunk, and our (larger) next_asset_id in the second.
    writeFileSync(registryPath(dir), resolveConflicts(mergeSounds(dir), ['both', 'ours']));
    git(dir, 'commit', '-q', '-am', 'Merge sounds');

    const { client, projectId } = await openProject(dir);
    let diagnostics = await workspaceDiagnostics(client, projectId);
    // Out of order (2, 3, then 2 again), and asset_id 2 twice: trusted, so nothing became unregistered.
    expect(diagnostics.some((diagnostic) => diagnostic.code === 'registry-invalid')).toBe(false);
    expect(diagnostics.some((diagnostic) => diagnostic.code === 'unregistered-root')).toBe(false);
    const layout = diagnostics.find((diagnostic) => diagnostic.code === 'registry-not-canonical');
    expect(layout).toMatchObject({ blocking: false, safeFix: { mutation: { kind: 'normalizeRegistry' } } });
    expect(layout!.message).toContain('not sorted by asset_id');
    const duplicates = diagnostics.filter((diagnostic) => diagnostic.code === 'identity-duplicate-id');
    expect(duplicates.map((diagnostic) => [diagnostic.root, diagnostic.blocking])).toEqual([
      ['props/crate', true],
      ['sfx/coin', true],
    ]);

    // 1. Rewrite the file canonically: a registry-only change, previewed first, no consent needed.
    const rewrite = await request<{
      previewId: string;
      operationClass: string;
      requiresConsent: boolean;
      filesystemChanges: unknown[];
    }>(client, 'packer/previewMutation', {
      projectId,
      mutation: { kind: 'applySafeFix', fixId: layout!.safeFix!.fixId },
    });
    expect(rewrite).toMatchObject({
      operationClass: 'registry',
      requiresConsent: false,
      filesystemChanges: [{ change: 'modify', path: '.prometeu/index.json', kind: 'file' }],
    });
    expect(
      (await request<{ outcome: string }>(client, 'packer/applyMutation', { projectId, previewId: rewrite.previewId }))
        .outcome,
    ).toBe('applied');
    expect(
      parseRegistry(readFileSync(registryPath(dir), 'utf8')).registry!.assets.map((entry) => entry.asset_id),
    ).toEqual([1, 2, 2, 3]);

    // 2. Give the sounds branch's coin a new id: the runtime refers to ids, so it needs consent.
    diagnostics = await workspaceDiagnostics(client, projectId);
    expect(diagnostics.some((diagnostic) => diagnostic.code === 'registry-not-canonical')).toBe(false);
    const coin = diagnostics.find(
      (diagnostic) => diagnostic.code === 'identity-duplicate-id' && diagnostic.root === 'sfx/coin',
    )!;
    expect(coin.safeFix!.mutation).toEqual({ kind: 'reassignAssetId', asset: { assetUuid: uuidFor('sfx/coin') } });
    const renumber = await request<{
      previewId: string;
      requiresConsent: boolean;
      registryChanges: unknown[];
      warnings: { code: string }[];
    }>(client, 'packer/previewMutation', { projectId, mutation: { kind: 'applySafeFix', fixId: coin.safeFix!.fixId } });
    expect(renumber.requiresConsent).toBe(true);
    expect(renumber.warnings.map((warning) => warning.code)).toEqual(['idReassigned']);
    expect(renumber.registryChanges).toEqual([
      expect.objectContaining({ change: 'remove', assetId: 2, root: 'sfx/coin' }),
      expect.objectContaining({ change: 'add', assetId: 4, root: 'sfx/coin' }),
    ]);
    const refused = await request<{ outcome: string; reasons: { code: string }[] }>(client, 'packer/applyMutation', {
      projectId,
      previewId: renumber.previewId,
    });
    expect(refused.outcome).toBe('rejected');
    expect(refused.reasons.map((reason) => reason.code)).toContain('consentRequired');
    const applied = await request<{ outcome: string }>(client, 'packer/applyMutation', {
      projectId,
      previewId: renumber.previewId,
      consent: true,
    });
    expect(applied.outcome).toBe('applied');

    // A valid, canonical registry: every asset registered once, nothing blocking, the file as the packer writes it.
    diagnostics = await workspaceDiagnostics(client, projectId);
    expect(diagnostics.filter((diagnostic) => diagnostic.blocking)).toEqual([]);
    const text = readFileSync(registryPath(dir), 'utf8');
    const parsed = parseRegistry(text);
    expect(parsed.diagnostics).toEqual([]);
    expect(text).toBe(serializeRegistry(parsed.registry!));
    expect(parsed.registry!.next_asset_id).toBe(5);
    expect(parsed.registry!.assets.map((entry) => [entry.asset_id, entry.root])).toEqual([
      [1, 'hero'],
      [2, 'props/crate'],
      [3, 'props/lamp'],
      [4, 'sfx/coin'],
    ]);
    const summary = await request<{ canPack: boolean }>(client, 'packer/packSummary', { projectId });
    expect(summary.canPack).toBe(true);
  });
});
