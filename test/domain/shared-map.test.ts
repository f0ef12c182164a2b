/**
 * Property test of the shared maps: over seeded random chains of patches (sets, deletes, keys set back to
 * their base value, patches large enough to fold the top delta and to flatten the map), every map of the
 * chain holds what a plain `Map` patched the same way holds, in `get`, `has`, `size` and iteration, and an
 * earlier map of the chain is not changed by later patches.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DELETED, patchMap, type MapPatch } from '../../server/src/domain/shared-map.js';

const KEYS = 160;

const patch = fc.array(fc.tuple(fc.integer({ min: 0, max: KEYS - 1 }), fc.option(fc.integer({ min: 0, max: 3 }))), {
  minLength: 0,
  maxLength: 80,
});

function applied(plain: ReadonlyMap<number, number>, changes: readonly [number, number | null][]): Map<number, number> {
  const next = new Map(plain);
  for (const [key, value] of changes) {
    if (value === null) next.delete(key);
    else next.set(key, value);
  }
  return next;
}

function expectSame(shared: ReadonlyMap<number, number>, plain: ReadonlyMap<number, number>): void {
  expect(shared.size).toBe(plain.size);
  expect(new Map([...shared].sort((a, b) => a[0] - b[0]))).toEqual(new Map([...plain].sort((a, b) => a[0] - b[0])));
  expect([...shared.keys()].sort((a, b) => a - b)).toEqual([...plain.keys()].sort((a, b) => a - b));
  for (let key = 0; key < KEYS; key++) {
    expect(shared.get(key)).toBe(plain.get(key));
    expect(shared.has(key)).toBe(plain.has(key));
  }
}

describe('patchMap', () => {
  it('gives at every step of a chain of patches what a plain map patched the same way holds, leaving earlier steps as they were', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: KEYS }),
        fc.array(patch, { minLength: 1, maxLength: 12 }),
        (start, patches) => {
          let plain = new Map(Array.from({ length: start }, (_, key) => [key, 0] as [number, number]));
          let shared: ReadonlyMap<number, number> = new Map(plain);
          const chain: [ReadonlyMap<number, number>, Map<number, number>][] = [];
          for (const changes of patches) {
            const mapPatch: Map<number, number | typeof DELETED> = new Map();
            // A patch holds each key once: its last change.
            for (const [key, value] of changes) mapPatch.set(key, value === null ? DELETED : value);
            const last = [...mapPatch].map(
              ([key, value]) => [key, value === DELETED ? null : value] as [number, number | null],
            );
            shared = patchMap(shared, mapPatch as MapPatch<number, number>);
            plain = applied(plain, last);
            chain.push([shared, plain]);
            expectSame(shared, plain);
          }
          const [first, firstPlain] = chain[0]!;
          expectSame(first, firstPlain);
        },
      ),
      { seed: 1313, numRuns: 40, endOnFailure: true },
    );
  });
});
