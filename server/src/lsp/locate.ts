/**
 * Where in a file's text a packer diagnostic points: the exact key or value of `asset.json` or `index.json`
 * it is about, found with jsonc-parser (which keeps offsets), or the whole document where nothing narrower
 * exists. Pure: text and diagnostic in, offsets out.
 */
import { AssetDeclarationFile, RegistryFile, type Diagnostic, type DiagnosticCode } from '@prometeu/packer-protocol';
import {
  createScanner,
  findNodeAtLocation,
  parse,
  parseTree,
  type JSONPath,
  type Node,
  type ParseError,
} from 'jsonc-parser';
import { checkRelativePath, joinAssetsPath } from '../domain/paths.js';

/** A span of a text, in UTF-16 offsets (what jsonc-parser and LSP positions count). */
export interface Span {
  readonly offset: number;
  readonly length: number;
}

/** Which kind of file the text is. */
export type LocatedFile = { readonly kind: 'declaration'; readonly root: string } | { readonly kind: 'registry' };

/** A parsed text: its tree (undefined when it is not JSON at all) and its syntax errors. */
export interface JsonText {
  readonly text: string;
  readonly tree: Node | undefined;
  readonly errors: readonly ParseError[];
}

/** Parses a text once for every diagnostic located in it. */
export function parseJsonText(text: string): JsonText {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  return { text, tree, errors };
}

/**
 * A text whose tree is parsed only when a locator needs more than one top-level value (most diagnostics
 * at open point at `asset_uuid` or `type`, found by scanning the first few tokens).
 */
export function lazyJsonText(text: string): JsonText {
  let parsed: JsonText | undefined;
  const full = (): JsonText => (parsed ??= parseJsonText(text));
  const lazy = {
    text,
    get tree() {
      return full().tree;
    },
    get errors() {
      return full().errors;
    },
  };
  unparsed.set(lazy, () => parsed === undefined);
  return lazy;
}

/** For each lazy text, whether its tree is still unparsed. */
const unparsed = new WeakMap<JsonText, () => boolean>();

/** jsonc-parser's `SyntaxKind` values (a `const enum` its typings do not let this module import). */
const TOKEN = {
  openBrace: 1,
  closeBrace: 2,
  openBracket: 3,
  closeBracket: 4,
  comma: 5,
  colon: 6,
  string: 10,
  lineBreak: 14,
  whitespace: 15,
  unknown: 16,
  end: 17,
} as const;

/** The literal token kinds a top-level value can be found as without building a tree: null, true, false, string, number. */
const LITERALS: ReadonlySet<number> = new Set([7, 8, 9, 10, 11]);

/**
 * The span of the literal value of the first top-level `key` of `text`, scanning tokens only up to it, when
 * every property before it is a plain literal one; undefined (the caller parses the tree) at the first
 * surprise: a syntax error, a comment, a nested value, a non-literal value for `key`, or the end. Over such
 * a prefix the tree has exactly these tokens, so what it finds is what the tree would give.
 */
function scanTopLevel(text: string, key: string): Span | undefined {
  const scanner = createScanner(text, false);
  const next = (): number => {
    for (;;) {
      const kind: number = scanner.scan();
      const error: number = scanner.getTokenError();
      if (error !== 0) return TOKEN.unknown;
      if (kind !== TOKEN.whitespace && kind !== TOKEN.lineBreak) return kind;
    }
  };
  if (next() !== TOKEN.openBrace) return undefined;
  for (;;) {
    if (next() !== TOKEN.string) return undefined;
    const name = scanner.getTokenValue();
    if (next() !== TOKEN.colon) return undefined;
    const kind = next();
    if (name === key)
      return LITERALS.has(kind) ? { offset: scanner.getTokenOffset(), length: scanner.getTokenLength() } : undefined;
    // A nested value before the key: the tree's error recovery inside it is not worth imitating.
    if (!LITERALS.has(kind)) return undefined;
    if (next() !== TOKEN.comma) return undefined;
  }
}

/** The whole document. */
function whole(json: JsonText): Span {
  return { offset: 0, length: json.text.length };
}

function spanOf(node: Node): Span {
  return { offset: node.offset, length: node.length };
}

/** The node at `path`, or the deepest node of the path that exists (a missing key points at its object). */
function deepest(json: JsonText, path: JSONPath): Node | undefined {
  if (json.tree === undefined) return undefined;
  for (let length = path.length; length >= 0; length--) {
    const node = findNodeAtLocation(json.tree, path.slice(0, length));
    if (node !== undefined) return node;
  }
  return undefined;
}

/** The property key node of `key` in the object `object`, when present. */
function keyNode(object: Node | undefined, key: string): Node | undefined {
  if (object?.type !== 'object') return undefined;
  return object.children?.find((property) => property.children?.[0]?.value === key)?.children?.[0];
}

/** The value of `path` when it exists, else the deepest enclosing node, else the whole document. */
function at(json: JsonText, path: JSONPath): Span {
  if (path.length === 1 && typeof path[0] === 'string' && unparsed.get(json)?.() === true) {
    const found = scanTopLevel(json.text, path[0]);
    if (found !== undefined) return found;
  }
  const node = deepest(json, path);
  return node === undefined ? whole(json) : spanOf(node);
}

/** The first syntax error, or the whole document. */
function syntaxError(json: JsonText): Span {
  const first = json.errors[0];
  return first === undefined ? whole(json) : { offset: first.offset, length: Math.max(1, first.length) };
}

/** The location of a schema issue: an unknown key's name, else the value (or object) of the first issue. */
function schemaIssue(json: JsonText, schema: typeof AssetDeclarationFile | typeof RegistryFile): Span {
  let value: unknown;
  try {
    value = parse(json.text) as unknown;
  } catch {
    return whole(json);
  }
  const result = schema.safeParse(value);
  // An unknown key is the most precise place (a misspelt key also makes the key it meant missing).
  const issues = result.success ? [] : result.error.issues;
  const issue = issues.find((candidate) => candidate.code === 'unrecognized_keys') ?? issues[0];
  if (issue === undefined) return whole(json);
  const path = issue.path.filter((key): key is string | number => typeof key !== 'symbol');
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) {
    const key = keyNode(deepest(json, path), issue.keys[0]);
    if (key !== undefined) return spanOf(key);
  }
  return at(json, path);
}

/** The string value in `inputs` equal to `declared`, or for which `matches` holds. */
function inputValue(json: JsonText, matches: (declared: string) => boolean): Node | undefined {
  const inputs = json.tree === undefined ? undefined : findNodeAtLocation(json.tree, ['inputs']);
  for (const property of inputs?.children ?? []) {
    for (const item of property.children?.[1]?.children ?? []) {
      if (item.type === 'string' && typeof item.value === 'string' && matches(item.value)) return item;
    }
  }
  return undefined;
}

/** The declared path quoted at the start of an input diagnostic's message (`Input "x" (role y) ...`). */
function quotedInput(message: string): string | undefined {
  const match = /^Input ("(?:[^"\\]|\\.)*")/.exec(message);
  if (match === null) return undefined;
  try {
    return JSON.parse(match[1]!) as string;
  } catch {
    return undefined;
  }
}

/** The registry entry a diagnostic names (by `assetId`, else by root), as its `asset_id` or `root` value. */
function registryEntry(json: JsonText, diagnostic: Diagnostic, field: 'asset_id' | 'root'): Span {
  const entries = json.tree === undefined ? undefined : findNodeAtLocation(json.tree, ['assets']);
  const items = entries?.type === 'array' ? (entries.children ?? []) : [];
  const valueOf = (item: Node, key: string): unknown =>
    item.children?.find((property) => property.children?.[0]?.value === key)?.children?.[1]?.value;
  const found =
    items.find((item) => diagnostic.assetId !== undefined && valueOf(item, 'asset_id') === diagnostic.assetId) ??
    items.find((item) => diagnostic.root !== undefined && valueOf(item, 'root') === diagnostic.root);
  if (found === undefined) return entries !== undefined ? spanOf(entries) : whole(json);
  const property = found.children?.find((candidate) => candidate.children?.[0]?.value === field);
  return spanOf(property?.children?.[1] ?? found);
}

type Locator = (json: JsonText, diagnostic: Diagnostic, root: string) => Span;

/** Where a registry diagnostic points in `index.json`; any other names its entry's root, or the document. */
const REGISTRY_LOCATORS: Partial<Record<DiagnosticCode, Locator>> = {
  'registry-unreadable': (json) => syntaxError(json),
  'registry-unsupported-version': (json) => at(json, ['schema_version']),
  'registry-invalid': (json) => schemaIssue(json, RegistryFile),
  'identity-id-not-allocated': (json, diagnostic) => registryEntry(json, diagnostic, 'asset_id'),
  'identity-duplicate-id': (json, diagnostic) => registryEntry(json, diagnostic, 'asset_id'),
};

/** The declared path of the input a diagnostic is about (by its file), or the `inputs` object. */
const inputByPath: Locator = (json, diagnostic, root) => {
  const target = diagnostic.path;
  const node =
    target === undefined
      ? undefined
      : inputValue(json, (value) => {
          const checked = checkRelativePath(value);
          return checked.ok && joinAssetsPath(root, checked.path) === target;
        });
  return node !== undefined ? spanOf(node) : at(json, ['inputs']);
};

/** Where a diagnostic points in an `asset.json`; codes not listed cover the whole document. */
const DECLARATION_LOCATORS: Partial<Record<DiagnosticCode, Locator>> = {
  'declaration-unreadable': (json) => syntaxError(json),
  'declaration-unsupported-version': (json) => at(json, ['schema_version']),
  'declaration-invalid': (json) => schemaIssue(json, AssetDeclarationFile),
  'unknown-asset-type': (json) => at(json, ['type']),
  'output-contract-mismatch': (json, diagnostic) =>
    at(json, ['output', diagnostic.message.includes('output.format') ? 'format' : 'codec']),
  'format-declaration-invalid': (json, diagnostic) =>
    at(json, /metadata/.test(diagnostic.message) ? ['output', 'metadata'] : ['inputs']),
  'identity-duplicate-uuid': (json) => at(json, ['asset_uuid']),
  'identity-uuid-mismatch': (json) => at(json, ['asset_uuid']),
  'unregistered-root': (json) => at(json, ['asset_uuid']),
  'input-outside-root': (json, diagnostic) => {
    const declared = quotedInput(diagnostic.message);
    const node = declared === undefined ? undefined : inputValue(json, (value) => value === declared);
    return node !== undefined ? spanOf(node) : at(json, ['inputs']);
  },
  'input-missing': inputByPath,
  'format-input-invalid': inputByPath,
};

/** Where in `json` (the text of `file`) the diagnostic points. */
export function locate(json: JsonText, file: LocatedFile, diagnostic: Diagnostic): Span {
  if (file.kind === 'registry') {
    const locator = REGISTRY_LOCATORS[diagnostic.code];
    if (locator !== undefined) return locator(json, diagnostic, '');
    // missing-anchor, root-path-invalid, identity-duplicate-root: the root of the entry concerned.
    return diagnostic.assetId !== undefined || diagnostic.root !== undefined
      ? registryEntry(json, diagnostic, 'root')
      : whole(json);
  }
  const locator = DECLARATION_LOCATORS[diagnostic.code];
  if (locator !== undefined) return locator(json, diagnostic, file.root);
  // Another diagnostic about an input file points at the declared path that names it.
  if (diagnostic.path !== undefined && !diagnostic.path.endsWith('/asset.json'))
    return inputByPath(json, diagnostic, file.root);
  return whole(json);
}
