/**
 * Path rules of the workspace: every path the packer accepts from a request or a file is a POSIX path
 * relative to `assets/` (or to an asset root) that cannot name anything outside it.
 */
import { hasControlCharacter, MAX_COMPONENT_BYTES, MAX_PATH_BYTES, utf8Length } from './limits.js';

/** Why a path was refused. */
export type PathRefusal =
  | 'absolute'
  | 'parent-segment'
  | 'control-data'
  | 'empty-segment'
  | 'invalid-character'
  | 'component-too-long'
  | 'path-too-long';

/** The refusals that are limits (the path is inside the project, but the packer will not create it). */
export const LIMIT_REFUSALS: ReadonlySet<PathRefusal> = new Set([
  'component-too-long',
  'path-too-long',
  'invalid-character',
]);

/** The folder inside `assets/` that belongs to the packer. */
export const CONTROL_FOLDER = '.prometeu';

/** The outcome of checking a relative path. */
export type CheckedPath =
  { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: PathRefusal };

/**
 * Checks a path that must stay inside the folder it is relative to, and returns it in canonical form
 * (no `.` segments, no trailing slash). Refuses absolute paths, `..` segments, empty segments,
 * backslashes and control characters (NUL included), components longer than {@link MAX_COMPONENT_BYTES}
 * and paths longer than {@link MAX_PATH_BYTES} (both in UTF-8 bytes).
 */
export function checkRelativePath(input: string): CheckedPath {
  if (hasControlCharacter(input) || input.includes('\\')) return { ok: false, reason: 'invalid-character' };
  if (input.startsWith('/') || /^[A-Za-z]:/.test(input)) return { ok: false, reason: 'absolute' };
  const segments = input.split('/');
  const kept: string[] = [];
  for (let index = 0; index < segments.length; index++) {
    const segment = segments[index]!;
    if (segment === '..') return { ok: false, reason: 'parent-segment' };
    if (segment === '.') continue;
    if (segment === '') {
      // A single trailing slash is tolerated ("sprites/hero/"); "a//b" is not.
      if (index === segments.length - 1 && index > 0) continue;
      return { ok: false, reason: 'empty-segment' };
    }
    if (utf8Length(segment) > MAX_COMPONENT_BYTES) return { ok: false, reason: 'component-too-long' };
    kept.push(segment);
  }
  if (kept.length === 0) return { ok: false, reason: 'empty-segment' };
  const path = kept.join('/');
  if (utf8Length(path) > MAX_PATH_BYTES) return { ok: false, reason: 'path-too-long' };
  return { ok: true, path };
}

/** Checks a path relative to `assets/`: as {@link checkRelativePath}, and it may not enter the control folder. */
export function checkAssetsPath(input: string): CheckedPath {
  const checked = checkRelativePath(input);
  if (!checked.ok) return checked;
  // Case-insensitively: on case-insensitive file systems `.PROMETEU` is the control folder too.
  const lower = checked.path.toLowerCase();
  if (lower === CONTROL_FOLDER || lower.startsWith(`${CONTROL_FOLDER}/`)) return { ok: false, reason: 'control-data' };
  return checked;
}

/**
 * Joins a root and a path relative to it, both relative to `assets/`. The result is one flat string: `+`
 * would make a rope of three nodes, which V8 flattens into a second copy the first time it is hashed or
 * compared, and a snapshot keeps one such path per input.
 */
export function joinAssetsPath(root: string, relative: string): string {
  return root === '' ? relative : [root, relative].join('/');
}

/** Whether `inner` is `outer` itself or lies below it (both canonical, relative to `assets/`). */
export function isWithin(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(`${outer}/`);
}

/** The parent folder of a canonical relative path, or '' at the top. */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}
