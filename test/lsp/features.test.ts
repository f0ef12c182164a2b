// Completion, roles and text-edit fixes in asset.json, from the tables the server validates with.
import { describe, expect, it } from 'vitest';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parseDeclaration } from '../../server/src/domain/declaration.js';
import { codeActions, completion, inputRoles } from '../../server/src/lsp/features.js';
import { convertAll } from '../../server/src/lsp/file-diagnostics.js';
import { buildSnapshot } from '../../server/src/domain/snapshot.js';
import { parseRegistry } from '../../server/src/domain/registry.js';

const TEXT = `{
  "schema_version": 1,
  "asset_uuid": "00000000-0000-4000-8000-000000000001",
  "name": "font",
  "type": "glyph_bank",
  "inputs": { "": [] },
  "output": { "format": "BLOB/raw_v1", "codec": "NONE" },
  "preload": { "enabled": false }
}`;

function at(text: string, marker: string, shift = 0) {
  const document = TextDocument.create('file:///p/assets/font/asset.json', 'json', 1, text);
  return { document, position: document.positionAt(text.indexOf(marker) + shift) };
}

describe('editor features', () => {
  it('knows the input roles of every format from its own validation', () => {
    expect(inputRoles('BLOB/raw_v1')).toEqual(['data']);
    expect(inputRoles('GLYPH/indexed_v1')).toEqual(['tiles', 'palettes']);
    expect(inputRoles('SOUNDS/pcm16le_v1')).toEqual(['samples']);
  });

  it('offers the roles of the declared format as keys of inputs, and the keys of output', () => {
    const roles = at(
      TEXT.replace('"output": { "format": "BLOB/raw_v1"', '"output": { "format": "GLYPH/indexed_v1"'),
      '""',
      1,
    );
    expect(completion(roles.document, roles.position).map((item) => item.label)).toEqual(['tiles', 'palettes']);
    const keys = at(TEXT.replace('"codec": "NONE"', '"codec": "NONE", ""'), ', ""', 3);
    expect(completion(keys.document, keys.position).map((item) => item.label)).toEqual(['format', 'codec', 'metadata']);
  });

  it('fixes an output format that does not belong to the type with a text edit', () => {
    const text = TEXT.replace('"inputs": { "": [] }', '"inputs": {}');
    const { document } = at(text, '{');
    const diagnostics = parseDeclaration('font', text).diagnostics;
    const lsp = convertAll(
      diagnostics,
      text,
      { kind: 'declaration', root: 'font' },
      'font/asset.json',
      (p) => `file:///p/assets/${p}`,
    );
    const snapshot = buildSnapshot(1, { anchors: [], files: [], symlinks: [], problems: [] }, parseRegistry(null));
    const actions = codeActions(document, lsp, lsp[0]!.range, snapshot, 'prj');
    expect(actions.map((action) => action.title)).toEqual(['Set output.format to GLYPH/indexed_v1']);
    const [edit] = actions[0]!.edit!.changes![document.uri]!;
    expect(TextDocument.applyEdits(document, [edit!])).toContain('"format": "GLYPH/indexed_v1"');
  });
});
