/**
 * The `initialize` params check without the schema (`fastInitializeParams`) against the schema itself: every
 * params object it accepts, the schema accepts too and gives the same values, over what real clients send
 * and random and hostile changes of it; everything else is left to the schema.
 */
import { describe, expect, it } from 'vitest';
import { InitializeParams } from '@prometeu/packer-protocol';
import { fastInitializeParams } from '../../server/src/dispatch/fast-params.js';
import { seededRandom } from '../lane/support.js';

/** Params as Neovim, eglot, Studio and the CLI send them (trimmed capabilities). */
const CLIENTS: Record<string, unknown>[] = [
  { processId: 4242, rootUri: 'file:///home/me/game', capabilities: { textDocument: { publishDiagnostics: {} } } },
  {
    processId: null,
    clientInfo: { name: 'Neovim', version: '0.9.5' },
    rootUri: null,
    workspaceFolders: [{ uri: 'file:///home/me/game', name: 'game' }],
    capabilities: { window: { workDoneProgress: true }, workspace: { fileOperations: { willRename: true } } },
    trace: 'off',
    initializationOptions: { autoReconcile: false, diagnosticsDelayMs: 0 },
  },
  { processId: 1, capabilities: {}, workspaceFolders: null, initializationOptions: {}, extra: { kept: true } },
];

const REPLACEMENTS: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  2 ** 60,
  3_600_000,
  3_600_001,
  '',
  'off',
  'loud',
  'file:///x',
  'http://x',
  [],
  [{ uri: 'file:///a', name: 'a' }],
  [{ uri: 'file:///a' }],
  [{ uri: '', name: 'a' }],
  [null],
  {},
  { name: 'c' },
  { name: 1 },
  { autoReconcile: 'yes' },
  { diagnosticsDelayMs: -5 },
];

const KEYS = [
  'processId',
  'clientInfo',
  'rootUri',
  'workspaceFolders',
  'capabilities',
  'trace',
  'initializationOptions',
  'name',
  'version',
  'uri',
  'autoReconcile',
  'diagnosticsDelayMs',
  'other',
  '__proto__',
];

function mutated(random: ReturnType<typeof seededRandom>, params: Record<string, unknown>): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(params)) as Record<string, unknown>;
  const targets: Record<string, unknown>[] = [copy];
  for (const value of Object.values(copy)) {
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      targets.push(value as Record<string, unknown>);
    if (Array.isArray(value))
      for (const item of value as unknown[])
        if (typeof item === 'object' && item !== null) targets.push(item as Record<string, unknown>);
  }
  const target = random.pick(targets);
  const key = random.pick(KEYS);
  if (random.next() < 0.2) delete target[key];
  else Object.defineProperty(target, key, { value: random.pick(REPLACEMENTS), enumerable: true, writable: true });
  return copy;
}

function agrees(raw: unknown): boolean {
  const fast = fastInitializeParams(raw);
  if (fast === undefined) return false;
  const schema = InitializeParams.safeParse(raw);
  expect(schema.success, JSON.stringify(raw)).toBe(true);
  expect(fast).toEqual(schema.data);
  return true;
}

describe('the initialize params check without the schema', () => {
  it("accepts what real clients send and gives the schema's values", () => {
    for (const params of CLIENTS) expect(agrees(JSON.parse(JSON.stringify(params)))).toBe(true);
  });

  it('never accepts what the schema refuses, over random changes of real params', () => {
    const random = seededRandom(41);
    let accepted = 0;
    let refused = 0;
    for (let round = 0; round < 4000; round++) {
      let params = random.pick(CLIENTS);
      for (let change = 1 + random.int(3); change > 0; change--) params = mutated(random, params);
      if (agrees(JSON.parse(JSON.stringify(params)))) accepted++;
      else refused++;
    }
    expect(accepted).toBeGreaterThan(200);
    expect(refused).toBeGreaterThan(200);
  });

  it('leaves non-objects and an out-of-range delay to the schema', () => {
    for (const raw of [null, [], 'x', { processId: null }, { processId: null, capabilities: [] }])
      expect(fastInitializeParams(raw)).toBeUndefined();
    const params = { processId: null, capabilities: {}, initializationOptions: { diagnosticsDelayMs: 3_600_001 } };
    expect(fastInitializeParams(params)).toBeUndefined();
    expect(InitializeParams.safeParse(params).success).toBe(false);
  });
});
