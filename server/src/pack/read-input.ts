/**
 * The one function through which the pack and the format validation read an asset's files, so that the
 * confined I/O layer replaces a single place.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync } from 'node:fs';

/** System error codes meaning "there is no regular file here". */
const NOT_A_FILE = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EISDIR']);
// No following of a final symbolic link (the crawl does not follow them either), and no blocking on a FIFO.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/**
 * Reads a regular file, or returns null when there is none at `path`. Other failures throw. Synchronous on
 * purpose: a pack reads thousands of small files, and an await per open, stat, read and close cost more
 * than the reads themselves; callers yield to the event loop between assets instead, so reads of other
 * clients are still answered while they run.
 */
export function readIfFile(path: string): Uint8Array | null {
  let descriptor: number;
  try {
    descriptor = openSync(path, OPEN_FLAGS);
  } catch (error) {
    if (NOT_A_FILE.has((error as NodeJS.ErrnoException).code ?? '')) return null;
    throw error;
  }
  try {
    if (!fstatSync(descriptor).isFile()) return null;
    return readFileSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}
