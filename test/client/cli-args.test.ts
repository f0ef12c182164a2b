/**
 * Parsing the `packer` command line and formatting its human output, without a server.
 */
import { describe, expect, it } from 'vitest';
import { MAIN_HELP, parseAssetReference, parseCommandLine } from '../../client/src/cli/args.js';
import { formatTable, plural } from '../../client/src/cli/format.js';

describe('packer command line', () => {
  it('reads an asset reference as an id, a uuid or a root path', () => {
    expect(parseAssetReference('12')).toEqual({ assetId: 12 });
    expect(parseAssetReference('3F2B8C1E-6D0A-4C1B-9A57-2E4F1D9C8B70')).toEqual({ assetUuid: '3f2b8c1e-6d0a-4c1b-9a57-2e4f1d9c8b70' });
    expect(parseAssetReference('./ui\\hero/')).toEqual({ root: 'ui/hero' });
  });

  it('parses a command with its options and project folder, defaulting the folder to the current one', () => {
    expect(parseCommandLine(['doctor', '--workspace', '--json', 'game'])).toEqual({ kind: 'command', command: 'doctor', projectDir: 'game', json: true, workspace: true, asset: undefined });
    expect(parseCommandLine(['show', 'hero'])).toMatchObject({ kind: 'command', command: 'show', projectDir: '.', asset: { root: 'hero' } });
  });

  it('turns every malformed command line into a usage error, never an exception', () => {
    for (const argv of [[], ['frob'], ['show'], ['list', '--bogus'], ['list', '--workspace'], ['list', 'a', 'b'], ['status', '--version']]) {
      expect(parseCommandLine(argv).kind).toBe('usageError');
    }
  });

  it('gives help for the CLI and for each command, and the main help documents the exit codes', () => {
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help', text: MAIN_HELP });
    expect(parseCommandLine(['show', '--help'])).toMatchObject({ kind: 'help', text: expect.stringContaining('Usage: packer show <asset>') });
    for (const code of ['0 ', '1 ', '2 ', '3 ', '4 ']) expect(MAIN_HELP).toContain(`\n  ${code}`);
  });
});

describe('packer output', () => {
  it('aligns table columns and trims trailing spaces', () => {
    expect(formatTable([['ID', 'NAME', 'X'], ['12', 'a', ''], ['3', 'longer', 'z']])).toBe('ID  NAME    X\n12  a\n3   longer  z');
    expect(plural(1, 'error')).toBe('1 error');
    expect(plural(2, 'error')).toBe('2 errors');
  });
});
