/**
 * Small edge cases found in review, each pinned by the test that would have caught it.
 */
import { describe, expect, it } from 'vitest';
import { parseDeclaration } from '../../server/src/domain/declaration.js';
import { checkAssetsPath } from '../../server/src/domain/paths.js';
import { parseRegistry } from '../../server/src/domain/registry.js';

describe('edge cases', () => {
  it('a registry saved with a UTF-8 byte-order mark is read, not reported as invalid JSON, and only its layout is reported', () => {
    const parsed = parseRegistry('\uFEFF{"assets":[],"next_asset_id":1,"schema_version":1}\n');
    expect(parsed.registry).not.toBeNull();
    expect(parsed.diagnostics.map((diagnostic) => [diagnostic.code, diagnostic.blocking])).toEqual([
      ['registry-not-canonical', false],
    ]);
    expect(parsed.diagnostics[0]!.message).toContain('byte-order mark');
  });

  it('the control folder is refused whatever its case, since case-insensitive file systems treat them alike', () => {
    expect(checkAssetsPath('.PROMETEU/index.json')).toEqual({ ok: false, reason: 'control-data' });
    expect(checkAssetsPath('.Prometeu')).toEqual({ ok: false, reason: 'control-data' });
    expect(checkAssetsPath('sprites/.prometeu')).toEqual({ ok: true, path: 'sprites/.prometeu' });
  });

  it('an asset.json holding a number says so in plain words', () => {
    const parsed = parseDeclaration('hero', '42');
    expect(parsed.diagnostics[0]!.message).toBe('hero/asset.json must hold a JSON object, not a number.');
  });
});
