/** A small seeded pseudo-random generator (mulberry32) so that generated data and benchmarks are reproducible. */

/** A deterministic source of pseudo-random numbers; the same seed always gives the same sequence. */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [low, high], both inclusive. */
  integer(low: number, high: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** An unsigned 32-bit integer. */
  uint32(): number;
}

/**
 * Creates a mulberry32 generator. Only the low 32 bits of `seed` count. It uses neither `Math.random`
 * nor the clock, so a seed fully determines the sequence on every machine.
 */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  function uint32(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return (mixed ^ (mixed >>> 14)) >>> 0;
  }
  function next(): number {
    return uint32() / 4294967296;
  }
  return {
    next,
    uint32,
    integer(low: number, high: number): number {
      return low + Math.floor(next() * (high - low + 1));
    },
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new RangeError('pick needs a non-empty list');
      return items[Math.floor(next() * items.length)]!;
    },
  };
}

/** Shuffles `items` in place (Fisher–Yates) with `random`, and returns it. */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(random.next() * (index + 1));
    const kept = items[index]!;
    items[index] = items[other]!;
    items[other] = kept;
  }
  return items;
}
