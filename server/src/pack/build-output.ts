/**
 * Writing build artifacts into `build/` as one switch: the new pack is written whole into a fresh sibling
 * folder, then swapped in for the old `build/` by renames of whole folders, so `build/` holds the old
 * pack or the new one, never a mix, at every instant and after a crash at any step.
 */
import { createHash, randomBytes } from 'node:crypto';
import { rootFs, type FolderLocation, type ProjectFs } from '../io/project-fs.js';
import { isIoError, writeFailed } from '../mutations/execute.js';
import { isDerivedArtifact, sha256Hex, type DerivedArtifact, type StreamedArtifact } from './assets-pa.js';
import { yieldToClients } from '../io/turns.js';

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

/**
 * The content of one artifact: text (UTF-8), bytes, pieces written in order and hashed while they are
 * written, or text derived from the SHA-256 of the artifacts written before it (written last).
 */
export type ArtifactContent = string | Uint8Array | StreamedArtifact | DerivedArtifact;

/** Options of {@link writeBuildOutputs}. */
export interface WriteBuildOptions {
  /**
   * Test hook, called after each artifact is staged (`artifact`, with its name) and after each step of
   * the promotion. A throw before `switched` is a failure like any other: the write is undone and
   * `build/` is the old pack. A throw at `switched` or later is rethrown with the new pack in place.
   */
  onStep?(step: 'artifact' | PromotionStep, name?: string): void | Promise<void>;
}

/** Bytes of an artifact hashed between two yields to the event loop (about 2 ms of SHA-256). */
const HASH_SLICE_BYTES = 1024 * 1024;

/**
 * The SHA-256 of `bytes`, hashed in slices with the event loop let run between them: the metadata of a 100k
 * pack is tens of MiB, which hashed at once would hold the main thread for tens of milliseconds.
 */
async function sha256InSlices(bytes: Uint8Array): Promise<string> {
  if (bytes.length <= HASH_SLICE_BYTES) return sha256Hex(bytes);
  const hash = createHash('sha256');
  for (let from = 0; from < bytes.length; from += HASH_SLICE_BYTES) {
    hash.update(bytes.subarray(from, from + HASH_SLICE_BYTES));
    await yieldToClients();
  }
  return hash.digest('hex');
}

/**
 * Whether a promotion left anything behind at the project root (a staged or a moved-aside pack): cheap,
 * one listing, so opening a project can ask before it takes the writer lock to recover.
 */
export function hasInterruptedPromotion(projectRoot: FolderLocation): boolean {
  try {
    return rootFs(projectRoot)
      .listNames('')
      .some((name) => name.startsWith(NEXT_PREFIX) || name.startsWith(PREVIOUS_PREFIX));
  } catch {
    return false;
  }
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

function kindOf(files: ProjectFs, path: string): 'absent' | 'folder' | 'link' | 'other' {
  const kind = files.kind(path);
  return kind === 'file' ? 'other' : kind;
}

/**
 * Carries what the old `build/` holds besides the artifacts (a user's notes, a `.gitignore`) into the
 * staged folder, so the switch replaces the artifacts only: files as hard links (copies where links are
 * not possible), folders and links copied as they are, never followed.
 */
async function carryOthers(files: ProjectFs, staging: string, artifacts: ReadonlySet<string>): Promise<void> {
  for (const entry of files.list(BUILD_FOLDER)) {
    if (artifacts.has(entry.name) || entry.name.startsWith(STAGING_PREFIX)) continue;
    const from = `${BUILD_FOLDER}/${entry.name}`;
    const to = `${staging}/${entry.name}`;
    if (entry.isFile()) {
      try {
        await files.link(from, to);
        continue;
      } catch (error) {
        if (!['EPERM', 'ENOTSUP', 'EXDEV', 'EMLINK', 'ENOSYS'].includes(errorCode(error) ?? '')) throw error;
      }
      await files.copyFile(from, to);
    } else {
      await files.copyTree(from, to);
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
export async function recoverBuildPromotion(projectRoot: FolderLocation): Promise<PromotionRecovery> {
  let files: ProjectFs;
  let names: string[];
  try {
    files = rootFs(projectRoot);
    names = files.listNames('');
  } catch {
    return { outcome: 'nothing', removed: [] };
  }
  let outcome: PromotionRecovery['outcome'] = 'nothing';
  const previous = names.filter((name) => name.startsWith(PREVIOUS_PREFIX)).sort();
  if (kindOf(files, BUILD_FOLDER) === 'absent' && previous.length > 0) {
    // Only one promotion runs per project, so there is at most one; the newest by name wins otherwise.
    const restored = previous.pop()!;
    await files.rename(restored, BUILD_FOLDER);
    await files.syncFolder('');
    outcome = 'restored';
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(NEXT_PREFIX) && !(name.startsWith(PREVIOUS_PREFIX) && previous.includes(name))) continue;
    await files.removeTree(name);
    removed.push(name);
  }
  if (kindOf(files, BUILD_FOLDER) === 'folder') {
    for (const entry of files.listNames(BUILD_FOLDER)) {
      if (!entry.startsWith(STAGING_PREFIX)) continue;
      await files.removeTree(`${BUILD_FOLDER}/${entry}`);
      removed.push(`${BUILD_FOLDER}/${entry}`);
    }
  }
  if (removed.length > 0) await files.syncFolder('');
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
  projectRoot: FolderLocation,
  artifacts: Readonly<Record<string, ArtifactContent>>,
  options: WriteBuildOptions = {},
): Promise<WrittenArtifact[]> {
  const names = Object.keys(artifacts).sort();
  for (const name of names) {
    if (!ARTIFACT_NAME.test(name))
      throw new TypeError(`writeBuildOutputs: ${JSON.stringify(name)} is not a plain artifact file name.`);
  }
  const files = rootFs(projectRoot);
  const rootPath = files.path();
  const buildDir = files.path(BUILD_FOLDER);
  await recoverBuildPromotion(files);
  const kind = kindOf(files, BUILD_FOLDER);
  if (kind === 'link' || kind === 'other')
    throw writeFailed(
      rootPath,
      Object.assign(
        new Error(`${buildDir} is not a folder (a symbolic link or a file); the packer does not write through it.`),
        { code: 'ENOTDIR', path: buildDir },
      ),
      'stage',
      BUILD_FOLDER,
      [],
      true,
    );
  if (kind === 'folder') {
    // An artifact name taken by a folder or a link is the user's, not an old artifact: refuse, touch nothing.
    for (const name of names) {
      const target = kindOf(files, `${BUILD_FOLDER}/${name}`);
      if (target === 'folder' || target === 'link')
        throw Object.assign(
          new Error(
            `${files.path(`${BUILD_FOLDER}/${name}`)} is a ${target}, not a file the packer wrote; move it away.`,
          ),
          {
            code: target === 'folder' ? 'EISDIR' : 'ELOOP',
            path: files.path(`${BUILD_FOLDER}/${name}`),
          },
        );
    }
  }
  const id = randomBytes(8).toString('hex');
  const staging = `${NEXT_PREFIX}${id}`;
  const previous = `${PREVIOUS_PREFIX}${id}`;
  const written: WrittenArtifact[] = [];
  // Invariant: true once the old build/ has been renamed to `previous` and not yet replaced.
  let movedAside = false;
  // The step running now and the path it writes, for the `WriteFailed` error.
  let step = 'stage';
  let writing = staging;
  try {
    await files.makeFolder(staging);
    // Derived artifacts name the SHA-256 of the others, so they come last; the rest in name order.
    const order = [
      ...names.filter((name) => !isDerivedArtifact(artifacts[name])),
      ...names.filter((name) => isDerivedArtifact(artifacts[name])),
    ];
    const sha256Of = (name: string): string => {
      const artifact = written.find((entry) => entry.name === name);
      if (artifact === undefined) throw new Error(`writeBuildOutputs: ${name} is named before it is written.`);
      return artifact.sha256;
    };
    for (const name of order) {
      const content = artifacts[name]!;
      writing = `${staging}/${name}`;
      if (isDerivedArtifact(content)) {
        // Its head was encoded and hashed in slices beforehand; only its short end is made now.
        const tail = Buffer.from(content.tail(sha256Of), 'utf8');
        await files.writeNewFilePieces(writing, [...content.head, tail]);
        const size = content.head.reduce((total, piece) => total + piece.length, tail.length);
        written.push({ name, size, sha256: content.headHash.copy().update(tail).digest('hex') });
      } else if (typeof content === 'object' && !(content instanceof Uint8Array)) {
        // Hashed on the worker while it is written, or on this thread while the disk flushes it: either
        // way read from memory once more, never joined.
        let sha256: string;
        if (content.sha256 !== undefined) {
          await files.writeNewFilePieces(writing, content.pieces);
          sha256 = await content.sha256;
        } else {
          const hash = createHash('sha256');
          await files.writeNewFilePieces(writing, content.pieces, (piece) => hash.update(piece));
          sha256 = hash.digest('hex');
        }
        written.push({ name, size: content.size, sha256 });
      } else {
        const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
        await files.writeNewFile(writing, bytes);
        written.push({ name, size: bytes.length, sha256: await sha256InSlices(bytes) });
      }
      await options.onStep?.('artifact', name);
    }
    written.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (kind === 'folder') await carryOthers(files, staging, new Set(names));
    await files.syncFolder(staging);
    await files.syncFolder('');
    await options.onStep?.('staged');
    step = 'promote';
    writing = BUILD_FOLDER;
    if (kind === 'folder') {
      await files.rename(BUILD_FOLDER, previous);
      movedAside = true;
      await files.syncFolder('');
      await options.onStep?.('old-moved-aside');
    }
    await files.rename(staging, BUILD_FOLDER);
    movedAside = false;
  } catch (error) {
    const rolledBack: string[] = [];
    try {
      if (movedAside) {
        await files.rename(previous, BUILD_FOLDER);
        rolledBack.push('the old build/ put back');
      }
      await files.removeTree(staging);
      rolledBack.push('the staged pack removed');
      await files.syncFolder('');
    } catch (undoError) {
      if (isIoError(error)) throw writeFailed(rootPath, error, step, writing, rolledBack, false);
      // The write's own failure is the cause worth chaining; the undo's failure is named in the message.
      throw new Error(
        `Writing build/ failed and putting the old pack back failed too (${undoError instanceof Error ? undoError.message : String(undoError)}); the next pack or open restores it.`,
        // eslint-disable-next-line preserve-caught-error
        { cause: error },
      );
    }
    if (isIoError(error)) throw writeFailed(rootPath, error, step, writing, rolledBack, true);
    throw error;
  }
  // Committed: build/ is the new pack. What follows only tidies up; a failure leaves a leftover that the
  // next recovery removes, never a wrong build/.
  await files.syncFolder('').catch(() => undefined);
  await options.onStep?.('switched');
  if (kind === 'folder') {
    await files.removeTree(previous).catch(() => undefined);
    await options.onStep?.('old-removed');
  }
  return written;
}
