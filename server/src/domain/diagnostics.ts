/**
 * Building diagnostics: one constructor that fills the family from the code table, and the ordering
 * every answer uses.
 */
import { DIAGNOSTIC_CODES, type Diagnostic, type DiagnosticCode, type Severity } from '@prometeu/packer-protocol';
import { compareStrings } from './crawl.js';

/** The fields a check supplies; family comes from the code table. */
export type DiagnosticFields = Omit<Diagnostic, 'code' | 'family'>;

/** Makes a diagnostic of `code`. */
export function makeDiagnostic(code: DiagnosticCode, fields: DiagnosticFields): Diagnostic {
  const diagnostic: Diagnostic = { code, family: DIAGNOSTIC_CODES[code].family, ...fields };
  return diagnostic;
}

const SEVERITY_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2, hint: 3 };

/** Rank of a severity; lower is more severe. */
export function severityRank(severity: Severity): number {
  return SEVERITY_RANK[severity];
}

/** The most severe of a list, or null. */
export function worstSeverity(diagnostics: readonly Diagnostic[]): Severity | null {
  let worst: Severity | null = null;
  for (const diagnostic of diagnostics) {
    if (worst === null || SEVERITY_RANK[diagnostic.severity] < SEVERITY_RANK[worst]) worst = diagnostic.severity;
  }
  return worst;
}

/** Order of answers: blocking first, then severity, root, path, code, message. Deterministic. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return (
    Number(b.blocking) - Number(a.blocking) ||
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    compareStrings(a.root ?? '', b.root ?? '') ||
    compareStrings(a.path ?? '', b.path ?? '') ||
    compareStrings(a.code, b.code) ||
    compareStrings(a.message, b.message)
  );
}

/** Describes zod issues in one line each: "inputs.sprites[0]: expected string, received number". */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 10)
    .map((issue) => `${formatIssuePath(issue.path)}: ${issue.message}`)
    .join('; ')
    .concat(issues.length > 10 ? `; and ${issues.length - 10} more` : '');
}

function formatIssuePath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let text = '';
  for (const key of path) text += typeof key === 'number' ? `[${key}]` : text === '' ? String(key) : `.${String(key)}`;
  return text;
}
