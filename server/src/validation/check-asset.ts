/**
 * One asset's format validation from the disk: read every input once, hash it, and run the format's
 * blocking rules (or take them from a cache keyed by the content hashes, the format version and the
 * declaration). Runs in the validation worker, or inline where no worker can be started.
 */
import type { AssetDeclarationFile, Diagnostic } from '@prometeu/packer-protocol';
import { sha256Hex } from '../pack/assets-pa.js';
import { cacheKey } from '../pack/pack-cache.js';
import { ProjectFs } from '../io/project-fs.js';
import { readIfFile } from '../pack/read-input.js';
import { formatToCheck } from './format-to-check.js';

/** What to validate: one asset's declaration and its inputs. Plain data, so it crosses to a worker as is. */
export interface ValidationJob {
  readonly root: string;
  readonly declaration: AssetDeclarationFile;
  /** Every declared input, by path relative to `assets/`, each once. */
  readonly inputs: readonly string[];
  /**
   * For each of {@link inputs}, when the crawl that listed it for the snapshot began (ms since the epoch), or
   * null when unknown. An input changed after that instant holds bytes the snapshot never saw.
   */
  readonly seenAt: readonly (number | null)[];
}

/** What the validation of one job found. Plain data. */
export interface ValidationAnswer {
  readonly root: string;
  /** The job's inputs, in its order (empty when {@link changed} is not). */
  readonly paths: readonly string[];
  /** For each of {@link paths}: its SHA-256 as read, or null when it was not a readable regular file. */
  readonly hashes: readonly (string | null)[];
  /** For each of {@link paths}: its stat stamp right after it was read (see {@link stampOf}), or null. */
  readonly stamps: readonly (string | null)[];
  /** The format's blocking problems, without identity (empty when an input could not be read). */
  readonly diagnostics: readonly Diagnostic[];
  /**
   * Inputs whose content changed after the snapshot's crawl listed them. When any did, nothing was validated:
   * `hashes`, `stamps` and `diagnostics` are empty, and no result may be recorded for this snapshot.
   */
  readonly changed: readonly string[];
}

/** Results kept by cache key; the oldest go first beyond this many. */
const CACHE_LIMIT = 20_000;
/** Invariant: diagnostics by the key of everything they depend on (format, version, declaration, input hashes). */
const resultCache = new Map<string, readonly Diagnostic[]>();

/** How many validations were answered from the cache, and how many ran (for tests and logs). */
export const validationCounters = { cached: 0, ran: 0 };

function readOrNull(assets: ProjectFs, path: string): Uint8Array | null {
  try {
    return readIfFile(assets, path);
  } catch {
    // An unreadable input is reported by the pack (which reads it again) and by the watcher; here it has no hash.
    return null;
  }
}

/** The SHA-256 (hex) of a regular file's content now, or null when it cannot be read as one. */
export function contentHashOf(assets: ProjectFs, path: string): string | null {
  const bytes = readOrNull(assets, path);
  return bytes === null ? null : sha256Hex(bytes);
}

/**
 * A file's stat stamp: size, modification and change times and inode, or null when it is not a regular file.
 * Equal stamps are taken to mean equal content (as the watcher's fingerprints are); the change time cannot be
 * set back by tools that restore modification times.
 */
export function stampOf(assets: ProjectFs, path: string): string | null {
  try {
    const stats = assets.stat(path);
    return stats?.isFile() ? `${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}:${stats.ino}` : null;
  } catch {
    return null;
  }
}

/**
 * Whether a file with this stamp was changed after `instant` (ms since the epoch, whole milliseconds): its
 * change time is later (the kernel sets it on every write and cannot be told otherwise), or its modification
 * time is later and not in the future (a modification time ahead of the clock is a skewed copy, not an edit).
 */
function changedAfter(stamp: string | null, instant: number | null, now: number): boolean {
  if (stamp === null || instant === null) return false;
  const [, modifiedText = '0', changedText = '0'] = stamp.split(':');
  const modified = Math.trunc(Number(modifiedText));
  return Math.trunc(Number(changedText)) > instant || (modified > instant && modified <= now);
}

/** Validates one asset against the files now in `assetsDir`. Never throws for bad content. */
export function checkAsset(assetsDir: string, job: ValidationJob): ValidationAnswer {
  // Confined to the project: an input path cannot lead through a link or out of assets/.
  const assets = ProjectFs.ofFolder(assetsDir);
  const format = formatToCheck(job.declaration);
  const bytesByPath = new Map<string, Uint8Array>();
  const hashesByPath = new Map<string, string>();
  // Sized up front: an array grown by push keeps room for 17 elements, and a result keeps these (inline) for
  // as long as the snapshot holds it.
  const hashes = new Array<string | null>(job.inputs.length).fill(null);
  const stamps = new Array<string | null>(job.inputs.length).fill(null);
  const changed: string[] = [];
  let complete = format !== undefined;
  for (const [index, path] of job.inputs.entries()) {
    const bytes = readOrNull(assets, path);
    // Stamped after the read: a change during the read shows in the stamp, so it is never missed.
    const stamp = bytes === null ? null : stampOf(assets, path);
    if (changedAfter(stamp, job.seenAt[index] ?? null, Date.now())) changed.push(path);
    stamps[index] = stamp;
    const sha = bytes === null ? null : sha256Hex(bytes);
    hashes[index] = sha;
    if (bytes === null || sha === null) {
      complete = false;
      continue;
    }
    const relative = path.slice(job.root.length + 1);
    bytesByPath.set(relative, bytes);
    hashesByPath.set(relative, sha);
  }
  // Bytes no snapshot saw are never validated: the snapshot would record a hash for them.
  if (changed.length > 0) return { root: job.root, paths: [], hashes: [], stamps: [], diagnostics: [], changed };
  if (!complete || format === undefined)
    return { root: job.root, paths: job.inputs, hashes, stamps, diagnostics: [], changed };
  const key = cacheKey(format, job.declaration, hashesByPath);
  let diagnostics = resultCache.get(key);
  if (diagnostics !== undefined) {
    validationCounters.cached++;
  } else {
    validationCounters.ran++;
    diagnostics = format.validate({ declaration: job.declaration, root: job.root, inputs: bytesByPath, identity: {} });
    if (resultCache.size >= CACHE_LIMIT) resultCache.delete(resultCache.keys().next().value!);
    resultCache.set(key, diagnostics);
  }
  return { root: job.root, paths: job.inputs, hashes, stamps, diagnostics, changed };
}
