/**
 * Test setup: a test that writes to the console fails, so stray logging cannot hide in test output
 * (and cannot hide on the server's stdout, which is the wire).
 */
import { afterEach, beforeEach } from 'vitest';

const methods = ['log', 'info', 'debug', 'warn', 'error'] as const;
let written: string[] = [];
const originals = new Map<string, (...args: unknown[]) => void>();

beforeEach(() => {
  written = [];
  for (const method of methods) {
    originals.set(method, console[method]);
    console[method] = (...args: unknown[]) => {
      written.push(`console.${method}: ${args.map(String).join(' ')}`);
    };
  }
});

afterEach(() => {
  for (const method of methods) console[method] = originals.get(method)!;
  if (written.length > 0) throw new Error(`The test wrote to the console:\n${written.join('\n')}`);
});
