/**
 * The `packer` CLI's workspace commands end to end, against temp projects and the real server: each
 * prints its preview and changes nothing without --yes; with --yes it applies that preview, and consent is
 * given only by --consent. Exit codes: 0 previewed or applied, 1 blocked or rejected.
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeProject, type AssetSpec } from '../support/workspace-builder.js';
import { blobAsset, fixtureServer, runPacker, track, type CliRun } from './support.js';

const resources = track();

const HERO_UUID = '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70';

/** A project: `hero` (#1, in build), `slime` (#2, excluded), `extra` unregistered, plus `more`. */
function project(more: AssetSpec[] = []): string {
  const dir = resources.tempDir();
  writeProject(dir, {
    assets: [
      { ...blobAsset('hero', 'hero bytes\n'), uuid: HERO_UUID },
      blobAsset('slime', 'slime bytes\n', { included: false }),
      blobAsset('extra', 'extra bytes\n', { registered: false }),
      ...more,
    ],
  });
  return dir;
}

interface RegistryOnDisk {
  next_asset_id: number;
  assets: { asset_id: number; asset_uuid: string; root: string; included_in_build: boolean }[];
}

function registry(dir: string): RegistryOnDisk {
  return JSON.parse(readFileSync(join(dir, 'assets', '.prometeu', 'index.json'), 'utf8')) as RegistryOnDisk;
}

function registryText(dir: string): string {
  return readFileSync(join(dir, 'assets', '.prometeu', 'index.json'), 'utf8');
}

function declaration(dir: string, root: string): { name: string; asset_uuid: string } {
  return JSON.parse(readFileSync(join(dir, 'assets', root, 'asset.json'), 'utf8')) as {
    name: string;
    asset_uuid: string;
  };
}

function expectExit(run: CliRun, code: number): void {
  if (run.code !== code)
    throw new Error(`Expected exit ${code}, got ${run.code}.\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
}

describe('packer workspace commands: preview only, then --yes', () => {
  it('register previews the registry change and changes nothing; --yes registers the root', async () => {
    const dir = project();
    const before = registryText(dir);
    const preview = await runPacker(['register', 'extra', dir]);
    expectExit(preview, 0);
    expect(preview.stderr).toBe('');
    expect(preview.stdout).toMatch(/^Register extra$/m);
    expect(preview.stdout).toMatch(/^ {2}Operation\s+register \(registry: edits only the registry/m);
    expect(preview.stdout).toMatch(/^ {2}Consent\s+not required$/m);
    expect(preview.stdout).toMatch(/^Blockers\n {2}none$/m);
    expect(preview.stdout).toMatch(/^Registry changes\n {2}add\s+#3\s+extra\s+[0-9a-f-]{36}\s+in build$/m);
    expect(preview.stdout).toMatch(/^Filesystem changes \(paths relative to assets\/\)\n {2}none$/m);
    expect(preview.stdout).toContain('Preview only: nothing was changed. Run again with --yes to apply it.');
    expect(registryText(dir)).toBe(before);

    const applied = await runPacker(['register', 'extra', '--yes', dir]);
    expectExit(applied, 0);
    expect(applied.stdout).toMatch(/^Applied by operation \S+: revision \d+ -> \d+\.$/m);
    expect(registry(dir).assets.map((entry) => [entry.asset_id, entry.root])).toEqual([
      [1, 'hero'],
      [2, 'slime'],
      [3, 'extra'],
    ]);
  });

  it('relocate shows the move and that consent is needed; --yes --consent gives it and the folder moves with its entry', async () => {
    const dir = project();
    const preview = await runPacker(['relocate', 'hero', 'characters/hero', dir]);
    expectExit(preview, 0);
    expect(preview.stdout).toMatch(/^ {2}Consent\s+required/m);
    expect(preview.stdout).toMatch(
      /^ {2}Operation\s+relocate \(workspace\+registry: edits your files under assets\/ and the registry\)$/m,
    );
    expect(preview.stdout).toMatch(
      /^ {2}update\s+#1\s+hero -> characters\/hero\s+3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70\s+in build$/m,
    );
    expect(preview.stdout).toMatch(/^ {2}move\s+folder\s+hero -> characters\/hero$/m);
    expect(preview.stdout).toContain('It needs consent: run again with --yes --consent to apply it.');
    expect(existsSync(join(dir, 'assets', 'hero', 'asset.json'))).toBe(true);

    const applied = await runPacker(['relocate', '1', 'characters/hero', '--yes', '--consent', dir]);
    expectExit(applied, 0);
    expect(existsSync(join(dir, 'assets', 'hero'))).toBe(false);
    expect(declaration(dir, 'characters/hero').asset_uuid).toBe(HERO_UUID);
    expect(registry(dir).assets.find((entry) => entry.asset_id === 1)?.root).toBe('characters/hero');
    const list = await runPacker(['list', dir]);
    expect(list.stdout).toMatch(/^1\s+hero\s+blob\s+characters\/hero\s+yes\s+yes/m);
  });

  it('remove needs consent: without --yes the files stay; with --yes --consent the root and its entry are gone', async () => {
    const dir = project();
    const preview = await runPacker(['remove', 'slime', dir]);
    expectExit(preview, 0);
    expect(preview.stdout).toMatch(/^ {2}delete\s+folder\s+slime$/m);
    expect(preview.stdout).toMatch(/^ {2}remove\s+#2\s+slime/m);
    expect(preview.stdout).toMatch(/^ {2}Consent\s+required/m);
    expect(existsSync(join(dir, 'assets', 'slime', 'x.bin'))).toBe(true);

    const applied = await runPacker(['remove', 'slime', '--yes', '--consent', dir]);
    expectExit(applied, 0);
    expect(existsSync(join(dir, 'assets', 'slime'))).toBe(false);
    expect(registry(dir).assets.map((entry) => entry.root)).toEqual(['hero']);
  });

  it('a blocked preview exits 1 naming the blocker, with or without --yes, and nothing moves', async () => {
    const dir = project();
    for (const args of [
      ['relocate', 'hero', '../outside', dir],
      ['relocate', 'hero', 'slime/inside', '--yes', dir],
    ]) {
      const run = await runPacker(args);
      expectExit(run, 1);
      expect(run.stdout).toMatch(/^Blockers\n {2}(pathOutsideProject|nestedRoot)\s+\S+\s+\S/m);
      expect(run.stdout).toMatch(
        /^Blocked: the server would reject an apply \(see Blockers\); nothing was changed\.$/m,
      );
      expect(run.stdout).not.toContain('Applied');
    }
    expect(existsSync(join(dir, 'assets', 'hero', 'asset.json'))).toBe(true);
    expect(registry(dir).assets.find((entry) => entry.asset_id === 1)?.root).toBe('hero');
  });

  it("a rejected apply exits 1 and prints the server's reasons on stderr", async () => {
    const dir = project();
    const run = await runPacker(['exclude', 'hero', '--yes', dir], {
      env: { PACKER_SERVER: fixtureServer('scripted-writes'), FIXTURE_SCRIPT: 'apply-rejected' },
    });
    expectExit(run, 1);
    expect(run.stdout).toMatch(/^Exclude hero from the build$/m);
    expect(run.stdout).not.toContain('Applied');
    expect(run.stderr).toContain('packer: the server rejected the mutation (operation');
    expect(run.stderr).toMatch(/^ {2}staleRevision: The preview was computed at revision 1/m);
  });

  it('quarantine moves the root away with consent; restore brings it back by asset uuid, --to somewhere else', async () => {
    const dir = project();
    const quarantined = await runPacker(['quarantine', 'hero', '--yes', '--consent', dir]);
    expectExit(quarantined, 0);
    expect(quarantined.stdout).toMatch(/^ {2}move\s+folder\s+hero -> \.prometeu\/quarantine\//m);
    expect(existsSync(join(dir, 'assets', 'hero'))).toBe(false);
    expect(registry(dir).assets.map((entry) => entry.root)).toEqual(['slime']);

    const preview = await runPacker(['restore', HERO_UUID, '--to', 'back/hero', dir]);
    expectExit(preview, 0);
    expect(preview.stdout).toMatch(/^ {2}add\s+#1\s+back\/hero/m);
    const restored = await runPacker(['restore', HERO_UUID, '--to', 'back/hero', '--yes', '--consent', dir]);
    expectExit(restored, 0);
    expect(declaration(dir, 'back/hero').asset_uuid).toBe(HERO_UUID);
    expect(registry(dir).assets.find((entry) => entry.asset_id === 1)?.root).toBe('back/hero');
  });

  it('quarantine list shows what is in quarantine from the server; restore finds an asset by its original root', async () => {
    const dir = project();
    const empty = await runPacker(['quarantine', 'list', dir]);
    expectExit(empty, 0);
    expect(empty.stdout).toMatch(/^Nothing is in quarantine/m);
    expectExit(await runPacker(['quarantine', 'hero', '--yes', '--consent', dir]), 0);

    const listed = await runPacker(['quarantine', 'list', dir]);
    expectExit(listed, 0);
    expect(listed.stdout).toMatch(new RegExp(`^${HERO_UUID}\\s+hero\\s+blob\\s+hero\\s+1\\s+\\d{4}-`, 'm'));
    expect(listed.stdout).toMatch(/^1 in quarantine \(revision \d+\)/m);
    const json = JSON.parse((await runPacker(['quarantine', 'list', '--json', dir])).stdout) as {
      entries: { assetUuid: string; originalRoot: string }[];
    };
    expect(json.entries).toMatchObject([{ assetUuid: HERO_UUID, originalRoot: 'hero', assetId: 1 }]);

    const unknown = await runPacker(['restore', 'nowhere', '--yes', dir]);
    expectExit(unknown, 1);
    expect(unknown.stderr).toMatch(/nothing in quarantine came from nowhere/);
    const restored = await runPacker(['restore', 'hero', '--yes', '--consent', dir]);
    expectExit(restored, 0);
    expect(declaration(dir, 'hero').asset_uuid).toBe(HERO_UUID);
    expect(registry(dir).assets.find((entry) => entry.asset_id === 1)?.root).toBe('hero');
  });

  it('forget drops the entry and keeps the files; rename, exclude and include edit what they say', async () => {
    const dir = project();
    expectExit(await runPacker(['forget', '2', '--yes', dir]), 0);
    expect(registry(dir).assets.map((entry) => entry.root)).toEqual(['hero']);
    expect(existsSync(join(dir, 'assets', 'slime', 'asset.json'))).toBe(true);

    const rename = await runPacker(['rename', 'hero', 'Heroine', '--yes', dir]);
    expectExit(rename, 0);
    expect(rename.stdout).toMatch(/^ {2}modify\s+file\s+hero\/asset\.json$/m);
    expect(declaration(dir, 'hero').name).toBe('Heroine');

    const exclude = await runPacker(['exclude', '1', '--yes', dir]);
    expectExit(exclude, 0);
    expect(exclude.stdout).toMatch(/^ {2}update\s+#1\s+hero\s+\S+\s+in build -> excluded$/m);
    expect(registry(dir).assets[0]?.included_in_build).toBe(false);
    expectExit(await runPacker(['include', 'hero', '--yes', dir]), 0);
    expect(registry(dir).assets[0]?.included_in_build).toBe(true);
  });

  it('adopt gives a copied root whose asset_uuid collides a new identity and registers it', async () => {
    const dir = project([{ ...blobAsset('copy', 'copy bytes\n', { registered: false }), uuid: HERO_UUID }]);
    const register = await runPacker(['register', 'copy', dir]);
    expectExit(register, 1);
    expect(register.stdout).toMatch(/^ {2}identityConflict\s+copy\s+/m);
    const adopt = await runPacker(['adopt', 'copy', '--yes', dir]);
    expectExit(adopt, 0);
    expect(adopt.stdout).toMatch(/^Warnings\n {2}identityRepaired\s+copy\s+/m);
    expect(adopt.stdout).toMatch(/^ {2}modify\s+file\s+copy\/asset\.json$/m);
    const uuid = declaration(dir, 'copy').asset_uuid;
    expect(uuid).not.toBe(HERO_UUID);
    expect(registry(dir).assets.find((entry) => entry.root === 'copy')?.asset_uuid).toBe(uuid);
  });

  it('--json prints the preview, or with --yes the apply result, and nothing else on stdout', async () => {
    const dir = project();
    const preview = await runPacker(['exclude', 'hero', '--json', dir]);
    expectExit(preview, 0);
    expect(JSON.parse(preview.stdout)).toMatchObject({
      mutation: { kind: 'setBuildInclusion', included: false },
      blockers: [],
      requiresConsent: false,
    });
    const applied = await runPacker(['exclude', 'hero', '--json', '--yes', dir]);
    expectExit(applied, 0);
    expect(JSON.parse(applied.stdout)).toMatchObject({
      outcome: 'applied',
      reasons: [],
      preview: { mutation: { kind: 'setBuildInclusion' } },
    });
  });

  it('an asset that does not exist is a blocker naming it, and exits 1', async () => {
    const dir = project();
    const run = await runPacker(['forget', '99', '--yes', dir]);
    expectExit(run, 1);
    expect(run.stdout).toMatch(/^ {2}assetNotFound\s+-\s+No asset matches \{"assetId":99\}/m);
  });
});

describe('packer --consent is separate from --yes', () => {
  it('--yes without --consent on a mutation that needs consent is rejected by the server with its reason, exit 1, nothing changed', async () => {
    const dir = project();
    const before = registryText(dir);
    const run = await runPacker(['remove', 'slime', '--yes', dir]);
    expectExit(run, 1);
    expect(run.stdout).toMatch(/^ {2}Consent\s+required \(destructive or relocating\): apply with --yes --consent$/m);
    expect(run.stdout).not.toContain('Applied');
    expect(run.stderr).toContain('packer: the server rejected the mutation (operation');
    expect(run.stderr).toMatch(/^ {2}consentRequired: \S/m);
    expect(run.stderr).toContain('packer: to give that consent, run again with --yes --consent.');
    expect(existsSync(join(dir, 'assets', 'slime', 'x.bin'))).toBe(true);
    expect(registryText(dir)).toBe(before);
  });

  it('--json --yes without --consent prints the rejected apply result with the consentRequired reason', async () => {
    const dir = project();
    const run = await runPacker(['relocate', 'hero', 'characters/hero', '--yes', '--json', dir]);
    expectExit(run, 1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      outcome: 'rejected',
      reasons: [{ code: 'consentRequired' }],
      preview: { requiresConsent: true },
    });
    expect(existsSync(join(dir, 'assets', 'hero', 'asset.json'))).toBe(true);
  });

  it('--consent on a mutation that needs none is applied as usual', async () => {
    const dir = project();
    const run = await runPacker(['exclude', 'hero', '--yes', '--consent', dir]);
    expectExit(run, 0);
    expect(run.stdout).toMatch(/^ {2}Consent\s+not required$/m);
    expect(registry(dir).assets[0]?.included_in_build).toBe(false);
  });

  it('--consent without --yes is a usage error (exit 2) and no server is asked', async () => {
    const dir = project();
    const run = await runPacker(['remove', 'slime', '--consent', dir]);
    expectExit(run, 2);
    expect(run.stderr).toContain('--consent goes with --yes');
    expect(existsSync(join(dir, 'assets', 'slime', 'x.bin'))).toBe(true);
  });
});

describe('packer create', () => {
  it("previews the new root's asset.json and registry entry; --yes writes it with the server's uuid and schema version", async () => {
    const dir = project();
    const before = registryText(dir);
    const preview = await runPacker(['create', 'blob', 'props/crate', '--register', dir]);
    expectExit(preview, 0);
    expect(preview.stdout).toMatch(/^Create props\/crate and register it$/m);
    expect(preview.stdout).toMatch(/^ {2}Operation\s+createAsset \(workspace\+registry: /m);
    expect(preview.stdout).toMatch(/^ {2}Consent\s+not required$/m);
    expect(preview.stdout).toMatch(/^ {2}create\s+file\s+props\/crate\/asset\.json$/m);
    expect(preview.stdout).toMatch(/^ {2}add\s+#3\s+props\/crate\s+[0-9a-f-]{36}\s+in build$/m);
    expect(preview.stdout).toContain('Preview only: nothing was changed. Run again with --yes to apply it.');
    expect(existsSync(join(dir, 'assets', 'props', 'crate'))).toBe(false);
    expect(registryText(dir)).toBe(before);

    const applied = await runPacker(['create', 'blob', 'props/crate', '--name', 'Crate', '--register', '--yes', dir]);
    expectExit(applied, 0);
    expect(applied.stdout).toMatch(/^Applied by operation \S+: revision \d+ -> \d+\.$/m);
    const written = JSON.parse(readFileSync(join(dir, 'assets', 'props', 'crate', 'asset.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(written).toEqual({
      schema_version: 1,
      asset_uuid: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Crate',
      type: 'blob',
      inputs: {},
      output: { format: 'BLOB/raw_v1', codec: 'NONE' },
      preload: { enabled: false },
    });
    expect(registry(dir).assets.find((entry) => entry.root === 'props/crate')).toEqual({
      asset_id: 3,
      asset_uuid: written['asset_uuid'],
      root: 'props/crate',
      included_in_build: true,
    });
  });

  it('without --register the new root stays unregistered, named after its folder', async () => {
    const dir = project();
    expectExit(await runPacker(['create', 'sound_bank', 'audio/steps', '--yes', dir]), 0);
    expect(declaration(dir, 'audio/steps').name).toBe('steps');
    expect(registry(dir).assets.map((entry) => entry.root)).toEqual(['hero', 'slime']);
    const list = await runPacker(['list', '--unregistered', dir]);
    expect(list.stdout).toMatch(/^-\s+steps\s+sound_bank\s+audio\/steps\s+no\s+no/m);
  });

  it("drafts the declaration from the server's advertised types: an unknown type is refused with the server's list, exit 2", async () => {
    const dir = project();
    const before = registryText(dir);
    const run = await runPacker(['create', 'sprite', 'ui/hero', '--yes', dir]);
    expectExit(run, 2);
    expect(run.stderr).toContain(
      "packer: create: the server supports the asset types blob, glyph_bank, sound_bank, not 'sprite'.",
    );
    expect(existsSync(join(dir, 'assets', 'ui', 'hero'))).toBe(false);
    expect(registryText(dir)).toBe(before);
  });

  it('a root that already holds an asset is blocked by the server and exits 1', async () => {
    const dir = project();
    const run = await runPacker(['create', 'blob', 'extra', '--yes', dir]);
    expectExit(run, 1);
    expect(run.stdout).toMatch(/^Blockers\n {2}\w+\s+extra/m);
    expect(run.stdout).not.toContain('Applied');
  });
});

describe('packer fix', () => {
  it('applies the register fix doctor offers for an unregistered root: preview first, then --yes', async () => {
    const dir = project();
    const doctor = await runPacker(['doctor', '--workspace', dir]);
    expectExit(doctor, 0);
    expect(doctor.stdout).toContain('[fix unregistered-root:extra: Register extra]');

    const before = registryText(dir);
    const preview = await runPacker(['fix', 'unregistered-root:extra', dir]);
    expectExit(preview, 0);
    expect(preview.stdout).toMatch(/^Apply fix unregistered-root:extra$/m);
    expect(preview.stdout).toMatch(/^ {2}add\s+#3\s+extra\s+/m);
    expect(registryText(dir)).toBe(before);

    const applied = await runPacker(['fix', 'unregistered-root:extra', '--yes', dir]);
    expectExit(applied, 0);
    expect(registry(dir).assets.map((entry) => [entry.asset_id, entry.root])).toEqual([
      [1, 'hero'],
      [2, 'slime'],
      [3, 'extra'],
    ]);
    const after = await runPacker(['doctor', '--workspace', dir]);
    expect(after.stdout).not.toContain('unregistered-root:extra');
  });

  it('applies the relocate fix offered for a registered root moved while no packer ran', async () => {
    const dir = project();
    mkdirSync(join(dir, 'assets', 'characters'));
    renameSync(join(dir, 'assets', 'hero'), join(dir, 'assets', 'characters', 'hero'));
    const doctor = await runPacker(['doctor', dir]);
    expectExit(doctor, 1);
    expect(doctor.stdout).toMatch(/\[fix moved-root:1: Relocate entry #1 from hero to characters\/hero\]$/m);

    const preview = await runPacker(['fix', 'moved-root:1', dir]);
    expectExit(preview, 0);
    expect(preview.stdout).toMatch(/^ {2}update\s+#1\s+hero -> characters\/hero\s+/m);
    const applied = await runPacker(['fix', 'moved-root:1', '--yes', dir]);
    expectExit(applied, 0);
    expect(registry(dir).assets.find((entry) => entry.asset_id === 1)?.root).toBe('characters/hero');
    expectExit(await runPacker(['doctor', dir]), 0);
  });

  it('a fix no diagnostic offers is blocked by the server (unknownFix) and exits 1', async () => {
    const dir = project();
    const run = await runPacker(['fix', 'moved-root:99', '--yes', dir]);
    expectExit(run, 1);
    expect(run.stdout).toMatch(/^ {2}unknownFix\s+-\s+No diagnostic at revision \d+ offers the fix "moved-root:99"/m);
  });
});
