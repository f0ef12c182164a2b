/**
 * Writing build artifacts into `build/`: every file is staged and flushed first, then promoted by renames,
 * so a failure leaves `build/` as it was and a success replaces each artifact whole.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, lstat, mkdir, open, readdir, rename, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { syncFolder } from '../io/atomic-write.js';
import { sha256Hex } from './assets-pa.js';

/** The build folder, relative to the project root. */
export const BUILD_FOLDER = 'build';
/** Prefix of staging folders inside `build/`; a leftover one (from a crash) is removed by the next write. */
export const STAGING_PREFIX = '.staging-';

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
   * Called after each artifact is staged (flushed in the staging folder) and after each is promoted into
   * `build/`. A throw from it is a failure like any other: the write is undone.
   */
  onStep?(step: 'staged' | 'promoted', name: string): void | Promise<void>;
}

const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
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

/** Keeps a copy of `target` at `backup`: a hard link when the file system allows, else a copy. */
async function keepPrevious(target: string, backup: string): Promise<boolean> {
  try {
    await link(target, backup);
    return true;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return false;
    if (!['EPERM', 'ENOTSUP', 'EXDEV', 'EMLINK', 'ENOSYS'].includes(errorCode(error) ?? '')) throw error;
  }
  await copyFile(target, backup);
  return true;
}

/**
 * Writes `artifacts` (file name to content) into `<projectRoot>/build/`. Every artifact is first written
 * and fsynced in a fresh `build/.staging-<random>/` folder; then each existing target is kept aside, each
 * staged file is renamed over its target (in name order), and `build/` is fsynced. On any failure the
 * promoted files are put back (or removed when they are new), the staging folder is removed, a `build/`
 * created by this call is removed again, and the error is rethrown. Returns what was written, in name order.
 *
 * Artifact names must be plain file names; anything else is a bug in the caller and throws before any
 * file is touched. Only one writer may run per project (the writer lane guarantees it).
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
  const created = !(await exists(buildDir));
  if (created) await mkdir(buildDir);
  else await removeLeftoverStaging(buildDir);
  const staging = join(buildDir, `${STAGING_PREFIX}${randomBytes(8).toString('hex')}`);
  const previous = join(staging, '.previous');
  const written: WrittenArtifact[] = [];
  // Invariant: the names already renamed into build/, each with whether a previous version was kept aside.
  const promoted: { name: string; kept: boolean }[] = [];
  try {
    await mkdir(staging);
    for (const name of names) {
      const content = artifacts[name]!;
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
      await writeStaged(join(staging, name), bytes);
      written.push({ name, size: bytes.length, sha256: sha256Hex(bytes) });
      await options.onStep?.('staged', name);
    }
    await syncFolder(staging);
    await mkdir(previous);
    const kept = new Map<string, boolean>();
    for (const name of names) kept.set(name, await keepPrevious(join(buildDir, name), join(previous, name)));
    for (const name of names) {
      await rename(join(staging, name), join(buildDir, name));
      promoted.push({ name, kept: kept.get(name)! });
      await options.onStep?.('promoted', name);
    }
    await syncFolder(buildDir);
  } catch (error) {
    try {
      await undo(buildDir, previous, promoted, error);
    } finally {
      await rm(staging, { recursive: true, force: true });
      if (created) await rmdir(buildDir).catch(() => undefined);
    }
    throw error;
  }
  await rm(staging, { recursive: true, force: true });
  return written;
}

/** Puts back what a failed promotion replaced. Throws, with the original failure as cause, if that fails too. */
async function undo(
  buildDir: string,
  previous: string,
  promoted: readonly { name: string; kept: boolean }[],
  failure: unknown,
): Promise<void> {
  if (promoted.length === 0) return;
  try {
    for (const { name, kept } of [...promoted].reverse()) {
      if (kept) await rename(join(previous, name), join(buildDir, name));
      else await unlink(join(buildDir, name));
    }
    await syncFolder(buildDir);
  } catch (undoError) {
    throw new Error(
      `Writing build/ failed and restoring its previous files failed too (${undoError instanceof Error ? undoError.message : String(undoError)}); the next pack rewrites every artifact.`,
      { cause: failure },
    );
  }
}

/** Removes staging folders a crashed write left behind. */
async function removeLeftoverStaging(buildDir: string): Promise<void> {
  for (const entry of await readdir(buildDir)) {
    if (entry.startsWith(STAGING_PREFIX)) await rm(join(buildDir, entry), { recursive: true, force: true });
  }
}
