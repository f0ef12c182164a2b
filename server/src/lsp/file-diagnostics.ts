/**
 * The packer's diagnostics as LSP diagnostics of the files a user edits: each goes to the `asset.json` of
 * its asset or to `index.json`, with `source: "packer"`, its stable code, a link to its documentation, its
 * severity and a range on the key or value concerned. Diagnostics of an input file go on the asset's
 * `asset.json` and point at the input through `relatedInformation`.
 */
import type { Diagnostic } from '@prometeu/packer-protocol';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  DiagnosticSeverity,
  type Diagnostic as LspDiagnostic,
  type DiagnosticRelatedInformation,
  type Position,
} from 'vscode-languageserver-protocol';
import { ANCHOR_FILE } from '../domain/crawl.js';
import { installedFileExists } from '../io/install-files.js';
import { joinAssetsPath } from '../domain/paths.js';
import { REGISTRY_PATH } from '../domain/registry.js';
import type { AssetRecord, Snapshot } from '../domain/snapshot.js';
import { lazyJsonText, locate, type JsonText, type LocatedFile } from './locate.js';

/** Makes the URI of a file given relative to `assets/`. */
export type UriOf = (assetsPath: string) => string;

/** What the packer puts in an LSP diagnostic's `data` when it offers a fix: the fix, for code actions. */
export interface PackerDiagnosticData {
  readonly safeFix: NonNullable<Diagnostic['safeFix']>;
}

/** Codes that are about a registry entry, published on `index.json`. */
const REGISTRY_CODES: ReadonlySet<string> = new Set([
  'registry-unreadable',
  'registry-invalid',
  'registry-unsupported-version',
  'missing-anchor',
  'identity-duplicate-root',
  'identity-duplicate-id',
  'identity-id-not-allocated',
  'root-path-invalid',
]);

const SEVERITIES: Record<Diagnostic['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

/** The file in the repository that documents every code, when this server runs from a checkout that has it. */
const DOCS_URL = new URL('../../../docs/diagnostics.md', import.meta.url);
let docsHref: string | null | undefined;

/** The documentation link of a code, or undefined when the documentation is not installed. */
export function codeDocumentation(code: string): string | undefined {
  if (docsHref === undefined) docsHref = installedFileExists(DOCS_URL) ? DOCS_URL.href : null;
  return docsHref === null ? undefined : `${docsHref}#${code}`;
}

/** Whether a diagnostic is published on `index.json` rather than on an `asset.json`. */
export function onRegistry(diagnostic: Diagnostic, record: AssetRecord | undefined): boolean {
  return (
    REGISTRY_CODES.has(diagnostic.code) ||
    diagnostic.path === REGISTRY_PATH ||
    (record !== undefined && record.anchor === null)
  );
}

/** Turns offsets of one text into LSP positions. */
interface Positions {
  positionAt(offset: number): Position;
}

/**
 * The positions of a text: counted from the start up to each offset when the text has only `\n` line
 * breaks (the usual case; a diagnostic or two near the top never pays for every line's offset), else
 * through `TextDocument`, which knows `\r` and `\r\n`.
 */
function positionsOf(text: string): Positions {
  if (text.includes('\r')) return TextDocument.create('file:///', 'json', 0, text);
  return {
    positionAt(offset: number): Position {
      const end = Math.max(0, Math.min(offset, text.length));
      let line = 0;
      let start = 0;
      for (let index = text.indexOf('\n'); index !== -1 && index < end; index = text.indexOf('\n', index + 1)) {
        line++;
        start = index + 1;
      }
      return { line, character: end - start };
    },
  };
}

/** Converts one packer diagnostic located in `text` (the file at `assetsPath`). */
function convert(
  diagnostic: Diagnostic,
  document: Positions,
  file: LocatedFile,
  assetsPath: string,
  located: JsonText,
  uriOf: UriOf,
): LspDiagnostic {
  const span = locate(located, file, diagnostic);
  const related: DiagnosticRelatedInformation[] = [];
  const origin = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
  // An input's diagnostic on its asset.json points at the input (never at a missing anchor from index.json).
  if (file.kind === 'declaration' && diagnostic.path !== undefined && diagnostic.path !== assetsPath)
    related.push({ location: { uri: uriOf(diagnostic.path), range: origin }, message: 'the file concerned' });
  for (const place of diagnostic.related ?? [])
    related.push({ location: { uri: uriOf(place.path), range: origin }, message: place.message });
  const href = codeDocumentation(diagnostic.code);
  const data: PackerDiagnosticData | undefined =
    diagnostic.safeFix !== undefined ? { safeFix: diagnostic.safeFix } : undefined;
  return {
    range: { start: document.positionAt(span.offset), end: document.positionAt(span.offset + span.length) },
    severity: SEVERITIES[diagnostic.severity],
    code: diagnostic.code,
    ...(href !== undefined ? { codeDescription: { href } } : {}),
    source: 'packer',
    message: diagnostic.message,
    ...(related.length > 0 ? { relatedInformation: related } : {}),
    ...(data !== undefined ? { data } : {}),
  };
}

/** Converts the diagnostics of one file, given its text. */
export function convertAll(
  diagnostics: readonly Diagnostic[],
  text: string,
  file: LocatedFile,
  assetsPath: string,
  uriOf: UriOf,
): LspDiagnostic[] {
  if (diagnostics.length === 0) return [];
  const document = positionsOf(text);
  const located = lazyJsonText(text);
  return diagnostics.map((diagnostic) => convert(diagnostic, document, file, assetsPath, located, uriOf));
}

/** The `asset.json` path of a root. */
export function anchorPath(root: string): string {
  return joinAssetsPath(root, ANCHOR_FILE);
}

/** The diagnostics of the records at `root` that go on its `asset.json` (not those of `index.json`). */
export function ownDiagnostics(records: readonly AssetRecord[]): Diagnostic[] {
  return records.flatMap((record) => record.diagnostics.filter((diagnostic) => !onRegistry(diagnostic, record)));
}

/** Packer diagnostics of the `asset.json` of `root`, located in `text`. */
export function locateDiagnostics(
  own: readonly Diagnostic[],
  root: string,
  text: string,
  uriOf: UriOf,
): LspDiagnostic[] {
  return convertAll(own, text, { kind: 'declaration', root }, anchorPath(root), uriOf);
}

/** The diagnostics of the records at `root` that go on its `asset.json`, located in `text`. */
export function declarationDiagnostics(
  records: readonly AssetRecord[],
  root: string,
  text: string,
  uriOf: UriOf,
): LspDiagnostic[] {
  return locateDiagnostics(ownDiagnostics(records), root, text, uriOf);
}

/** Every packer diagnostic of a snapshot that goes on `index.json`. */
export function registryOwnDiagnostics(snapshot: Snapshot): Diagnostic[] {
  const all: Diagnostic[] = snapshot.projectDiagnostics.filter(
    (diagnostic) => diagnostic.code !== 'registry-missing' && onRegistry(diagnostic, undefined),
  );
  for (const record of snapshot.assets)
    for (const diagnostic of record.diagnostics) if (onRegistry(diagnostic, record)) all.push(diagnostic);
  return all;
}

/** Every diagnostic of a snapshot that goes on `index.json`, located in `text` (`own` when already collected). */
export function registryDiagnostics(
  snapshot: Snapshot,
  text: string,
  uriOf: UriOf,
  own: readonly Diagnostic[] = registryOwnDiagnostics(snapshot),
): LspDiagnostic[] {
  return convertAll(own, text, { kind: 'registry' }, REGISTRY_PATH, uriOf);
}

/**
 * The records of every root where at least one record has a diagnostic, by root, all of that root's
 * records included: the roots a publication can be about, without grouping the thousands that are fine.
 */
export function recordsWithDiagnosticsByRoot(snapshot: Snapshot): Map<string, AssetRecord[]> {
  const roots = new Set<string>();
  for (const record of snapshot.assets) if (record.diagnostics.length > 0) roots.add(record.root);
  const byRoot = new Map<string, AssetRecord[]>();
  if (roots.size === 0) return byRoot;
  for (const record of snapshot.assets) {
    if (!roots.has(record.root)) continue;
    const list = byRoot.get(record.root);
    if (list) list.push(record);
    else byRoot.set(record.root, [record]);
  }
  return byRoot;
}
