/**
 * Parsing the `packer` command line and formatting its human output, without a server.
 */
import { describe, expect, it } from 'vitest';
import type { AssetTypeCapability } from '@prometeu/packer-protocol';
import { MAIN_HELP, parseAssetReference, parseCommandLine } from '../../cli/src/args.js';
import { createDraft } from '../../cli/src/draft.js';
import {
  formatAssetList,
  formatDoctor,
  formatEventLine,
  formatPackFailure,
  formatPreview,
  formatProgress,
  formatReconcile,
  formatTable,
  plural,
  previewFooter,
} from '../../cli/src/format.js';
import type { MutationPreview, PackerEvent } from '../../client/src/index.js';

describe('packer command line', () => {
  it('reads an asset reference as an id, a uuid or a root path', () => {
    expect(parseAssetReference('12')).toEqual({ assetId: 12 });
    expect(parseAssetReference('3F2B8C1E-6D0A-4C1B-9A57-2E4F1D9C8B70')).toEqual({
      assetUuid: '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70',
    });
    expect(parseAssetReference('./ui\\hero/')).toEqual({ root: 'ui/hero' });
  });

  it('parses a command with its options and project folder, defaulting the folder to the current one', () => {
    expect(parseCommandLine(['doctor', '--workspace', '--json', 'game'])).toEqual({
      kind: 'command',
      command: 'doctor',
      projectDir: 'game',
      json: true,
      workspace: true,
      asset: undefined,
      mutation: undefined,
      yes: false,
      consent: false,
      listFilter: {},
      noCache: false,
      after: undefined,
      follow: false,
    });
    expect(parseCommandLine(['show', 'hero'])).toMatchObject({
      kind: 'command',
      command: 'show',
      projectDir: '.',
      asset: { root: 'hero' },
    });
  });

  it('builds the mutation intent of each workspace command from its operands', () => {
    const intent = (argv: string[]): unknown => {
      const parsed = parseCommandLine(argv);
      return parsed.kind === 'command' ? parsed.mutation : parsed;
    };
    expect(intent(['register', './props/crate/'])).toEqual({ kind: 'register', root: 'props/crate' });
    expect(intent(['adopt', 'copy'])).toEqual({ kind: 'adopt', root: 'copy' });
    expect(intent(['forget', '3'])).toEqual({ kind: 'forget', asset: { assetId: 3 } });
    expect(intent(['remove', 'ui/hero'])).toEqual({ kind: 'remove', asset: { root: 'ui/hero' } });
    expect(intent(['quarantine', '3F2B8C1E-6D0A-4C1B-9A57-2E4F1D9C8B70'])).toEqual({
      kind: 'quarantine',
      asset: { assetUuid: '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70' },
    });
    expect(intent(['restore', '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70'])).toEqual({
      kind: 'restore',
      asset: { assetUuid: '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70' },
    });
    expect(intent(['restore', '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70', '--to', 'back/here/'])).toEqual({
      kind: 'restore',
      asset: { assetUuid: '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70' },
      to: 'back/here',
    });
    expect(intent(['relocate', '1', 'heroes\\main'])).toEqual({
      kind: 'relocate',
      asset: { assetId: 1 },
      to: 'heroes/main',
    });
    expect(intent(['rename', 'hero', 'Big Hero'])).toEqual({
      kind: 'rename',
      asset: { root: 'hero' },
      name: 'Big Hero',
    });
    expect(intent(['include', '2'])).toEqual({ kind: 'setBuildInclusion', asset: { assetId: 2 }, included: true });
    expect(intent(['exclude', '2'])).toEqual({ kind: 'setBuildInclusion', asset: { assetId: 2 }, included: false });
    expect(parseCommandLine(['relocate', '1', 'to', 'game', '--yes'])).toMatchObject({
      kind: 'command',
      projectDir: 'game',
      yes: true,
    });
    expect(parseCommandLine(['remove', '1', '-y'])).toMatchObject({ kind: 'command', projectDir: '.', yes: true });
  });

  it('parses create into a type, a root, a name and --register; the declaration is drafted once the server is known', () => {
    const parsed = parseCommandLine(['create', 'blob', './props/crate/']);
    expect(parsed).toMatchObject({
      kind: 'command',
      command: 'create',
      create: { type: 'blob', root: 'props/crate', name: undefined, register: false },
      mutation: undefined,
    });
    expect(parseCommandLine(['create', 'glyph_bank', 'ui/font', '--name', 'Main Font', '--register'])).toMatchObject({
      create: { type: 'glyph_bank', root: 'ui/font', name: 'Main Font', register: true },
    });
  });

  it("drafts create's declaration from the asset types the server advertises, with no table of its own", () => {
    const types: AssetTypeCapability[] = [
      { type: 'blob', format: 'BLOB/raw_v1', codecs: ['NONE'], inputs: [] },
      { type: 'tilemap', format: 'TILEMAP/grid_v2', codecs: ['LZ4', 'NONE'], inputs: [] },
    ];
    expect(createDraft(types, 'blob', 'props/crate', undefined)).toEqual({
      name: 'crate',
      type: 'blob',
      inputs: {},
      output: { format: 'BLOB/raw_v1', codec: 'NONE' },
      preload: { enabled: false },
    });
    // A type only this server knows is drafted with its format and its first codec.
    expect(createDraft(types, 'tilemap', 'maps/one', 'Level 1')).toMatchObject({
      name: 'Level 1',
      type: 'tilemap',
      output: { format: 'TILEMAP/grid_v2', codec: 'LZ4' },
    });
    expect(createDraft(types, 'sound_bank', 'x', undefined)).toBe(
      "the server supports the asset types blob, tilemap, not 'sound_bank'.",
    );
  });

  it('builds fix from a fix id, and keeps --consent apart from --yes', () => {
    expect(parseCommandLine(['fix', 'unregistered-root:ui/hero', '--yes', 'game'])).toMatchObject({
      kind: 'command',
      command: 'fix',
      projectDir: 'game',
      mutation: { kind: 'applySafeFix', fixId: 'unregistered-root:ui/hero' },
      yes: true,
      consent: false,
    });
    expect(parseCommandLine(['remove', '1', '--yes', '--consent'])).toMatchObject({ yes: true, consent: true });
    expect(parseCommandLine(['remove', '1', '--consent'])).toMatchObject({
      kind: 'usageError',
      message: expect.stringContaining('--consent goes with --yes'),
    });
  });

  it('asks the server for a filtered list with --registered or --unregistered', () => {
    expect(parseCommandLine(['list', '--registered'])).toMatchObject({ listFilter: { registered: true } });
    expect(parseCommandLine(['list', '--unregistered'])).toMatchObject({ listFilter: { registered: false } });
  });

  it('parses pack and events options', () => {
    expect(parseCommandLine(['pack', '--no-cache', '--json', 'game'])).toMatchObject({
      kind: 'command',
      command: 'pack',
      noCache: true,
      json: true,
      projectDir: 'game',
    });
    expect(parseCommandLine(['events', '--after', '12', '--follow'])).toMatchObject({
      kind: 'command',
      command: 'events',
      after: 12,
      follow: true,
      projectDir: '.',
    });
  });

  it('quarantine alone or with list lists the quarantine; with an asset it quarantines it', () => {
    expect(parseCommandLine(['quarantine'])).toMatchObject({
      kind: 'command',
      command: 'quarantineList',
      projectDir: '.',
    });
    expect(parseCommandLine(['quarantine', 'list', 'game', '--json'])).toMatchObject({
      kind: 'command',
      command: 'quarantineList',
      projectDir: 'game',
      json: true,
      mutation: undefined,
    });
    expect(parseCommandLine(['quarantine', 'hero', 'game'])).toMatchObject({
      command: 'quarantine',
      projectDir: 'game',
      mutation: { kind: 'quarantine', asset: { root: 'hero' } },
    });
  });

  it('restore names the asset by uuid, or by its original root for the run to look up in the quarantine', () => {
    const byRoot = parseCommandLine(['restore', 'chars/hero/', 'game']);
    expect(byRoot).toMatchObject({ command: 'restore', projectDir: 'game', restoreRoot: 'chars/hero' });
    expect(parseCommandLine(['restore', '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70'])).not.toHaveProperty('restoreRoot');
  });

  it('turns every malformed command line into a usage error, never an exception', () => {
    for (const argv of [
      [],
      ['frob'],
      ['show'],
      ['list', '--bogus'],
      ['list', '--workspace'],
      ['list', 'a', 'b'],
      ['status', '--version'],
      ['relocate', 'hero'],
      ['rename', 'hero', ''],
      ['restore'],
      ['quarantine', 'list', '--yes'],
      ['quarantine', 'list', 'a', 'b'],
      ['restore', '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70', '--to'],
      ['status', '--yes'],
      ['pack', '--to', 'x'],
      ['list', '--no-cache'],
      ['events', '--after', 'ten'],
      ['pack', '--follow'],
      ['register', 'a', 'b', 'c'],
      ['create', 'blob'],
      ['create', 'blob', 'x', '--name', ''],
      ['register', 'x', '--name', 'n'],
      ['register', 'x', '--register'],
      ['fix'],
      ['status', '--consent'],
      ['list', '--registered', '--unregistered'],
      ['doctor', '--unregistered'],
    ]) {
      expect(parseCommandLine(argv).kind).toBe('usageError');
    }
  });

  it('gives help for the CLI and for each command, and the main help documents the exit codes', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help', text: MAIN_HELP });
    expect(parseCommandLine(['show', '--help'])).toMatchObject({
      kind: 'help',
      text: expect.stringContaining('Usage: packer show <asset>'),
    });
    expect(parseCommandLine(['relocate', '--help'])).toMatchObject({
      kind: 'help',
      text: expect.stringContaining('Usage: packer relocate <asset> <to> [--yes [--consent]]'),
    });
    expect(parseCommandLine(['help', 'pack'])).toMatchObject({
      kind: 'help',
      text: expect.stringContaining('Usage: packer pack [--no-cache]'),
    });
    for (const command of [
      'create',
      'register',
      'adopt',
      'forget',
      'remove',
      'quarantine',
      'restore',
      'relocate',
      'rename',
      'include',
      'exclude',
      'fix',
      'reconcile',
      'pack',
      'events',
    ]) {
      expect(MAIN_HELP).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    for (const code of ['0 ', '1 ', '2 ', '3 ', '4 ']) expect(MAIN_HELP).toContain(`\n  ${code}`);
    for (const flag of ['--yes', '--consent', '--name', '--register', '--registered'])
      expect(MAIN_HELP).toMatch(new RegExp(`^  (-y, )?${flag}\\b`, 'm'));
    expect(parseCommandLine(['create', '--help'])).toMatchObject({
      text: expect.stringContaining('Usage: packer create <type> <root> [--name <N>] [--register] [--yes]'),
    });
    expect(parseCommandLine(['fix', '--help'])).toMatchObject({
      text: expect.stringContaining('Usage: packer fix <fixId> [--yes [--consent]]'),
    });
  });
});

describe('packer output', () => {
  it('aligns table columns and trims trailing spaces', () => {
    expect(
      formatTable([
        ['ID', 'NAME', 'X'],
        ['12', 'a', ''],
        ['3', 'longer', 'z'],
      ]),
    ).toBe('ID  NAME    X\n12  a\n3   longer  z');
    expect(plural(1, 'error')).toBe('1 error');
    expect(plural(2, 'error')).toBe('2 errors');
  });

  it('prints a preview with its class, consent, blockers, and registry and filesystem changes with paths', () => {
    const preview: MutationPreview = {
      previewId: 'pv-1-1',
      projectId: 'prj-x',
      baseRevision: 4,
      mutation: { kind: 'relocate', asset: { assetId: 1 }, to: 'heroes/main' },
      operationClass: 'workspace+registry',
      blockers: [{ code: 'targetExists', message: 'heroes/main already exists.', path: 'heroes/main' }],
      warnings: [],
      safeFixes: [],
      registryChanges: [
        {
          change: 'update',
          assetId: 1,
          assetUuid: 'u-1',
          root: 'heroes/main',
          includedInBuild: true,
          before: { root: 'hero', includedInBuild: true },
        },
      ],
      filesystemChanges: [{ change: 'move', path: 'hero', to: 'heroes/main', kind: 'folder' }],
      affectedAssets: [{ assetId: 1, assetUuid: 'u-1', root: 'hero' }],
      requiresConsent: true,
    };
    expect(formatPreview(preview)).toBe(
      [
        'Relocate asset 1 to heroes/main',
        '  Operation  relocate (workspace+registry: edits your files under assets/ and the registry)',
        '  Revision   4 (preview pv-1-1)',
        '  Consent    required (destructive or relocating): apply with --yes --consent',
        '',
        'Blockers',
        '  targetExists  heroes/main  heroes/main already exists.',
        '',
        'Warnings',
        '  none',
        '',
        'Registry changes',
        '  update  #1  hero -> heroes/main  u-1  in build',
        '',
        'Filesystem changes (paths relative to assets/)',
        '  move  folder  hero -> heroes/main',
        '',
        'Affected assets',
        '  #1  hero  u-1',
        '',
      ].join('\n'),
    );
  });

  it("takes the list footer's counts from the project status, not from the rows", () => {
    const row = {
      assetUuid: 'u-1',
      name: 'hero',
      type: 'blob',
      root: 'hero',
      registered: true,
      includedInBuild: true,
      state: 'ok' as const,
      worstSeverity: null,
      diagnosticCount: 0,
      availableActions: [],
      validation: 'done' as const,
      assetId: 1,
    };
    const status = {
      revision: 7,
      counts: {
        roots: 40,
        registered: 30,
        unregistered: 10,
        missing: 2,
        includedInBuild: 25,
        errors: 0,
        warnings: 0,
        blocking: 0,
      },
    } as Parameters<typeof formatAssetList>[1];
    const text = formatAssetList({ revision: 7, assets: [row] }, status, 'registered only');
    expect(text).toMatch(
      /^Listed: registered only, as the server filtered them\. Project: 40 asset roots, 30 registered, 10 unregistered, 25 in build, 2 missing anchors \(revision 7\)\.$/m,
    );
    expect(formatAssetList({ revision: 6, assets: [] }, status)).toContain(
      '(counts at revision 7, list at revision 6)',
    );
  });

  it('labels a diagnostic without an asset id by its root, never as unregistered', () => {
    const text = formatDoctor({
      revision: 3,
      scope: 'workspace',
      diagnostics: [
        {
          code: 'unreferenced-file',
          family: 'hygiene',
          severity: 'hint',
          blocking: false,
          message: 'hero/draft.json is not referenced.',
          root: 'hero',
          path: 'hero/draft.json',
        },
        {
          code: 'unregistered-root',
          family: 'hygiene',
          severity: 'info',
          blocking: false,
          message: 'extra is not registered.',
          root: 'extra',
          path: 'extra/asset.json',
          safeFix: {
            fixId: 'unregistered-root:extra',
            title: 'Register extra',
            mutation: { kind: 'register', root: 'extra' },
          },
        },
      ],
      pending: [],
      summary: { errors: 0, warnings: 0, infos: 1, hints: 1, blocking: 0 },
    });
    expect(text).not.toContain('(unregistered)');
    expect(text).toMatch(/^hero$/m);
    expect(text).toMatch(/^extra$/m);
    expect(text).toContain('[fix unregistered-root:extra: Register extra]');
    expect(text).toContain("Apply a fix with 'packer fix <fixId>'");
  });

  it("says under a preview whether it is blocked or needs --consent, from the preview's own fields", () => {
    const base = {
      previewId: 'pv',
      projectId: 'p',
      baseRevision: 1,
      mutation: { kind: 'remove', asset: { assetId: 1 } },
      operationClass: 'workspace+registry',
      blockers: [],
      warnings: [],
      safeFixes: [],
      registryChanges: [],
      filesystemChanges: [],
      affectedAssets: [],
      requiresConsent: false,
    } satisfies MutationPreview;
    expect(previewFooter(base)).toBe('Preview only: nothing was changed. Run again with --yes to apply it.');
    expect(previewFooter({ ...base, requiresConsent: true })).toBe(
      'Preview only: nothing was changed. It needs consent: run again with --yes --consent to apply it.',
    );
    expect(previewFooter({ ...base, blockers: [{ code: 'assetNotFound', message: 'no' }] })).toMatch(/^Blocked: /);
  });

  it('prints a reconcile with the accepted changes and the snapshot difference', () => {
    const text = formatReconcile({
      operationId: 'op-3',
      projectId: 'prj-x',
      previousRevision: 1,
      revision: 2,
      clearedChanges: 2,
      diff: {
        added: [{ root: 'lamp', assetUuid: 'u-9' }],
        removed: [],
        moved: [{ from: 'hero', to: 'heroes/hero', assetUuid: 'u-1', assetId: 1 }],
        changed: [],
        diagnosticsBefore: 0,
        diagnosticsAfter: 1,
      },
      accepted: [
        { path: 'heroes/hero', change: 'moved', from: 'hero' },
        { path: 'lamp/asset.json', change: 'added' },
      ],
    });
    expect(text).toContain('Reconciled: revision 1 -> 2 (operation op-3); 2 changes on disk accepted.');
    expect(text).toContain('Changes found on disk\n  moved  hero -> heroes/hero\n  added  lamp/asset.json');
    expect(text).toContain('Asset roots\n  added  lamp                 u-9\n  moved  hero -> heroes/hero  #1');
    expect(text).toContain('Diagnostics: 0 before, 1 after.');
    expect(text).toContain("run 'packer doctor' for the fixes on offer");
  });

  it('prints progress as a line or a bar, a failed pack with its paths, and one event per line', () => {
    expect(formatProgress({ done: 3, total: 4, unit: 'assets', message: 'hero' })).toBe('3/4 assets hero');
    expect(formatProgress({ done: 3, total: 4, unit: 'assets' }, 8)).toBe('[######..]  75% 3/4 assets');
    expect(formatProgress({ done: 7 })).toBe('7');
    expect(
      formatPackFailure({
        operationId: 'p',
        projectId: 'x',
        outcome: 'failed',
        revision: 3,
        blockers: [],
        reason: 'The disk changed.',
        divergedPaths: ['a/b.bin'],
        artifacts: [],
        assets: [],
        materialized: 0,
        fromCache: 0,
      }),
    ).toBe('Pack failed at revision 3: The disk changed.\nChanged on disk\n  a/b.bin\n');
    const event = {
      projectId: 'x',
      epoch: 'e',
      sequence: 12,
      operationId: 'op-1',
      time: 't',
      kind: 'operation.progress',
      body: { done: 1, total: 2, unit: 'assets' },
    } as PackerEvent;
    expect(formatEventLine(event)).toBe('    12  operation.progress    op-1            1/2 assets');
  });
});
