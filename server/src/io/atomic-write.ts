/**
 * Durable file writes: a temporary file in the same folder, fsync, rename over the target, fsync of the
 * folder. A crash at any instant leaves either the old file or the new one, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Writes `data` to `path` atomically and durably. Creates the parent folder when `createParents` is set. */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { createParents?: boolean } = {},
): Promise<void> {
  const folder = dirname(path);
  if (options.createParents) await mkdir(folder, { recursive: true });
  const temporary = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncFolder(folder);
}

/** Flushes a folder's entries (a rename or a new file) to disk. */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `path` with `data` atomically and durably, refusing to replace an existing file: the data is
 * written and flushed under a temporary name, then hard-linked into place (which fails with EEXIST when
 * something already has the name). Returns false when the file already existed.
 */
export async function createFileExclusive(path: string, data: string | Uint8Array): Promise<boolean> {
  const folder = dirname(path);
  const temporary = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  await syncFolder(folder);
  return true;
}
