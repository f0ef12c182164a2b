/**
 * Performing a mutation's effect durably. Single-file effects (the registry alone, or one existing file
 * replaced) are one atomic write. Effects that touch several files are journaled: the journal (every action,
 * plus the registry's change as a patch of the entries it changes, see {@link JournalV2}) is made durable
 * first, then the actions run, then the registry is written, then the journal goes. On the next open, a
 * journal left by a crash is rolled forward to "after"; if that is impossible (the disk changed in between),
 * what was done is rolled back to "before". Either way no write is left half done.
 *
 * Why a patch and not both whole texts: at 100k roots a relocate's journal held two 16 MiB registry texts,
 * escaped as JSON strings, written and flushed before the folder moved. The patch holds the entries the
 * commit changes; recovery rebuilds "after" from the registry on disk (as "before") with the canonical
 * serialiser, which gives the very bytes the commit writes because "before" was canonical (checked; a
 * non-canonical "before" is journaled whole, as format 1 did). A rollback never needs "before" rebuilt: the
 * registry is renamed into place only after every action is durable, so a registry still as "before" is
 * what a rollback leaves, and one as "after" means the commit is complete. A hash of each text was weighed
 * and rejected: SHA-256 of 16 MiB costs about 80 ms here, as much as the registry write itself.
 *
 * What is flushed, counted with `strace -f` on a relocate: the journal file and `.prometeu` (the journal
 * must be durable before the folder moves), the registry's temporary file (beside the journal, in parallel),
 * the folders of each action (side by side), `.prometeu` after the registry's rename. Not flushed: the
 * journal's removal (see {@link pendingRemovals}). Format 1 flushed six times in sequence; this flushes
 * five, in three rounds. A register flushes its temporary file and `.prometeu`, as the floor does.
 */
import { Buffer } from 'node:buffer';
import { dirname, posix, relative } from 'node:path';
import { PackerErrorCodes } from '@prometeu/packer-protocol';
import type { RegistryFile } from '@prometeu/packer-protocol';
import {
  applyRegistryPatch,
  isEmptyPatch,
  parseRegistry,
  patchSideOf,
  registryPatch,
  REGISTRY_PATH,
  serializeRegistry,
  serializeRegistryPieces,
  type RegistryPatch,
} from '../domain/registry.js';
import { PackerError } from '../errors.js';
import { isProcessAlive } from '../io/process.js';
import { folderFs, type FolderLocation, type PreparedFile, type ProjectFs } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import type { FileAction } from './effects.js';
import { yieldToClients } from '../io/turns.js';

/** The journal, relative to `assets/`. */
export const JOURNAL_PATH = '.prometeu/journal.json';
/** Where deleted folders wait until the commit is complete, relative to `assets/`. */
export const TRASH_FOLDER = '.prometeu/trash';

/** What every journal holds. */
interface JournalBase {
  readonly operationId: string;
  readonly actions: readonly FileAction[];
  /**
   * The folders (relative to `assets/`, shallowest first) that did not exist when the journal was written
   * and that the actions create as parents of what they write or move; a rollback removes those it left
   * empty, so "before" is exactly before. Absent in journals written before this field existed.
   */
  readonly createdFolders?: readonly string[];
}

/**
 * The first format: the whole registry text before and after. Still written when a patch cannot say the
 * change (see {@link journalOf}), and read because a previous version may have left one on a user's disk.
 */
interface JournalV1 extends JournalBase {
  readonly version: 1;
  readonly registryBefore: string | null;
  readonly registryAfter: string | null;
}

/**
 * The second format: the registry's change as the entries it removes and adds ({@link RegistryPatch}),
 * null when the registry does not change. Recovery reads the registry on disk, tells by the patched entries
 * whether it is as before or as after, and rebuilds the other side from it: "before" was canonical (else
 * {@link journalOf} writes the first format), so the rebuilt text is byte for byte the one committed.
 */
interface JournalV2 extends JournalBase {
  readonly version: 2;
  readonly registry: RegistryPatch | null;
}

/** What is journaled. */
type Journal = JournalV1 | JournalV2;

/** The disk no longer matches what the plan was computed from; nothing was changed. */
export class DiskChangedError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'DiskChangedError';
  }
}

/** What recovery found and did. */
export interface RecoveryReport {
  readonly operationId: string;
  readonly outcome: 'completed' | 'rolledBack' | 'failed' | 'pending';
  readonly message: string;
  /**
   * With outcome `failed`: where the journal that could be neither replayed nor rolled back was moved
   * (relative to `assets/`, `.prometeu/journal-unrecoverable-<time>.json`), so that later writes work; a
   * `journal-unrecoverable` diagnostic names it until a person removes it.
   */
  readonly setAside?: string;
}

/**
 * Errors that say the disk refuses writes for now (read-only, full, over quota, no permission), not that
 * the journal can never be replayed: its journal stays in place, to be finished once the disk is writable.
 */
const REFUSED_DISK = new Set(['EROFS', 'ENOSPC', 'EDQUOT', 'EACCES', 'EPERM']);

/** Whether `error` says the disk refuses writes for now (see {@link REFUSED_DISK}). */
function refusesWrites(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && REFUSED_DISK.has(code);
}

/** Prefix of journals recovery could not replay, moved aside in `assets/.prometeu/`. */
export const UNRECOVERABLE_JOURNAL_PREFIX = 'journal-unrecoverable-';

/** The `WriteFailed` error: an I/O failure in a commit, after which the disk was put back as it was. */
export type WriteFailedError = PackerError<typeof PackerErrorCodes.WriteFailed>;

/**
 * Builds the `WriteFailed` error for an I/O failure at `step`. `projectRoot` is the folder paths in `data`
 * are made relative to (the error's own path when it has one, else `fallbackPath`).
 */
export function writeFailed(
  projectRoot: string,
  error: unknown,
  step: string,
  fallbackPath: string,
  rolledBack: readonly string[],
  restored: boolean,
): WriteFailedError {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
  const rawPath = (error as NodeJS.ErrnoException | undefined)?.path;
  const path = rawPath !== undefined ? relative(projectRoot, rawPath) || '.' : fallbackPath;
  const cause = error instanceof Error ? error.message : String(error);
  return new PackerError(
    PackerErrorCodes.WriteFailed,
    restored
      ? `Writing ${path} failed (${errno}) at step ${step}; everything this request had changed was rolled back (${rolledBack.length} steps), so the disk is as it was.`
      : `Writing ${path} failed (${errno}) at step ${step}, and undoing it failed too; the journal stays and the next write or open finishes the rollback.`,
    { path, cause, errno, step, rolledBack: [...rolledBack], restored },
  );
}

/** Whether an error is an I/O failure (it carries an errno code) rather than a bug. */
export function isIoError(error: unknown): boolean {
  return typeof (error as NodeJS.ErrnoException | undefined)?.code === 'string' && !(error instanceof PackerError);
}

function describeAction(action: FileAction): string {
  return action.kind === 'moveFolder' ? `moveFolder ${action.from} -> ${action.to}` : `${action.kind} ${action.path}`;
}

/** Test hook: called after each durable step, so crash tests can stop the process at every instant. */
export type StepHook = (step: string) => void;

function isFolder(assets: ProjectFs, path: string): boolean {
  try {
    return assets.kind(path) === 'folder';
  } catch {
    return false;
  }
}

/** The most bytes read back of a file a journaled action writes (an `asset.json`) or of the registry. */
function limitOf(path: string): number {
  return path === REGISTRY_PATH ? SIZE_LIMITS.registry : SIZE_LIMITS.declaration;
}

function readText(assets: ProjectFs, path: string): string | null {
  try {
    return assets.readText(path, limitOf(path));
  } catch {
    return null;
  }
}

/**
 * Identity, size and modification time of `path` (relative to `assets`), or null when absent: a cheap
 * "did it change" test.
 */
export function stampOf(assets: FolderLocation, path: string): string | null {
  try {
    const stats = folderFs(assets).bigStat(path);
    return stats === null ? null : `${stats.ino}:${stats.size}:${stats.mtimeNs}`;
  } catch {
    return null;
  }
}

function trashPath(operationId: string, index: number): string {
  return `${TRASH_FOLDER}/${operationId.replace(/[^A-Za-z0-9_.-]/g, '_')}/${index}`;
}

/**
 * Checks on disk that every action can run: files to create are absent, files to modify still hold the
 * text the plan saw, folders to move or delete exist and are folders, destinations are absent, nothing
 * leads out of `assets/`, and the registry still holds `registryBefore`.
 */
export function checkPreconditions(
  assetsDir: FolderLocation,
  actions: readonly FileAction[],
  registryBefore: RegistryContent | null,
  checkRegistry: boolean,
  registryStamp?: string,
): void {
  const assets = folderFs(assetsDir);
  // The stamp of the registry as last read or written: when it still matches, the text does too.
  if (
    checkRegistry &&
    (registryStamp === undefined || stampOf(assets, REGISTRY_PATH) !== registryStamp) &&
    readText(assets, REGISTRY_PATH) !== registryTextOf(registryBefore)
  ) {
    throw new DiskChangedError(
      `.prometeu/index.json`,
      'assets/.prometeu/index.json changed on disk since the snapshot was taken.',
    );
  }
  for (const action of actions) {
    const paths = action.kind === 'moveFolder' ? [action.from, action.to] : [action.path];
    for (const path of paths)
      if (!assets.isConfined(path))
        throw new DiskChangedError(path, `${path} leads out of assets/ through a symbolic link.`);
    switch (action.kind) {
      case 'writeFile': {
        const current = readText(assets, action.path);
        if (action.before === null ? assets.exists(action.path) : current !== action.before) {
          throw new DiskChangedError(
            action.path,
            `${action.path} ${action.before === null ? 'now exists' : 'changed on disk'} since the snapshot was taken.`,
          );
        }
        break;
      }
      case 'moveFolder':
        if (!isFolder(assets, action.from))
          throw new DiskChangedError(action.from, `${action.from} is no longer a folder on disk.`);
        if (assets.exists(action.to)) throw new DiskChangedError(action.to, `${action.to} now exists on disk.`);
        break;
      case 'deleteFolder':
        if (!isFolder(assets, action.path))
          throw new DiskChangedError(action.path, `${action.path} is no longer a folder on disk.`);
        break;
    }
  }
}

/**
 * Moves `from` to `to` (relative to `assets/`) and flushes both folders. The confined file system makes the
 * missing parents one component at a time and checks that the destination is still inside the project
 * after the rename (else it undoes it and fails with `EOUTSIDE`), so a link swapped in on the way cannot
 * carry the folder out.
 */
async function moveDurably(assets: ProjectFs, from: string, to: string): Promise<void> {
  await assets.makeFolders(posix.dirname(to) === '.' ? '' : posix.dirname(to));
  await assets.rename(from, to);
  const fromFolder = posix.dirname(from) === '.' ? '' : posix.dirname(from);
  const toFolder = posix.dirname(to) === '.' ? '' : posix.dirname(to);
  // Both folders' flushes are independent of each other: they run side by side.
  await Promise.all([assets.syncFolder(fromFolder), fromFolder !== toFolder ? assets.syncFolder(toFolder) : null]);
}

/** Does one action unless the disk shows it done; returns false when it can be neither. */
async function rollForward(assets: ProjectFs, journal: Journal, index: number): Promise<boolean> {
  const action = journal.actions[index]!;
  switch (action.kind) {
    case 'writeFile': {
      const current = readText(assets, action.path);
      if (current === action.content) return true;
      if (action.before === null ? assets.exists(action.path) : current !== action.before) return false;
      await assets.writeFileAtomic(action.path, action.content, { createParents: true });
      return true;
    }
    case 'moveFolder': {
      const from = assets.exists(action.from);
      const to = assets.exists(action.to);
      if (!from && to) return true;
      if (!from || to) return false;
      await moveDurably(assets, action.from, action.to);
      return true;
    }
    case 'deleteFolder': {
      const trash = trashPath(journal.operationId, index);
      if (!assets.exists(action.path)) return true;
      if (assets.exists(trash)) return false;
      await moveDurably(assets, action.path, trash);
      return true;
    }
  }
}

/** Undoes one action if the disk shows it done. */
async function rollBack(assets: ProjectFs, journal: Journal, index: number): Promise<void> {
  const action = journal.actions[index]!;
  switch (action.kind) {
    case 'writeFile':
      if (readText(assets, action.path) !== action.content) return;
      if (action.before === null) await assets.unlink(action.path);
      else await assets.writeFileAtomic(action.path, action.before);
      return;
    case 'moveFolder':
      if (assets.exists(action.to) && !assets.exists(action.from)) await moveDurably(assets, action.to, action.from);
      return;
    case 'deleteFolder': {
      const trash = trashPath(journal.operationId, index);
      if (assets.exists(trash) && !assets.exists(action.path)) await moveDurably(assets, trash, action.path);
      return;
    }
  }
}

/** The missing parent folders of every destination of `actions`, shallowest first (see {@link Journal.createdFolders}). */
function foldersToCreate(assets: ProjectFs, actions: readonly FileAction[]): string[] {
  const missing = new Set<string>();
  for (const action of actions) {
    const destination = action.kind === 'writeFile' ? action.path : action.kind === 'moveFolder' ? action.to : null;
    if (destination === null) continue;
    for (
      let folder = posix.dirname(destination);
      folder !== '.' && folder !== '/' && !assets.exists(folder);
      folder = posix.dirname(folder)
    )
      missing.add(folder);
  }
  return [...missing].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : a > b ? 1 : 0));
}

/** After a rollback: removes the folders the journaled actions created, deepest first, where they are empty. */
async function removeCreatedFolders(assets: ProjectFs, journal: Journal): Promise<void> {
  for (const folder of [...(journal.createdFolders ?? [])].reverse()) {
    try {
      await assets.removeFolder(folder);
      await assets.syncFolder(posix.dirname(folder) === '.' ? '' : posix.dirname(folder));
    } catch {
      // Not empty (someone put something there since) or already gone: it stays as it is.
    }
  }
}

/**
 * Removes the journal (and the trash of its deleted folders). Recovery and rollbacks flush the removal; a
 * commit that ran through passes `committed`: then the trash is looked at only when an action deleted a
 * folder, and when the journal's registry patch is on disk as "after" the removal is not flushed here (see
 * {@link pendingRemovals}).
 */
async function finish(
  assets: ProjectFs,
  journal: Journal,
  hook?: StepHook,
  committed?: { readonly flush: boolean },
): Promise<void> {
  if (committed === undefined || journal.actions.some((action) => action.kind === 'deleteFolder')) {
    await assets.removeTree(`${TRASH_FOLDER}/${journal.operationId.replace(/[^A-Za-z0-9_.-]/g, '_')}`);
    try {
      // The trash folder exists only while a commit needs it.
      await assets.removeFolder(TRASH_FOLDER);
    } catch {
      // Absent, or holding what another operation's journal still needs.
    }
  }
  await assets.unlink(JOURNAL_PATH);
  if (committed === undefined || committed.flush) await assets.syncFolder('.prometeu');
  else pendingRemovals.add(assets.path());
  hook?.('journal-removed');
}

/**
 * The `assets/` folders (absolute paths) whose last commit removed its journal without flushing
 * `.prometeu`: its removal may not survive a power failure yet. That is safe while nothing else changed:
 * the journal's registry patch is on disk as "after", and recovery then only removes the journal (see
 * {@link replayJournal}). So the next commit of that folder makes the removal durable before its own first
 * rename: a journaled one by flushing its new journal (which replaces the name), a single-file one by
 * flushing `.prometeu` while its temporary file is flushed. Invariant: a path is removed from the set only
 * once a flush of its `.prometeu` that began after the removal completed.
 */
const pendingRemovals = new Set<string>();

/**
 * The last two registry texts found canonical, newest last (texts read from disk; what a commit wrote is a
 * {@link CanonicalRegistry}, canonical by construction). A journal may record a patch instead of the whole
 * text only when "before" is canonical.
 */
const knownCanonical: string[] = [];

function rememberCanonical(text: string): void {
  knownCanonical.push(text);
  if (knownCanonical.length > 2) knownCanonical.shift();
}

/**
 * A registry's canonical serialisation as a commit writes it: the bytes, with the text decoded only when
 * something asks for it (a changed stamp, a whole-text journal, a reload, the watcher's comparison).
 */
export class CanonicalRegistry {
  /** Invariant: decoded from {@link pieces} on first use, then kept. */
  #text: string | undefined;
  constructor(
    /** The registry the pieces serialise. */
    readonly registry: RegistryFile,
    /** In order, exactly the bytes of `serializeRegistry(registry)`; written as they are, never joined. */
    readonly pieces: readonly Uint8Array[],
  ) {}
  /** The text of {@link pieces}. */
  text(): string {
    return (this.#text ??= Buffer.concat(this.pieces).toString('utf8'));
  }
}

/** The registry's content as a commit knows it: its text, or the canonical bytes a commit wrote. */
export type RegistryContent = string | CanonicalRegistry;

/** The text of `content`. */
export function registryTextOf(content: RegistryContent): string;
export function registryTextOf(content: RegistryContent | null): string | null;
export function registryTextOf(content: RegistryContent | null): string | null {
  return content === null || typeof content === 'string' ? content : content.text();
}

/** What writing `content` writes: the text, or the bytes without decoding them. */
function dataOf(content: RegistryContent): string | readonly Uint8Array[] {
  return typeof content === 'string' ? content : content.pieces;
}

/**
 * Serialises `registry` for a commit (see {@link serializeRegistry}) as pieces of cached bytes per run of
 * entries: no 16 MiB string is joined and encoded again on the main thread per commit, and what must be
 * encoded (every run, on the first commit after an open) is encoded in slices with a turn of the event loop
 * between them.
 */
export async function serializeCommittedRegistry(registry: RegistryFile): Promise<CanonicalRegistry> {
  return new CanonicalRegistry(registry, await serializeRegistryPieces(registry, yieldToClients));
}

/** Whether `text` is exactly the canonical serialisation of `registry` (serialised once per new text). */
function isCanonicalText(registry: RegistryFile, content: RegistryContent): boolean {
  // Bytes a commit serialised from this very registry object are canonical by construction.
  if (content instanceof CanonicalRegistry) {
    if (content.registry === registry) return true;
    content = content.text();
  }
  const text = content;
  // The same string object compares in constant time; an equal copy, in one pass.
  if (knownCanonical.some((known) => known === text)) return true;
  if (serializeRegistry(registry) !== text) return false;
  rememberCanonical(text);
  return true;
}

/**
 * The journal of a commit: the second format, with the registry's change as a patch, when the registry does
 * not change or when both registries are known, "before" is canonical and a non-empty patch says the change;
 * else the first format, with both whole texts.
 */
function journalOf(
  assets: ProjectFs,
  operationId: string,
  actions: readonly FileAction[],
  registryBefore: RegistryContent | null,
  registryAfter: RegistryContent | null,
  registries: CommittedRegistries | undefined,
): Journal {
  const createdFolders = foldersToCreate(assets, actions);
  if (registryAfter === null) return { version: 2, operationId, actions, createdFolders, registry: null };
  const before = registries?.before ?? null;
  const after = registries?.after ?? null;
  if (before !== null && after !== null && registryBefore !== null && isCanonicalText(before, registryBefore)) {
    const patch = registryPatch(before, after);
    if (patch !== null && !isEmptyPatch(patch))
      return { version: 2, operationId, actions, createdFolders, registry: patch };
  }
  return {
    version: 1,
    operationId,
    actions,
    registryBefore: registryTextOf(registryBefore),
    registryAfter: registryTextOf(registryAfter),
    createdFolders,
  };
}

/** The registries a commit goes between, as parsed objects: what lets its journal record a patch. */
export interface CommittedRegistries {
  /** The registry the snapshot holds (parsed from `registryBefore`), or null when absent or untrusted. */
  readonly before: RegistryFile | null;
  /** The registry `registryAfter` serialises, or null when the registry does not change. */
  readonly after: RegistryFile | null;
  /** False to journal even a single-file write (after `.prometeu` proved to be on another file system). */
  readonly single?: boolean;
}

/**
 * Performs `actions` and writes `registryAfter` (when not null) durably. Throws {@link DiskChangedError}
 * before touching anything when a precondition fails. An I/O failure at any step (ENOSPC, EROFS,
 * ENAMETOOLONG, EACCES, a vanished folder) is rolled back inside this call: the actions done are undone in
 * reverse order, the folders created are removed, the journal goes, and a `WriteFailed` error says what
 * failed and what was undone. Only when undoing fails too does the journal stay, for the next recovery.
 *
 * What is durable when, and why no more is flushed:
 * - A commit that writes one file (the registry alone, or one existing file replaced) needs no journal: the
 *   atomic rename is all or nothing. Its temporary file is flushed, renamed, and its folder flushed.
 * - Otherwise the journal is written and flushed (file and folder) before anything it names changes; the
 *   registry's temporary file is written and flushed at the same time, beside it (it is invisible until
 *   renamed, and recovery removes it after a crash). Each action is durable (its folders flushed) before
 *   the next one starts and before the registry is renamed into place, so a registry on disk as "after"
 *   proves every action durable. That is what lets a second-format journal with a registry patch be
 *   removed without flushing `.prometeu` (see {@link pendingRemovals}); `registries` enables that format.
 */
export async function executeEffect(
  assetsDir: FolderLocation,
  operationId: string,
  actions: readonly FileAction[],
  registryBefore: RegistryContent | null,
  registryAfter: RegistryContent | null,
  hook?: StepHook,
  registryStamp?: string,
  registries?: CommittedRegistries,
): Promise<void> {
  const assets = folderFs(assetsDir);
  checkPreconditions(assets, actions, registryBefore, registryAfter !== null, registryStamp);
  const projectRoot = dirname(assets.path());
  const registryShown = `assets/${REGISTRY_PATH}`;
  const pendingKey = assets.path();
  const single = registries?.single === false ? null : singleFileWrite(assets, actions, registryAfter);
  if (single !== null) {
    let prepared: PreparedFile | undefined;
    try {
      // A journal removal left unflushed by the previous commit is made durable before this rename.
      const flushed = pendingRemovals.has(pendingKey);
      [prepared] = await Promise.all([
        // Staged in `.prometeu`, where every open removes a crashed writer's temporary files.
        assets.prepareFileAtomic(
          single.path,
          single.content,
          posix.dirname(single.path) === '.prometeu' ? {} : { stageIn: '.prometeu' },
        ),
        flushed ? assets.syncFolder('.prometeu') : null,
      ]);
      if (flushed) pendingRemovals.delete(pendingKey);
      await prepared.commit();
    } catch (error) {
      await prepared?.abandon();
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      // `.prometeu` on another file system than the file (a mount inside assets/): the journal's way.
      if (code === 'EXDEV')
        return executeEffect(assetsDir, operationId, actions, registryBefore, registryAfter, hook, registryStamp, {
          ...(registries ?? { before: null, after: null }),
          single: false,
        });
      // One atomic write: when it fails, the old file is still in place.
      if (isIoError(error)) {
        const shown = single.path === REGISTRY_PATH ? registryShown : `assets/${single.path}`;
        throw writeFailed(projectRoot, error, single.path === REGISTRY_PATH ? 'registry' : 'action-0', shown, [], true);
      }
      throw error;
    }
    // The commit's one write is in place: the last step, as the registry's is for a journaled commit.
    hook?.('registry-written');
    return;
  }
  if (actions.length === 0) {
    hook?.('registry-written');
    return;
  }
  const journal = journalOf(assets, operationId, actions, registryBefore, registryAfter, registries);
  let prepared: PreparedFile | null = null;
  try {
    // The journal and the registry's temporary file are written and flushed side by side.
    const [written, registryFile] = await Promise.allSettled([
      assets.writeFileAtomic(JOURNAL_PATH, JSON.stringify(journal), { createParents: true }),
      registryAfter !== null ? assets.prepareFileAtomic(REGISTRY_PATH, dataOf(registryAfter)) : Promise.resolve(null),
    ]);
    // When the temporary file could not be made, the registry is written whole at its step instead.
    if (registryFile.status === 'fulfilled') prepared = registryFile.value;
    if (written.status === 'rejected') {
      // Nothing ran yet; the atomic write removed its temporary file.
      await prepared?.abandon();
      const error: unknown = written.reason;
      if (isIoError(error)) throw writeFailed(projectRoot, error, 'journal', `assets/${JOURNAL_PATH}`, [], true);
      throw error;
    }
    // The new journal replaced the name, flushed: an earlier unflushed removal cannot come back.
    pendingRemovals.delete(pendingKey);
    await runJournaled(assets, journal, { before: registryBefore, after: registryAfter, prepared }, projectRoot, hook);
  } finally {
    // Put in place by the registry step, or abandoned here (a failure, or a crash simulated by the hook).
    await prepared?.abandon();
  }
}

/**
 * The one file a commit writes when it needs no journal: the registry alone, or one existing file replaced
 * (its temporary file is staged in `.prometeu`, so that must exist).
 */
function singleFileWrite(
  assets: ProjectFs,
  actions: readonly FileAction[],
  registryAfter: RegistryContent | null,
): { readonly path: string; readonly content: string | readonly Uint8Array[] } | null {
  if (actions.length === 0)
    return registryAfter !== null ? { path: REGISTRY_PATH, content: dataOf(registryAfter) } : null;
  const only = actions[0]!;
  if (
    actions.length === 1 &&
    registryAfter === null &&
    only.kind === 'writeFile' &&
    only.before !== null &&
    assets.exists('.prometeu')
  )
    return { path: only.path, content: only.content };
  return null;
}

/** The journaled part of {@link executeEffect}, once the journal is durable. */
async function runJournaled(
  assets: ProjectFs,
  journal: Journal,
  registry: {
    readonly before: RegistryContent | null;
    readonly after: RegistryContent | null;
    readonly prepared: PreparedFile | null;
  },
  projectRoot: string,
  hook: StepHook | undefined,
): Promise<void> {
  const actions = journal.actions;
  const { before: beforeText, after: registryAfter, prepared } = registry;
  const registryShown = `assets/${REGISTRY_PATH}`;
  let step = 'action-0';
  // Invariant: the index of the action running now (or actions.length once the registry is being written).
  let index = 0;
  try {
    hook?.('journal-written');
    for (; index < actions.length; index++) {
      step = `action-${index}`;
      if (!(await rollForward(assets, journal, index))) {
        // Checked a moment ago; something raced us. Undo what was done and report it.
        for (let undo = index - 1; undo >= 0; undo--) await rollBack(assets, journal, undo);
        await removeCreatedFolders(assets, journal);
        await finish(assets, journal);
        const action = actions[index]!;
        const path = action.kind === 'moveFolder' ? action.from : action.path;
        throw new DiskChangedError(path, `${path} changed on disk while the mutation ran; it was rolled back.`);
      }
      hook?.(`action-${index}`);
    }
    step = 'registry';
    if (registryAfter !== null) {
      if (prepared !== null) await prepared.commit();
      else await assets.writeFileAtomic(REGISTRY_PATH, dataOf(registryAfter));
    }
  } catch (error) {
    if (!isIoError(error)) throw error;
    const fallback = step === 'registry' ? registryShown : `assets/${describeAction(actions[index]!)}`;
    const rolledBack: string[] = [];
    try {
      // The registry first (it is "after" only when its rename went through and the flush failed): while
      // any action is still done, a registry on disk as "after" must mean every action is.
      if (step === 'registry' && beforeText !== null && readText(assets, REGISTRY_PATH) !== registryTextOf(beforeText))
        await assets.writeFileAtomic(REGISTRY_PATH, dataOf(beforeText));
      // The failing action itself is undone too when the disk shows it done (rollBack checks).
      for (let undo = Math.min(index, actions.length - 1); undo >= 0; undo--) {
        await rollBack(assets, journal, undo);
        rolledBack.push(describeAction(actions[undo]!));
      }
      await removeCreatedFolders(assets, journal);
      await finish(assets, journal);
    } catch {
      throw writeFailed(projectRoot, error, step, fallback, rolledBack, false);
    }
    hook?.('rolled-back');
    throw writeFailed(projectRoot, error, step, fallback, rolledBack, true);
  }
  hook?.('registry-written');
  await finish(assets, journal, hook, { flush: !(journal.version === 2 && journal.registry !== null) });
}

/** The names `writeFileAtomic` gives its temporary files: `.<name>.<pid>.<12 hex digits>.tmp`. */
const TEMPORARY_NAME = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/**
 * Removes from `folder` (relative to `assets`) the temporary files of atomic writes whose process is gone
 * (it died between writing the temporary file and renaming it into place). Files of live processes, this
 * one included, are never touched, so this is safe whoever holds the writer lock. Returns the names removed.
 */
export function removeStaleTemporaryFiles(assets: FolderLocation, folder: string): string[] {
  const within = folderFs(assets);
  let names: string[];
  try {
    names = within.listNames(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMPORARY_NAME.exec(name);
    if (match === null || isProcessAlive(Number(match[1]))) continue;
    try {
      within.unlinkSync(folder === '' ? name : `${folder}/${name}`);
      removed.push(name);
    } catch {
      // Already gone.
    }
  }
  return removed;
}

/** The writer lock as recovery at open uses it (`WriterLock`). */
export interface RecoveryLock {
  /** Takes the lock; throws an I/O error when the lock file cannot be created (a read-only disk). */
  acquire(): { readonly ok: boolean };
  release(): void;
}

/**
 * Takes `lock` for a recovery at open: true when taken, false when another live packer holds it or the
 * disk refuses to create the lock file (a read-only disk then opens the project without recovering).
 */
export function claimForRecovery(lock: RecoveryLock): boolean {
  try {
    return lock.acquire().ok;
  } catch (error) {
    if (isIoError(error)) return false;
    throw error;
  }
}

/**
 * Recovery when a project opens with a journal on disk: takes the writer lock, finishes or undoes the
 * interrupted write and releases the lock. Returns null when another live packer holds the lock (the
 * journal is its write in progress). When the disk refuses writes (the lock cannot even be created, or
 * replaying fails with EROFS, ENOSPC, EDQUOT, EACCES or EPERM), the project still opens: the journal stays
 * where it is and the report says `pending`; the snapshot then carries the `journal-pending` diagnostic.
 */
export async function recoverJournalAtOpen(
  assetsDir: FolderLocation,
  lock: RecoveryLock,
): Promise<RecoveryReport | null> {
  const assets = folderFs(assetsDir);
  let acquired: boolean;
  try {
    acquired = lock.acquire().ok;
  } catch (error) {
    if (!isIoError(error)) throw error;
    return pendingReport(assets, error);
  }
  if (!acquired) return null;
  try {
    return await recoverJournal(assets, { whenRefused: 'report' });
  } finally {
    lock.release();
  }
}

function operationIdOf(assets: ProjectFs): string {
  try {
    return String((JSON.parse(readJournal(assets) ?? '{}') as Partial<Journal>).operationId ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

function pendingReport(assets: ProjectFs, error: unknown): RecoveryReport {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
  const operationId = operationIdOf(assets);
  return {
    operationId,
    outcome: 'pending',
    message: `The interrupted write ${operationId} could be neither finished nor rolled back because the disk refuses writes (${code}: ${(error as Error).message}). Its journal stays at assets/${JOURNAL_PATH}; what the disk shows may be between before and after that write, so packing is blocked and writes answer WriteFailed. Make the disk writable: the next write, reconcile or open finishes it.`,
  };
}

/** The `WriteFailed` of a write refused because an interrupted write's journal cannot be replayed on this disk yet. */
function pendingJournalFailure(assets: ProjectFs, error: unknown): WriteFailedError {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
  const cause = error instanceof Error ? error.message : String(error);
  return new PackerError(
    PackerErrorCodes.WriteFailed,
    `The interrupted write ${operationIdOf(assets)} recorded in assets/${JOURNAL_PATH} must be finished before any other write, and the disk refuses writes (${errno}); nothing of this request was done. Make the disk writable and try again.`,
    { path: `assets/${JOURNAL_PATH}`, cause, errno, step: 'recovery', rolledBack: [], restored: true },
  );
}

/**
 * Finishes or undoes a write a crash interrupted, and removes the temporary files the crashed writer
 * left where the journal says it was writing. Returns null when there was nothing to recover. When the
 * disk refuses writes (see {@link REFUSED_DISK}) the journal stays in place: by default that throws
 * `WriteFailed` (step `recovery`), for a write that must not run before it; with `whenRefused: 'report'`
 * it is a `pending` report, for an open.
 */
export async function recoverJournal(
  assetsDir: FolderLocation,
  options: { whenRefused?: 'throw' | 'report' } = {},
): Promise<RecoveryReport | null> {
  const assets = folderFs(assetsDir);
  try {
    return await replayJournal(assets);
  } catch (error) {
    if (refusesWrites(error)) {
      if (options.whenRefused === 'report') return pendingReport(assets, error);
      throw pendingJournalFailure(assets, error);
    }
    // Neither forward nor back worked (a name too long, a full or read-only disk, a folder that cannot be
    // moved back). Retrying on every later write would fail the same way, so the journal is moved aside
    // and named by a diagnostic; what it describes is left for a person to check.
    const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
    const operationId = operationIdOf(assets);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const setAside = `.prometeu/${UNRECOVERABLE_JOURNAL_PREFIX}${stamp}.json`;
    try {
      await assets.rename(JOURNAL_PATH, setAside);
      await assets.syncFolder('.prometeu');
    } catch {
      return {
        operationId,
        outcome: 'failed',
        message: `The interrupted write ${operationId} could be neither completed nor rolled back (${code}: ${(error as Error).message}), and its journal could not be moved aside; writes stay refused until assets/${JOURNAL_PATH} is removed by hand.`,
      };
    }
    return {
      operationId,
      outcome: 'failed',
      setAside,
      message: `The interrupted write ${operationId} could be neither completed nor rolled back (${code}: ${(error as Error).message}); its journal was moved to assets/${setAside}. Check the folders it names, then delete that file.`,
    };
  }
}

function readJournal(assets: ProjectFs): string | null {
  try {
    return assets.readText(JOURNAL_PATH, SIZE_LIMITS.journal);
  } catch {
    return null;
  }
}

/** Replays or rolls back the journal; throws when neither can be done. */
async function replayJournal(assets: ProjectFs): Promise<RecoveryReport | null> {
  await Promise.resolve();
  const text = readJournal(assets);
  if (text === null) return null;
  let journal: Journal;
  try {
    journal = JSON.parse(text) as Journal;
    if ((journal.version !== 1 && journal.version !== 2) || !Array.isArray(journal.actions))
      throw new Error('unknown journal version');
  } catch (error) {
    // The journal is written atomically, so an unreadable one was never complete: nothing ran after it.
    await assets.unlink(JOURNAL_PATH);
    removeStaleTemporaryFiles(assets, '.prometeu');
    return {
      operationId: 'unknown',
      outcome: 'rolledBack',
      message: `An incomplete journal was discarded (${(error as Error).message}); no action had started.`,
    };
  }
  // A crash inside an atomic write leaves its temporary file next to the target: the registry's and the
  // journal's in `.prometeu`, a file action's in its folder. They are removed first, so that a rollback
  // finds the folders it created empty.
  removeStaleTemporaryFiles(assets, '.prometeu');
  for (const action of journal.actions as FileAction[])
    if (action.kind === 'writeFile') removeStaleTemporaryFiles(assets, posix.dirname(action.path).replace(/^\.$/, ''));
  const completed = (): RecoveryReport => ({
    operationId: journal.operationId,
    outcome: 'completed',
    message: `The interrupted write ${journal.operationId} was completed (${journal.actions.length} file actions and the registry).`,
  });
  // The registry to write once the actions are done, and the one to put back after undoing them.
  let registryAfter: (() => string) | null;
  let registryBefore: (() => string) | null;
  if (journal.version === 1) {
    const { registryAfter: after, registryBefore: before } = journal;
    registryAfter = after !== null ? () => after : null;
    registryBefore = before !== null ? () => before : null;
  } else if (journal.registry === null) {
    registryAfter = null;
    registryBefore = null;
  } else {
    const patch = journal.registry;
    const onDisk = readText(assets, REGISTRY_PATH);
    const parsed = onDisk === null ? null : parseRegistry(onDisk).registry;
    const side = parsed === null ? 'neither' : patchSideOf(parsed, patch);
    if (side === 'neither' || parsed === null)
      throw new Error(
        `${REGISTRY_PATH} is neither as before nor as after the interrupted write (the entries it changes differ), so neither side can be rebuilt`,
      );
    // The registry is renamed into place only once every action is durable: "after" means all is done.
    if (side === 'after') {
      await finish(assets, journal);
      return completed();
    }
    registryAfter = () => serializeRegistry(applyRegistryPatch(parsed, patch, 'before'));
    // The registry is as before: nothing to put back.
    registryBefore = null;
  }
  let index = 0;
  for (; index < journal.actions.length; index++) if (!(await rollForward(assets, journal, index))) break;
  if (index === journal.actions.length) {
    if (registryAfter !== null) {
      const after = registryAfter();
      if (readText(assets, REGISTRY_PATH) !== after) await assets.writeFileAtomic(REGISTRY_PATH, after);
    }
    await finish(assets, journal);
    return completed();
  }
  for (let undo = index - 1; undo >= 0; undo--) await rollBack(assets, journal, undo);
  await removeCreatedFolders(assets, journal);
  if (registryBefore !== null) {
    const before = registryBefore();
    if (readText(assets, REGISTRY_PATH) !== before) await assets.writeFileAtomic(REGISTRY_PATH, before);
  }
  await finish(assets, journal);
  return {
    operationId: journal.operationId,
    outcome: 'rolledBack',
    message: `The interrupted write ${journal.operationId} could not be completed because the disk changed since; it was rolled back.`,
  };
}
