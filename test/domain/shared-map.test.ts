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

  it('holds the same through patches large enough to fold and flatten maps of thousands of keys, whatever their phase', () => {
    const keys = 3_000;
    // Patches of up to 1,200 keys (fast-check keeps generated arrays short, so their keys are spread from a seed).
    const big = fc
      .tuple(fc.integer({ min: 0, max: 1_200 }), fc.integer({ min: 1, max: 997 }), fc.integer({ min: 0, max: 3 }))
      .map(([count, stride, value]) =>
        Array.from(
          { length: count },
          (_, index) =>
            [(index * stride + value) % keys, (index + value) % 5 === 0 ? null : (index % 4) + value] as const,
        ),
      );
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: keys }),
        fc.array(big, { minLength: 1, maxLength: 10 }),
        (start, patches) => {
          let plain = new Map(Array.from({ length: start }, (_, key) => [key, 0] as [number, number]));
          // Three maps patched in step, as a snapshot's indexes are: each must hold what the plain map holds.
          let shared: ReadonlyMap<number, number>[] = [new Map(plain), new Map(plain), new Map(plain)];
          const first: [ReadonlyMap<number, number>, Map<number, number>][] = [];
          for (const changes of patches) {
            const mapPatch: Map<number, number | typeof DELETED> = new Map();
            for (const [key, value] of changes) mapPatch.set(key, value === null ? DELETED : value);
            plain = new Map(plain);
            for (const [key, value] of mapPatch)
              if (value === DELETED) plain.delete(key);
              else plain.set(key, value);
            shared = shared.map((map) => patchMap(map, mapPatch as MapPatch<number, number>));
            if (first.length === 0) first.push([shared[0]!, plain]);
            for (const map of shared) {
              expect(map.size).toBe(plain.size);
              expect([...map].sort((a, b) => a[0] - b[0])).toEqual([...plain].sort((a, b) => a[0] - b[0]));
              for (let key = 0; key < keys; key += 7) expect(map.get(key)).toBe(plain.get(key));
            }
          }
          const [map, held] = first[0]!;
          expect([...map].sort((a, b) => a[0] - b[0])).toEqual([...held].sort((a, b) => a[0] - b[0]));
        },
      ),
      { seed: 1314, numRuns: 12, endOnFailure: true },
    );
  });
});
