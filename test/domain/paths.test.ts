/**
 * Unit tests of the workspace path rules: canonical forms and every refusal.
 */
import { describe, expect, it } from 'vitest';
import {
  CONTROL_FOLDER,
  checkAssetsPath,
  checkRelativePath,
  isWithin,
  joinAssetsPath,
  parentOf,
} from '../../server/src/domain/paths.js';

describe('checkRelativePath', () => {
  it.each([
    ['hero.png', 'hero.png'],
    ['sprites/hero/idle.png', 'sprites/hero/idle.png'],
    ['./hero.png', 'hero.png'],
    ['sprites/./hero.png', 'sprites/hero.png'],
    ['sprites/hero/', 'sprites/hero'],
    ['sprites/.', 'sprites'],
    ['.hidden/file', '.hidden/file'],
    ['...', '...'],
    ['name with spaces/Ünïcode.png', 'name with spaces/Ünïcode.png'],
  ])('accepts %j in the canonical form %j', (input, canonical) => {
    expect(checkRelativePath(input)).toEqual({ ok: true, path: canonical });
  });

  it.each([
    ['/etc/passwd', 'absolute'],
    ['/', 'absolute'],
    ['C:/Users/hero.png', 'absolute'],
    ['c:hero.png', 'absolute'],
    ['..', 'parent-segment'],
    ['../hero.png', 'parent-segment'],
    ['sprites/../../hero.png', 'parent-segment'],
    ['sprites/..', 'parent-segment'],
    ['sprites/../hero.png', 'parent-segment'],
    ['', 'empty-segment'],
    ['.', 'empty-segment'],
    ['./', 'empty-segment'],
    ['sprites//hero.png', 'empty-segment'],
    ['sprites/hero//', 'empty-segment'],
    ['sprites\\hero.png', 'invalid-character'],
    ['..\\hero.png', 'invalid-character'],
    ['hero\0.png', 'invalid-character'],
  ])('refuses %j as %s', (input, reason) => {
    expect(checkRelativePath(input)).toEqual({ ok: false, reason });
  });

  it('does not treat the control folder specially when the path is relative to an asset root', () => {
    expect(checkRelativePath('.prometeu/index.json')).toEqual({ ok: true, path: '.prometeu/index.json' });
  });
});

describe('checkAssetsPath', () => {
  it('accepts an ordinary root in canonical form', () => {
    expect(checkAssetsPath('./characters/hero/')).toEqual({ ok: true, path: 'characters/hero' });
  });

  it.each([CONTROL_FOLDER, '.prometeu/index.json', './.prometeu', '.prometeu/', 'sprites/../.prometeu'])(
    'refuses %j, which names the control folder or escapes',
    (input) => {
      const checked = checkAssetsPath(input);
      expect(checked.ok).toBe(false);
    },
  );

  it('refuses the control folder itself and anything inside it with the control-data reason', () => {
    expect(checkAssetsPath('.prometeu')).toEqual({ ok: false, reason: 'control-data' });
    expect(checkAssetsPath('./.prometeu/journal')).toEqual({ ok: false, reason: 'control-data' });
  });

  it('accepts folders whose names merely start like the control folder', () => {
    expect(checkAssetsPath('.prometeu-old/hero')).toEqual({ ok: true, path: '.prometeu-old/hero' });
    expect(checkAssetsPath('nested/.prometeu')).toEqual({ ok: true, path: 'nested/.prometeu' });
  });

  it('reports the general refusals before the control-folder rule', () => {
    expect(checkAssetsPath('/.prometeu')).toEqual({ ok: false, reason: 'absolute' });
    expect(checkAssetsPath('.prometeu/../x')).toEqual({ ok: false, reason: 'parent-segment' });
  });
});

describe('path helpers', () => {
  it('joins a root and a relative path, and an empty root means assets/ itself', () => {
    expect(joinAssetsPath('characters/hero', 'hero.png')).toBe('characters/hero/hero.png');
    expect(joinAssetsPath('', 'asset.json')).toBe('asset.json');
  });

  it('isWithin holds for the folder itself and its descendants, not for siblings sharing a prefix', () => {
    expect(isWithin('ui', 'ui')).toBe(true);
    expect(isWithin('ui', 'ui/icons')).toBe(true);
    expect(isWithin('ui', 'ui-old/icons')).toBe(false);
    expect(isWithin('ui/icons', 'ui')).toBe(false);
  });

  it('parentOf climbs one segment and reaches the empty string at the top', () => {
    expect(parentOf('a/b/c')).toBe('a/b');
    expect(parentOf('a')).toBe('');
  });
});
