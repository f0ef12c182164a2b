/**
 * Path rules of the workspace: every path the packer accepts from a request or a file is a POSIX path
 * relative to `assets/` (or to an asset root) that cannot name anything outside it.
 */

/** Why a path was refused. */
export type PathRefusal = 'absolute' | 'parent-segment' | 'control-data' | 'empty-segment' | 'invalid-character';

/** The folder inside `assets/` that belongs to the packer. */
export const CONTROL_FOLDER = '.prometeu';

/** The outcome of checking a relative path. */
export type CheckedPath =
  { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: PathRefusal };

/**
 * Checks a path that must stay inside the folder it is relative to, and returns it in canonical form
 * (no `.` segments, no trailing slash). Refuses absolute paths, `..` segments, empty segments,
 * backslashes and NUL characters.
 */
export function checkRelativePath(input: string): CheckedPath {
  if (input.includes('\0') || input.includes('\\')) return { ok: false, reason: 'invalid-character' };
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
    kept.push(segment);
  }
  if (kept.length === 0) return { ok: false, reason: 'empty-segment' };
  return { ok: true, path: kept.join('/') };
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

/** Joins a root and a path relative to it, both relative to `assets/`. */
export function joinAssetsPath(root: string, relative: string): string {
  return root === '' ? relative : `${root}/${relative}`;
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
