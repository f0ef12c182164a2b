/** The bench's statistics helpers on the lists a long run produces. */
import { describe, expect, it } from 'vitest';
import { maximum, percentile } from '../../bench/src/statistics.js';

describe('bench statistics', () => {
  it('finds the largest of more values than a spread into Math.max can take', () => {
    const values = Array.from({ length: 300_000 }, (_, index) => (index * 7919) % 300_001);
    values[123_456] = 1e9;
    expect(maximum(values)).toBe(1e9);
    expect(percentile(values, 100)).toBe(1e9);
  });

  it('says NaN for the largest of no value, like the other statistics', () => {
    expect(maximum([])).toBeNaN();
  });
});
