/**
 * The one function through which the pack and the format validation read an asset's files. It goes
 * through the confined file system, so the bytes can only come from a regular file inside the project.
 */
import type { ProjectFs } from '../io/project-fs.js';

import { SIZE_LIMITS } from '../io/size-limits.js';

/** The nanosecond stats of a file (what `ProjectFs.bigStat` gives). */
type BigIntStats = NonNullable<ReturnType<ProjectFs['bigStat']>>;

/**
 * Reads a regular file into memory from `allocate` (shared memory a worker can hash), or returns null when there is none at `path` (absent, a link, a folder, a FIFO, a
 * device, or not inside the project once opened: the confined file system refuses all of them). A file
 * over `limit` throws. `stamped` is given the `fstat` of the file opened before it is read (see
 * `ProjectFs.readFileIfRegularInto`). Synchronous on purpose: a pack reads thousands of small files, and an await per
 * open, stat, read and close cost more than the reads themselves; callers yield to the event loop between
 * assets instead, so reads of other clients are still answered while they run.
 */
export function readIfFileInto(
  assets: ProjectFs,
  path: string,
  limit: number,
  allocate: (length: number) => Uint8Array,
  stamped?: (stats: BigIntStats) => void,
): Uint8Array | null {
  return assets.readFileIfRegularInto(path, limit, allocate, stamped);
}

/** {@link readIfFileInto} into ordinary memory. */
export function readIfFile(
  assets: ProjectFs,
  path: string,
  limit: number = SIZE_LIMITS.input,
  stamped?: (stats: BigIntStats) => void,
): Uint8Array | null {
  return assets.readFileIfRegular(path, limit, stamped);
}
