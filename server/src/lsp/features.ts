/**
 * Hover, completion, document links and code actions on `asset.json`: pure functions of a document's text
 * and the project's snapshot (the overlay of the buffer where it is open). Completion values come from the
 * tables the server validates with (asset types and their output contracts, each format's input roles).
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { MutationIntent } from '@prometeu/packer-protocol';
import { findNodeAtLocation, findNodeAtOffset, getLocation, type Node } from 'jsonc-parser';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import {
  CodeActionKind,
  CompletionItemKind,
  MarkupKind,
  type CodeAction,
  type CompletionItem,
  type Diagnostic as LspDiagnostic,
  type DocumentLink,
  type Hover,
  type Position,
  type Range,
} from 'vscode-languageserver-protocol';
import { ASSET_TYPES, contractOf } from '../domain/asset-types.js';
import { checkRelativePath, joinAssetsPath } from '../domain/paths.js';
import { inBuildSet, type AssetRecord, type Snapshot } from '../domain/snapshot.js';
import { planMutation } from '../mutations/plan.js';
import { FORMATS } from '../pack/formats/registry.js';
import type { PackerDiagnosticData } from './file-diagnostics.js';
import { parseJsonText } from './locate.js';

/** The command a lane-mutation code action runs through `workspace/executeCommand`. */
export const APPLY_SAFE_FIX_COMMAND = 'packer.applySafeFix';

/** The argument of {@link APPLY_SAFE_FIX_COMMAND}. */
export interface ApplySafeFixArgument {
  readonly projectId: string;
  readonly fixId: string;
  readonly title: string;
  readonly mutation: MutationIntent;
}

/** The top-level keys of `asset.json` and the keys of its objects, with what each holds. */
const DECLARATION_KEYS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  '': {
    schema_version: 'Version of this file format (1).',
    asset_uuid: 'The identity of the asset; never change it by hand.',
    name: 'Human and code-facing label; renaming keeps identity.',
    type: 'Asset type: one of the types this packer builds.',
    inputs: 'Input role to the list of input paths, relative to the root.',
    output: 'The output contract: format, codec and format metadata.',
    preload: 'Whether the runtime preloads this asset.',
    build: 'Optional build hints.',
  },
  output: {
    format: 'The output format; each type has exactly one.',
    codec: 'The codec; each type allows a fixed set.',
    metadata: 'Format-specific settings.',
  },
  preload: { enabled: 'true to preload the asset at startup.' },
};

/**
 * The input roles of each format, read from the format's own validation: an asset that declares no input
 * is told which roles are required, in the words of the rule table the pack checks with.
 */
function rolesOf(format: string): string[] {
  const implementation = FORMATS.get(format);
  if (implementation === undefined) return [];
  const contract = contractOf(implementation.type);
  const problems = implementation.validate({
    root: 'probe',
    declaration: {
      schema_version: 1,
      asset_uuid: '00000000-0000-4000-8000-000000000000',
      name: 'probe',
      type: implementation.type,
      inputs: {},
      output: { format, codec: contract?.codecs[0] ?? 'NONE' },
      preload: { enabled: false },
    },
    inputs: new Map(),
    identity: {},
  });
  const roles = new Set<string>();
  for (const problem of problems) {
    const match = /\binputs\.([^\s.]+) lists no /.exec(problem.message);
    if (match !== null) roles.add(match[1]!);
  }
  return [...roles];
}

const rolesByFormat = new Map<string, string[]>();

/** The input roles of a format, computed once. */
export function inputRoles(format: string): string[] {
  let roles = rolesByFormat.get(format);
  if (roles === undefined) rolesByFormat.set(format, (roles = rolesOf(format)));
  return roles;
}

function rangeOf(document: TextDocument, node: Node): Range {
  return { start: document.positionAt(node.offset), end: document.positionAt(node.offset + node.length) };
}

function stringAt(tree: Node | undefined, path: (string | number)[]): string | undefined {
  const node = tree === undefined ? undefined : findNodeAtLocation(tree, path);
  return node?.type === 'string' && typeof node.value === 'string' ? node.value : undefined;
}

/** Every declared input path string of a declaration's text, with its role. */
function inputNodes(tree: Node | undefined): { role: string; node: Node }[] {
  const inputs = tree === undefined ? undefined : findNodeAtLocation(tree, ['inputs']);
  const found: { role: string; node: Node }[] = [];
  for (const property of inputs?.children ?? []) {
    const role: unknown = property.children?.[0]?.value;
    for (const item of property.children?.[1]?.children ?? [])
      if (typeof role === 'string' && item.type === 'string') found.push({ role, node: item });
  }
  return found;
}

/**
 * Hover on an `asset.json`: the asset's identity, the state of each input, and `packed` (the lines about
 * its last packed entry, see `lastPackLines`).
 */
export function hover(
  document: TextDocument,
  records: readonly AssetRecord[],
  position: Position,
  packed: readonly string[] = [],
): Hover | null {
  const record = records[0];
  if (record === undefined) return null;
  const name = record.anchor?.name ?? record.root;
  const type = record.anchor?.type;
  const lines = [
    `**${name}**${type ? ` · \`${type}\`` : ''} · ${record.entry !== null ? `asset #${record.entry.asset_id}` : 'unregistered'}`,
    '',
    `- root: \`${record.root}\``,
    `- uuid: \`${record.assetUuid ?? 'none'}\``,
    `- registered: ${record.entry !== null ? 'yes' : 'no'} · in build: ${inBuildSet(record) ? 'yes' : 'no'}`,
    `- state: ${record.state}${record.worstSeverity !== null ? ` (${record.diagnostics.length} diagnostic${record.diagnostics.length === 1 ? '' : 's'}, worst ${record.worstSeverity})` : ''}`,
  ];
  lines.push(...packed);
  if (record.inputs.length > 0) {
    lines.push('', 'Inputs:');
    for (const input of record.inputs) lines.push(`- ${input.role}: \`${input.path}\` (${input.state})`);
  }
  const offset = document.offsetAt(position);
  const tree = parseJsonText(document.getText()).tree;
  const node = tree === undefined ? undefined : findNodeAtOffset(tree, offset);
  return {
    contents: { kind: MarkupKind.Markdown, value: lines.join('\n') },
    ...(node !== undefined ? { range: rangeOf(document, node) } : {}),
  };
}

/** Completion in an `asset.json`: keys of the declaration, and allowed values of type, format, codec. */
export function completion(document: TextDocument, position: Position): CompletionItem[] {
  const text = document.getText();
  const offset = document.offsetAt(position);
  const location = getLocation(text, offset);
  const tree = parseJsonText(text).tree;
  const path = location.path;
  const node = tree === undefined ? undefined : findNodeAtOffset(tree, offset, true);
  const replacing = node?.type === 'string' ? rangeOf(document, node) : undefined;
  const item = (label: string, kind: CompletionItemKind, detail: string): CompletionItem => {
    // Keys and values are both JSON strings here; the edit replaces the string being typed, quotes included.
    const newText = JSON.stringify(label);
    return {
      label,
      kind,
      detail,
      ...(replacing !== undefined ? { textEdit: { range: replacing, newText } } : { insertText: newText }),
    };
  };
  if (location.isAtPropertyKey) {
    const parent = path.slice(0, -1);
    if (parent.length === 1 && parent[0] === 'inputs') {
      const format = stringAt(tree, ['output', 'format']) ?? contractOf(stringAt(tree, ['type']) ?? '')?.format;
      return (format === undefined ? [] : inputRoles(format)).map((role) =>
        item(role, CompletionItemKind.Field, `input role of ${format}`),
      );
    }
    const keys = DECLARATION_KEYS[parent.length === 0 ? '' : parent.length === 1 ? String(parent[0]) : '\0'];
    return Object.entries(keys ?? {}).map(([key, detail]) => item(key, CompletionItemKind.Property, detail));
  }
  const where = path.join('.');
  const type = stringAt(tree, ['type']);
  const contract = type === undefined ? undefined : contractOf(type);
  if (where === 'type')
    return Object.entries(ASSET_TYPES).map(([name, value]) =>
      item(name, CompletionItemKind.EnumMember, `output ${value.format}`),
    );
  if (where === 'output.format') {
    const formats = contract !== undefined ? [contract.format] : Object.values(ASSET_TYPES).map((t) => t.format);
    return formats.map((format) => item(format, CompletionItemKind.EnumMember, 'output format'));
  }
  if (where === 'output.codec') {
    const codecs = contract?.codecs ?? [...new Set(Object.values(ASSET_TYPES).flatMap((t) => t.codecs))];
    return codecs.map((codec) => item(codec, CompletionItemKind.EnumMember, 'codec'));
  }
  return [];
}

/** Links from every declared input path to its file. */
export function documentLinks(document: TextDocument, root: string, assetsDir: string): DocumentLink[] {
  const links: DocumentLink[] = [];
  for (const { node } of inputNodes(parseJsonText(document.getText()).tree)) {
    const checked = checkRelativePath(String(node.value));
    if (!checked.ok) continue;
    const target = pathToFileURL(join(assetsDir, ...joinAssetsPath(root, checked.path).split('/'))).href;
    // The link covers the path, not its quotes.
    const inner = { offset: node.offset + 1, length: Math.max(0, node.length - 2) };
    links.push({
      range: { start: document.positionAt(inner.offset), end: document.positionAt(inner.offset + inner.length) },
      target,
      tooltip: `Open ${checked.path}`,
    });
  }
  return links;
}

/** Whether two ranges share a line: a cursor anywhere on a diagnostic's lines asks for its fixes. */
function overlaps(a: Range, b: Range): boolean {
  return a.start.line <= b.end.line && b.start.line <= a.end.line;
}

/**
 * The quick fixes for the diagnostics of a document on the lines of `range`: each safe fix the packer offers,
 * as a command that goes through preview and apply (offered only when a plan against the current snapshot
 * has no blocker), and a text edit for an output contract that does not match its type.
 */
export function codeActions(
  document: TextDocument,
  diagnostics: readonly LspDiagnostic[],
  range: Range,
  snapshot: Snapshot,
  projectId: string,
): CodeAction[] {
  const actions: CodeAction[] = [];
  const tree = parseJsonText(document.getText()).tree;
  for (const diagnostic of diagnostics) {
    if (!overlaps(diagnostic.range, range)) continue;
    const safeFix = (diagnostic.data as PackerDiagnosticData | undefined)?.safeFix;
    if (safeFix !== undefined) {
      const plan = planMutation(snapshot, safeFix.mutation, { uuid: '00000000-0000-4000-8000-000000000000' });
      if (plan.blockers.length > 0) continue;
      const argument: ApplySafeFixArgument = {
        projectId,
        fixId: safeFix.fixId,
        title: safeFix.title,
        mutation: safeFix.mutation,
      };
      actions.push({
        title: safeFix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        isPreferred: true,
        command: { title: safeFix.title, command: APPLY_SAFE_FIX_COMMAND, arguments: [argument] },
      });
    }
    if (diagnostic.code === 'output-contract-mismatch' && tree !== undefined) {
      const contract = contractOf(stringAt(tree, ['type']) ?? '');
      if (contract === undefined) continue;
      const message = typeof diagnostic.message === 'string' ? diagnostic.message : diagnostic.message.value;
      const field = message.includes('output.format') ? 'format' : 'codec';
      const node = findNodeAtLocation(tree, ['output', field]);
      const value = field === 'format' ? contract.format : contract.codecs[0];
      if (node === undefined || value === undefined) continue;
      const title = `Set output.${field} to ${value}`;
      actions.push({
        title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [diagnostic],
        isPreferred: true,
        edit: { changes: { [document.uri]: [{ range: rangeOf(document, node), newText: JSON.stringify(value) }] } },
      });
    }
  }
  return actions;
}
