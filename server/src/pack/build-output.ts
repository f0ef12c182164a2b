/**
 * Writing build artifacts into `build/` as one switch: the new pack is written whole into a fresh sibling
 * folder, then swapped in for the old `build/` by renames of whole folders, so `build/` holds the old
 * pack or the new one, never a mix, at every instant and after a crash at any step.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, cp, link, lstat, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { syncFolder } from '../io/atomic-write.js';
import { isIoError, writeFailed } from '../mutations/execute.js';
import { sha256Hex } from './assets-pa.js';

/** The build folder, relative to the project root. */
export const BUILD_FOLDER = 'build';
/** Prefix of the staging folders older versions made inside `build/`; leftovers are removed. */
export const STAGING_PREFIX = '.staging-';
/** Prefix of the folder (beside `build/`, in the project root) the next pack is written into. */
export const NEXT_PREFIX = '.build-next-';
/** Prefix of the folder (beside `build/`) the old pack waits in while the new one is switched in. */
export const PREVIOUS_PREFIX = '.build-previous-';

/**
 * The steps of one promotion, in order. After `staged` the new pack is complete and flushed in
 * `.build-next-<id>/`; after `old-moved-aside` the old `build/` is `.build-previous-<id>/` (skipped when
 * there was no `build/`); after `switched` the new pack is `build/` (the commit point); after
 * `old-removed` nothing else is left.
 */
export type PromotionStep = 'staged' | 'old-moved-aside' | 'switched' | 'old-removed';

/** What was written for one artifact. */
export interface WrittenArtifact {
  readonly name: string;
  /** Bytes written. */
  readonly size: number;
  /** SHA-256 of the bytes written, lowercase hex. */
  readonly sha256: string;
}

/** Options of {@link writeBuildOutputs}. */
export interface WriteBuildOptions {
  /**
   * Test hook, called after each artifact is staged (`artifact`, with its name) and after each step of
   * the promotion. A throw before `switched` is a failure like any other: the write is undone and
   * `build/` is the old pack. A throw at `switched` or later is rethrown with the new pack in place.
   */
  onStep?(step: 'artifact' | PromotionStep, name?: string): void | Promise<void>;
}

/** What {@link recoverBuildPromotion} found and did. */
export interface PromotionRecovery {
  /** `restored`: the old pack was put back as `build/`; `cleaned`: only leftovers were removed. */
  readonly outcome: 'restored' | 'cleaned' | 'nothing';
  /** The leftover folders removed, relative to the project root. */
  readonly removed: readonly string[];
}

const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function kindOf(path: string): Promise<'absent' | 'folder' | 'link' | 'other'> {
  try {
    const stats = await lstat(path);
    return stats.isDirectory() ? 'folder' : stats.isSymbolicLink() ? 'link' : 'other';
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return 'absent';
    throw error;
  }
}

/** Writes one staged file and flushes it. */
async function writeStaged(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Carries what the old `build/` holds besides the artifacts (a user's notes, a `.gitignore`) into the
 * staged folder, so the switch replaces the artifacts only: files as hard links (copies where links are
 * not possible), folders and links copied as they are, never followed.
 */
async function carryOthers(buildDir: string, staging: string, artifacts: ReadonlySet<string>): Promise<void> {
  for (const entry of await readdir(buildDir, { withFileTypes: true })) {
    if (artifacts.has(entry.name) || entry.name.startsWith(STAGING_PREFIX)) continue;
    const from = join(buildDir, entry.name);
    const to = join(staging, entry.name);
    if (entry.isFile()) {
      try {
        await link(from, to);
        continue;
      } catch (error) {
        if (!['EPERM', 'ENOTSUP', 'EXDEV', 'EMLINK', 'ENOSYS'].includes(errorCode(error) ?? '')) throw error;
      }
      await copyFile(from, to);
    } else {
      await cp(from, to, { recursive: true, verbatimSymlinks: true, dereference: false, preserveTimestamps: true });
    }
  }
}

/**
 * Completes or undoes a promotion a crash interrupted, by this rule: when `build/` is absent and a
 * `.build-previous-<id>/` exists, the crash came between moving the old pack aside and switching the
 * new one in, and the old pack is put back (the pack never answered success). Then every
 * `.build-next-*`, `.build-previous-*` and legacy `build/.staging-*` folder is removed: with `build/`
 * in place they are either an unfinished new pack or an old one already replaced. Runs before every
 * pack (and may run on open); only the project's writer may call it.
 */
export async function recoverBuildPromotion(projectRoot: string): Promise<PromotionRecovery> {
  const buildDir = join(projectRoot, BUILD_FOLDER);
  let names: string[];
  try {
    names = await readdir(projectRoot);
  } catch {
    return { outcome: 'nothing', removed: [] };
  }
  let outcome: PromotionRecovery['outcome'] = 'nothing';
  const previous = names.filter((name) => name.startsWith(PREVIOUS_PREFIX)).sort();
  if ((await kindOf(buildDir)) === 'absent' && previous.length > 0) {
    // Only one promotion runs per project, so there is at most one; the newest by name wins otherwise.
    const restored = previous.pop()!;
    await rename(join(projectRoot, restored), buildDir);
    await syncFolder(projectRoot);
    outcome = 'restored';
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(NEXT_PREFIX) && !(name.startsWith(PREVIOUS_PREFIX) && previous.includes(name))) continue;
    await rm(join(projectRoot, name), { recursive: true, force: true });
    removed.push(name);
  }
  if ((await kindOf(buildDir)) === 'folder') {
    for (const entry of await readdir(buildDir)) {
      if (!entry.startsWith(STAGING_PREFIX)) continue;
      await rm(join(buildDir, entry), { recursive: true, force: true });
      removed.push(`${BUILD_FOLDER}/${entry}`);
    }
  }
  if (removed.length > 0) await syncFolder(projectRoot);
  return { outcome: outcome === 'nothing' && removed.length > 0 ? 'cleaned' : outcome, removed };
}

/**
 * Writes `artifacts` (file name to content) as the new `<projectRoot>/build/`. First a promotion a crash
 * interrupted is recovered ({@link recoverBuildPromotion}). Then every artifact is written and fsynced
 * into a fresh `.build-next-<id>/` beside `build/`, together with hard links to the old `build/`'s other
 * files; the old `build/` is renamed to `.build-previous-<id>/`, the staged folder is renamed to `build/`
 * (the commit point), and the old one is removed. On a failure before the commit point, the old `build/`
 * is put back (or stays absent when there was none), the staged folder goes, and the error is rethrown.
 * Returns what was written, in name order.
 *
 * Artifact names must be plain file names; anything else is a bug in the caller and throws before any
 * file is touched. A `build` that is a symbolic link or a file is refused: the packer does not write
 * through links. Only one writer may run per project (the writer lane guarantees it).
 */
export async function writeBuildOutputs(
  projectRoot: string,
  artifacts: Readonly<Record<string, string | Uint8Array>>,
  options: WriteBuildOptions = {},
): Promise<WrittenArtifact[]> {
  const names = Object.keys(artifacts).sort();
  for (const name of names) {
    if (!ARTIFACT_NAME.test(name))
      throw new TypeError(`writeBuildOutputs: ${JSON.stringify(name)} is not a plain artifact file name.`);
  }
  const buildDir = join(projectRoot, BUILD_FOLDER);
  await recoverBuildPromotion(projectRoot);
  const kind = await kindOf(buildDir);
  if (kind === 'link' || kind === 'other')
    throw Object.assign(
      new Error(`${buildDir} is not a folder (a symbolic link or a file); the packer does not write through it.`),
      { code: 'ENOTDIR', path: buildDir },
    );
  if (kind === 'folder') {
    // An artifact name taken by a folder or a link is the user's, not an old artifact: refuse, touch nothing.
    for (const name of names) {
      const target = await kindOf(join(buildDir, name));
      if (target === 'folder' || target === 'link')
        throw Object.assign(
          new Error(`${join(buildDir, name)} is a ${target}, not a file the packer wrote; move it away.`),
          {
            code: target === 'folder' ? 'EISDIR' : 'ELOOP',
            path: join(buildDir, name),
          },
        );
    }
  }
  const id = randomBytes(8).toString('hex');
  const staging = join(projectRoot, `${NEXT_PREFIX}${id}`);
  const previous = join(projectRoot, `${PREVIOUS_PREFIX}${id}`);
  const written: WrittenArtifact[] = [];
  // Invariant: true once the old build/ has been renamed to `previous` and not yet replaced.
  let movedAside = false;
  // The step running now and the path it writes, for the `WriteFailed` error.
  let step = 'stage';
  let writing = staging;
  try {
    await mkdir(staging);
    for (const name of names) {
      const content = artifacts[name]!;
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      writing = join(staging, name);
      await writeStaged(writing, bytes);
      written.push({ name, size: bytes.length, sha256: sha256Hex(bytes) });
      await options.onStep?.('artifact', name);
    }
    if (kind === 'folder') await carryOthers(buildDir, staging, new Set(names));
    await syncFolder(staging);
    await syncFolder(projectRoot);
    await options.onStep?.('staged');
    step = 'promote';
    writing = buildDir;
    if (kind === 'folder') {
      await rename(buildDir, previous);
      movedAside = true;
      await syncFolder(projectRoot);
      await options.onStep?.('old-moved-aside');
    }
    await rename(staging, buildDir);
    movedAside = false;
  } catch (error) {
    const rolledBack: string[] = [];
    try {
      if (movedAside) {
        await rename(previous, buildDir);
        rolledBack.push('the old build/ put back');
      }
      await rm(staging, { recursive: true, force: true });
      rolledBack.push('the staged pack removed');
      await syncFolder(projectRoot);
    } catch (undoError) {
      if (isIoError(error))
        throw writeFailed(projectRoot, error, step, relative(projectRoot, writing), rolledBack, false);
      throw new Error(
        `Writing build/ failed and putting the old pack back failed too (${undoError instanceof Error ? undoError.message : String(undoError)}); the next pack or open restores it.`,
        { cause: error },
      );
    }
    if (isIoError(error)) throw writeFailed(projectRoot, error, step, relative(projectRoot, writing), rolledBack, true);
    throw error;
  }
  // Committed: build/ is the new pack. What follows only tidies up; a failure leaves a leftover that the
  // next recovery removes, never a wrong build/.
  await syncFolder(projectRoot).catch(() => undefined);
  await options.onStep?.('switched');
  if (kind === 'folder') {
    await rm(previous, { recursive: true, force: true }).catch(() => undefined);
    await options.onStep?.('old-removed');
  }
  return written;
}
