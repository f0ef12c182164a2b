// docs/diagnostics.md documents every stable diagnostic code, so every codeDescription link has a target.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES } from '@prometeu/packer-protocol';
import { codeDocumentation } from '../../server/src/lsp/file-diagnostics.js';

const docs = readFileSync(new URL('../../docs/diagnostics.md', import.meta.url), 'utf8');

describe('the diagnostics reference', () => {
  it('has one section per diagnostic code, with its meaning', () => {
    const headings = [...docs.matchAll(/^## (.+)$/gm)].map((match) => match[1]);
    expect(headings).toEqual(Object.keys(DIAGNOSTIC_CODES));
    for (const [code, info] of Object.entries(DIAGNOSTIC_CODES))
      expect(docs.includes(info.meaning), `the meaning of ${code}`).toBe(true);
  });

  it('is where each diagnostic links, by the anchor of its code', () => {
    expect(codeDocumentation('input-missing')).toBe(
      new URL('../../docs/diagnostics.md#input-missing', import.meta.url).href,
    );
  });
});
