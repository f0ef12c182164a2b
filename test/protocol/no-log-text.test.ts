/**
 * The client library and the CLI read no log text for meaning: `window/logMessage` reaches the client only
 * to be passed on to its listeners, nothing in the client subscribes to it, and the CLI never asks for it.
 * Refusals and outcomes arrive as declared messages (`packer/submissionRefused`, terminal events).
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repositoryRoot, sourceFiles } from './source-imports.js';

/** Every line of the package's sources that mentions `pattern`, as `file:line: text`. */
function linesMatching(folder: string, pattern: RegExp): string[] {
  const found: string[] = [];
  for (const file of sourceFiles(folder)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, index) => {
        if (pattern.test(line)) found.push(`${relative(repositoryRoot, file)}:${index + 1}: ${line.trim()}`);
      });
  }
  return found;
}

describe('no log text is read for meaning', () => {
  it('the client only hands window/logMessage to its listeners and subscribes to none itself', () => {
    const mentions = linesMatching('client/src', /window\/logMessage|logListeners|onLogMessage\(/).filter(
      (line) => !/^\S+:\d+: (\*|\/\/|\/\*\*)/.test(line),
    );
    expect(mentions.length).toBeGreaterThan(0);
    // The declaration of the listener set, the public subscribe method, and the one dispatch case.
    expect(mentions.every((line) => line.startsWith('client/src/packer-client.ts:'))).toBe(true);
    expect(mentions.filter((line) => line.includes("case 'window/logMessage'"))).toHaveLength(1);
    expect(mentions.filter((line) => /\.onLogMessage\(/.test(line))).toEqual([]);
  });

  it('the CLI never subscribes to log messages', () => {
    expect(linesMatching('cli/src', /onLogMessage|window\/logMessage|LogMessage/)).toEqual([]);
  });
});
