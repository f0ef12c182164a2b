/**
 * Pack promotion is one switch: at every step a failure (a throw from the step hook), a real SIGKILL of
 * the writing process, or a full disk (a real small tmpfs) leaves `build/` holding the old pack or the new
 * one, whole, never a mix, once recovery ran; and recovery runs before the next pack.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { PackerErrorCodes } from '@prometeu/packer-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackerHost } from '../../server/src/host.js';
import { recoverBuildPromotion, writeBuildOutputs, type PromotionStep } from '../../server/src/pack/build-output.js';
import { fillDisk, makeSentinel, mountTmpfs, requireRoot, type Sentinel } from '../adversarial/support.js';
import { withDeadline } from '../lane/support.js';
import { useTempDirs } from '../support/workspace-builder.js';

const tempDir = useTempDirs('pack-promotion-');
const COMPILED = fileURLToPath(new URL('../../server/dist/pack/build-output.js', import.meta.url));

const OLD = { 'assets.pa': 'old pack bytes', 'asset_table.json': '{"old":true}\n', 'manifest.json': 'old manifest\n' };
const NEW = {
  'assets.pa': 'new pack bytes, longer',
  'asset_table.json': '{"new":true}\n',
  'manifest.json': 'new m\n',
  'extra.json': '{}',
};
const STEPS: readonly ('artifact' | PromotionStep)[] = [
  'artifact',
  'staged',
  'old-moved-aside',
  'switched',
  'old-removed',
];

/** Every file of build/ with its content. */
function buildOf(root: string): Record<string, string> | null {
  const build = join(root, 'build');
  if (!existsSync(build)) return null;
  return Object.fromEntries(
    readdirSync(build)
      .sort()
      .map((name) => [name, readFileSync(join(build, name), 'utf8')]),
  );
}

function withOld(): string {
  const root = tempDir();
  mkdirSync(join(root, 'build'));
  for (const [name, content] of Object.entries(OLD)) writeFileSync(join(root, 'build', name), content);
  writeFileSync(join(root, 'build', 'notes.txt'), 'mine');
  return root;
}

/** The same record with its keys in name order, as {@link buildOf} lists them. */
function sorted(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const OLD_BUILD = sorted({ ...OLD, 'notes.txt': 'mine' });
const NEW_BUILD = sorted({ ...NEW, 'notes.txt': 'mine' });

/** Asserts build/ is the old pack or the new one, whole, and nothing else is left beside it. */
function expectWhole(root: string, what: string): 'old' | 'new' {
  const build = buildOf(root);
  expect(readdirSync(root), what).toEqual(['build']);
  if (JSON.stringify(build) === JSON.stringify(OLD_BUILD)) return 'old';
  expect(build, what).toEqual(NEW_BUILD);
  return 'new';
}

describe('pack promotion', () => {
  let sentinel: Sentinel;
  beforeAll(() => {
    sentinel = makeSentinel();
  });
  afterAll(() => {
    sentinel.check();
    sentinel.remove();
  });

  for (const step of STEPS) {
    it(`a failure at step ${step} leaves build/ the old pack or the new one, whole (issue 9, item 9)`, async () => {
      const root = withOld();
      const outcome = await writeBuildOutputs(root, NEW, {
        onStep: (current) => {
          if (current === step) throw new Error(`failure at ${step}`);
        },
      }).then(
        () => 'resolved',
        (error: Error) => error.message,
      );
      expect(outcome).toBe(`failure at ${step}`);
      await recoverBuildPromotion(root);
      const state = expectWhole(root, step);
      // Before the switch a failure is undone; from the switch on the new pack stays.
      expect(state).toBe(step === 'switched' || step === 'old-removed' ? 'new' : 'old');
    });

    it(`a SIGKILL at step ${step} leaves build/ the old pack or the new one, whole, after the next pack's recovery (issue 9, item 9)`, async () => {
      const root = withOld();
      const script = `
        import { writeBuildOutputs } from ${JSON.stringify(COMPILED)};
        await writeBuildOutputs(${JSON.stringify(root)}, ${JSON.stringify(NEW)}, {
          onStep: (current) => { if (current === ${JSON.stringify(step)}) process.kill(process.pid, 'SIGKILL'); },
        });
      `;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
      const exit = await withDeadline(
        new Promise<NodeJS.Signals | number | null>((resolve) =>
          child.on('exit', (code, signal) => resolve(signal ?? code)),
        ),
        `the writer killed at ${step}`,
      );
      expect(exit).toBe('SIGKILL');
      // Never a mix, even before recovery: build/ is absent (between the two renames), old, or new.
      const unrecovered = buildOf(root);
      expect([null, JSON.stringify(OLD_BUILD), JSON.stringify(NEW_BUILD)]).toContain(
        unrecovered === null ? null : JSON.stringify(unrecovered),
      );
      await recoverBuildPromotion(root);
      const state = expectWhole(root, step);
      expect(state).toBe(step === 'switched' || step === 'old-removed' ? 'new' : 'old');
      // The next pack works and leaves exactly the new pack.
      await writeBuildOutputs(root, NEW);
      expect(expectWhole(root, `${step}, then packed again`)).toBe('new');
    });
  }

  it('a full disk at every step of a pack answers WriteFailed ENOSPC and leaves build/ old or new, whole', async () => {
    requireRoot('it mounts a small tmpfs to fill it');
    for (const step of STEPS) {
      const mount = mountTmpfs('2m');
      try {
        const root = join(mount.dir, 'game');
        mkdirSync(root);
        mkdirSync(join(root, 'build'));
        for (const [name, content] of Object.entries(OLD)) writeFileSync(join(root, 'build', name), content);
        writeFileSync(join(root, 'build', 'notes.txt'), 'mine');
        let filler: string | undefined;
        const result = await writeBuildOutputs(root, NEW, {
          onStep: (current, name) => {
            if (current === step && filler === undefined && (name === undefined || name === 'asset_table.json'))
              filler = fillDisk(mount.dir);
          },
        }).then(
          () => null,
          (error: { code?: number; data?: unknown }) => error,
        );
        if (filler !== undefined) rmSync(filler);
        if (result !== null) {
          expect(result.code, step).toBe(PackerErrorCodes.WriteFailed);
          expect(result.data, step).toMatchObject({ errno: 'ENOSPC', restored: true });
        }
        await recoverBuildPromotion(root);
        const state = expectWhole(root, step);
        expect(state, step).toBe(result === null ? 'new' : 'old');
      } finally {
        mount.unmount();
      }
    }
  });

  it('a pack into a tmpfs too small for the new pack fails with WriteFailed ENOSPC and changes nothing', async () => {
    requireRoot('it mounts a small tmpfs');
    const mount = mountTmpfs('1m');
    try {
      const root = join(mount.dir, 'game');
      mkdirSync(join(root, 'build'), { recursive: true });
      for (const [name, content] of Object.entries(OLD)) writeFileSync(join(root, 'build', name), content);
      writeFileSync(join(root, 'build', 'notes.txt'), 'mine');
      await expect(
        writeBuildOutputs(root, { ...NEW, 'assets.pa': new Uint8Array(2 * 1024 * 1024) }),
      ).rejects.toMatchObject({
        code: PackerErrorCodes.WriteFailed,
        data: { errno: 'ENOSPC', restored: true },
      });
      expect(expectWhole(root, 'too small')).toBe('old');
    } finally {
      mount.unmount();
    }
  });

  it('recovery puts the old pack back when a crash left build/ moved aside, and removes a half-staged pack', async () => {
    const root = withOld();
    mkdirSync(join(root, '.build-next-aa'));
    writeFileSync(join(root, '.build-next-aa', 'assets.pa'), 'half');
    const { renameSync } = await import('node:fs');
    renameSync(join(root, 'build'), join(root, '.build-previous-aa'));
    expect(await recoverBuildPromotion(root)).toMatchObject({ outcome: 'restored' });
    expect(expectWhole(root, 'recovered')).toBe('old');
  });

  it('opening a project after a crash between the two renames puts the old pack back before the first read', async () => {
    const root = withOld();
    mkdirSync(join(root, 'assets'));
    const { renameSync } = await import('node:fs');
    renameSync(join(root, 'build'), join(root, '.build-previous-bb'));
    const host = new PackerHost({ watcher: null });
    try {
      await host.open(pathToFileURL(root).href);
      expect(buildOf(root)).toEqual(OLD_BUILD);
      expect(readdirSync(root).sort()).toEqual(['assets', 'build']);
    } finally {
      host.dispose();
    }
  });
});
