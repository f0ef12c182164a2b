/**
 * Property test of `IndexedPaths`: over seeded random sequences of sets, deletes and clears (keys set in order
 * and out of order, deleted and set again), the keys it finds within folders are those a test of every key of
 * a plain `Map` finds, and it holds the same entries.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IndexedPaths } from '../../server/src/domain/indexed-paths.js';

const SEGMENTS = ['a', 'b', 'a0', 'a-b', 'ab', 'z', 'é'];

const path = fc
  .array(fc.constantFrom(...SEGMENTS), { minLength: 1, maxLength: 4 })
  .map((segments) => segments.join('/'));

type Step =
  | { readonly kind: 'set'; readonly key: string; readonly value: number }
  | { readonly kind: 'setMany'; readonly keys: readonly string[] }
  | { readonly kind: 'delete'; readonly key: string }
  | { readonly kind: 'clear' }
  | { readonly kind: 'within'; readonly folders: readonly string[] };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), key: path, value: fc.integer() }) },
  // Many keys at once, sometimes in order: more than the unsorted list scans, so the sort in is exercised.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(path, { minLength: 0, maxLength: 1500 }), fc.boolean())
      .map(([keys, ordered]) => ({ kind: 'setMany' as const, keys: ordered ? [...keys].sort() : keys })),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: path }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('within' as const), folders: fc.array(path, { maxLength: 3 }) }),
  },
);

function within(key: string, folders: readonly string[]): boolean {
  return folders.some((folder) => key === folder || key.startsWith(`${folder}/`));
}

describe('IndexedPaths', () => {
  it('finds within folders exactly the keys a test of every key of a plain map finds, whatever was set and deleted before', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const indexed = new IndexedPaths<number>();
        const plain = new Map<string, number>();
        for (const [index, next] of steps.entries()) {
          if (next.kind === 'set') {
            indexed.set(next.key, next.value);
            plain.set(next.key, next.value);
          } else if (next.kind === 'setMany') {
            for (const key of next.keys) {
              indexed.set(key, index);
              plain.set(key, index);
            }
          } else if (next.kind === 'delete') expect(indexed.delete(next.key)).toBe(plain.delete(next.key));
          else if (next.kind === 'clear') {
            indexed.clear();
            plain.clear();
          } else {
            const found = indexed.keysWithin(next.folders);
            expect(new Set(found).size).toBe(found.length);
            expect([...found].sort()).toEqual([...plain.keys()].filter((key) => within(key, next.folders)).sort());
          }
          expect(indexed.size).toBe(plain.size);
        }
        expect(new Map(indexed)).toEqual(plain);
      }),
      { seed: 1313, numRuns: 300, endOnFailure: true },
    );
  });
});
