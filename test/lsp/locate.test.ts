// Locating packer diagnostics on the exact key or value of asset.json and index.json.
import { describe, expect, it } from 'vitest';
import type { Diagnostic } from '@prometeu/packer-protocol';
import { parseDeclaration } from '../../server/src/domain/declaration.js';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { convertAll } from '../../server/src/lsp/file-diagnostics.js';
import { locate, parseJsonText } from '../../server/src/lsp/locate.js';

const DEMO_CAVE = `{
  "schema_version": 1,
  "asset_uuid": "4d52ebaa-93f1-4a69-9e8f-d92bc42c776b",
  "name": "cave_map",
  "type": "blob",
  "inputs": { "data": ["cave.map", "../x.bin"] },
  "output": { "format": "BLOB/raw_v1", "codec": "LZ4" },
  "preload": { "enabeld": false }
}`;

/** The text a diagnostic of the parser points at in `text`. */
function pointed(text: string, diagnostic: Diagnostic): string {
  const span = locate(parseJsonText(text), { kind: 'declaration', root: 'levels/cave' }, diagnostic);
  return text.slice(span.offset, span.offset + span.length);
}

describe('locating diagnostics', () => {
  it('points a misspelt key at the key itself', () => {
    const [diagnostic] = parseDeclaration('levels/cave', DEMO_CAVE).diagnostics;
    expect(diagnostic?.code).toBe('declaration-invalid');
    expect(pointed(DEMO_CAVE, diagnostic!)).toBe('"enabeld"');
  });

  it('points an input that climbs out of its root and a codec the type does not allow at their values', () => {
    const text = DEMO_CAVE.replace('enabeld', 'enabled');
    const diagnostics = parseDeclaration('levels/cave', text).diagnostics;
    expect(diagnostics.map((d) => [d.code, pointed(text, d)])).toEqual([
      ['input-outside-root', '"../x.bin"'],
      ['output-contract-mismatch', '"LZ4"'],
    ]);
  });

  it('points a syntax error at where the JSON breaks', () => {
    const text = '{"schema_version": 1,, "name": "x"}';
    const [diagnostic] = parseDeclaration('a', text).diagnostics;
    expect(diagnostic?.code).toBe('declaration-unreadable');
    const span = locate(parseJsonText(text), { kind: 'declaration', root: 'a' }, diagnostic!);
    expect(span.offset).toBe(text.indexOf(',,') + 1);
  });

  it('covers the whole document where nothing narrower exists', () => {
    const text = '{"a": 1}';
    const span = locate(
      parseJsonText(text),
      { kind: 'declaration', root: 'a' },
      { code: 'nested-root', family: 'structural', severity: 'error', blocking: true, message: 'nested' },
    );
    expect(span).toEqual({ offset: 0, length: text.length });
  });
});

describe('locating without parsing the whole file', () => {
  it('gives the range the full parse gives, for every prefix, deletion and line ending of a declaration', () => {
    const file = { kind: 'declaration', root: 'levels/cave' } as const;
    const variants = new Set<string>();
    for (const base of [DEMO_CAVE, DEMO_CAVE.replaceAll('\n', '\r\n'), `\uFEFF${DEMO_CAVE}`, `/* c */${DEMO_CAVE}`]) {
      for (let index = 0; index <= base.length; index++) {
        variants.add(base.slice(0, index));
        variants.add(base.slice(0, index) + base.slice(index + 1));
      }
    }
    variants.add(DEMO_CAVE.replace('"schema_version": 1', '"schema_version": [1]'));
    variants.add(DEMO_CAVE.replace('"name": "cave_map",', '"name": "cave_map", "asset_uuid": "second",'));
    const codes = ['unregistered-root', 'unknown-asset-type', 'declaration-unsupported-version'] as const;
    const uriOf = (path: string): string => `file:///p/assets/${path}`;
    for (const text of variants) {
      const document = TextDocument.create('file:///p/assets/levels/cave/asset.json', 'json', 0, text);
      for (const code of codes) {
        const diagnostic: Diagnostic = {
          code,
          family: 'structural',
          severity: 'error',
          blocking: false,
          message: code,
        };
        const span = locate(parseJsonText(text), file, diagnostic);
        const expected = {
          start: document.positionAt(span.offset),
          end: document.positionAt(span.offset + span.length),
        };
        const [converted] = convertAll([diagnostic], text, file, 'levels/cave/asset.json', uriOf);
        expect(converted!.range, `${code} in ${JSON.stringify(text)}`).toEqual(expected);
      }
    }
  });
});
