// Unit tests of the bench's "how it grows" report: the figures it reads back, the operation names, the log-log fit and the verdict.
import { describe, expect, it } from 'vitest';
import {
  fitExponent,
  floorFigure,
  formatGrowthMarkdown,
  formatPerAsset,
  growthLines,
  growthVerdict,
  operationOf,
  parseFigure,
  tagRows,
} from '../../bench/src/growth.js';
import type { ReportRow } from '../../bench/src/report.js';

function row(metric: string, subject: string): ReportRow {
  return { metric, subject, floor: '—' };
}

describe('parseFigure', () => {
  it('reads durations and byte counts as the bench formats them', () => {
    expect(parseFigure('1.27 s')).toEqual({ value: 1270, unit: 'ms', perAsset: false });
    expect(parseFigure('539 µs; pack 1.27 s')).toEqual({ value: 0.539, unit: 'ms', perAsset: false });
    expect(parseFigure('22.5 ms')).toEqual({ value: 22.5, unit: 'ms', perAsset: false });
    expect(parseFigure('3.4 MiB')).toEqual({ value: 3.4 * 1024 * 1024, unit: 'bytes', perAsset: false });
    expect(parseFigure('23.2 KiB/asset')).toEqual({ value: 23.2 * 1024, unit: 'bytes', perAsset: true });
  });

  it('finds no figure in counts and rates', () => {
    expect(parseFigure('50/50; 50/50')).toBeUndefined();
    expect(parseFigure('224,990/s')).toBeUndefined();
    expect(parseFigure('2/2')).toBeUndefined();
    expect(parseFigure('n/a')).toBeUndefined();
  });
});

describe('operationOf and tagRows', () => {
  it('names an operation the same at every size, without its size and parentheses', () => {
    expect(operationOf('cold open 1k (median of 21)', 1_000)).toBe('cold open');
    expect(operationOf('cold open 100k (median of 7)', 100_000)).toBe('cold open');
    expect(operationOf('getAssetDetails 10k p99 (5000 calls, ~1.6 KiB)', 10_000)).toBe('getAssetDetails p99');
    expect(operationOf('keystroke → publishDiagnostics 10k, no debounce (median of 100)', 10_000)).toBe(
      'keystroke → publishDiagnostics, no debounce',
    );
  });

  it('prefixes a child row with its parent operation', () => {
    const tagged = tagRows(
      [row('cold open 10k (median of 15)', '598 ms'), row('  … until the server is idle 10k', '1.83 s')],
      10_000,
    );
    expect(tagged.map((entry) => entry.operation)).toEqual(['cold open', 'cold open … until the server is idle']);
    expect(tagged.every((entry) => entry.roots === 10_000)).toBe(true);
  });

  it('names the size in a metric that does not name it, before its first parenthesis', () => {
    const [tagged] = tagRows([row('first pack vs the same pack uncached (median of 2)', '573 ms')], 100_000);
    expect(tagged!.metric).toBe('first pack vs the same pack uncached 100k (median of 2)');
    expect(tagged!.operation).toBe('first pack vs the same pack uncached');
  });

  it('leaves a metric that names its size as it is', () => {
    const [tagged] = tagRows([row('cold open 1k (median of 21)', '100 ms')], 1_000);
    expect(tagged!.metric).toBe('cold open 1k (median of 21)');
  });
});

describe('fitExponent', () => {
  it('is 1 for a cost proportional to the roots and 2 for a quadratic one', () => {
    const linear = [1_000, 10_000, 100_000].map((roots) => ({ roots, value: roots * 0.05 }));
    const quadratic = [1_000, 10_000, 100_000].map((roots) => ({ roots, value: roots * roots * 1e-6 }));
    expect(fitExponent(linear)).toBeCloseTo(1, 10);
    expect(fitExponent(quadratic)).toBeCloseTo(2, 10);
  });

  it('is the slope between two sizes: ten times the roots at 14 times the cost is about 1.15', () => {
    expect(
      fitExponent([
        { roots: 10_000, value: 100 },
        { roots: 100_000, value: 1400 },
      ]),
    ).toBeCloseTo(Math.log10(14), 10);
  });

  it('is the least-squares slope of noisy points', () => {
    // log10 values 0, 1.1, 1.9 (mean 1) at log10 roots 3, 4, 5 (mean 4): ((−1)(−1) + 0 + (1)(0.9)) / 2 = 0.95.
    const points = [
      { roots: 1_000, value: 1 },
      { roots: 10_000, value: 10 ** 1.1 },
      { roots: 100_000, value: 10 ** 1.9 },
    ];
    expect(fitExponent(points)).toBeCloseTo(0.95, 10);
  });

  it('has no exponent for one size or a value that is not positive', () => {
    expect(fitExponent([{ roots: 10_000, value: 5 }])).toBeUndefined();
    expect(
      fitExponent([
        { roots: 10_000, value: 5 },
        { roots: 10_000, value: 6 },
      ]),
    ).toBeUndefined();
    expect(
      fitExponent([
        { roots: 1_000, value: 0 },
        { roots: 10_000, value: 6 },
      ]),
    ).toBeUndefined();
  });
});

describe('growthVerdict', () => {
  it('flags anything above 1.15 as super-linear', () => {
    expect(growthVerdict(1.16)).toBe('super-linear');
    expect(growthVerdict(2)).toBe('super-linear');
  });

  it('calls 0.85 to 1.15 linear, less sub-linear, about 0 flat', () => {
    expect(growthVerdict(1.15)).toBe('linear');
    expect(growthVerdict(0.85)).toBe('linear');
    expect(growthVerdict(0.5)).toBe('sub-linear');
    expect(growthVerdict(0.1)).toBe('flat');
    expect(growthVerdict(-0.2)).toBe('flat');
    expect(growthVerdict(undefined)).toBe('one size');
  });
});

describe('growthLines', () => {
  const rows = [
    ...tagRows(
      [row('cold open 1k (median of 21)', '100 ms'), row('resident memory per asset 1k', '30.0 KiB/asset')],
      1_000,
    ),
    ...tagRows(
      [row('cold open 10k (median of 15)', '600 ms'), row('resident memory per asset 10k', '20.0 KiB/asset')],
      10_000,
    ),
    ...tagRows(
      [row('cold open 100k (median of 7)', '12.0 s'), row('resident memory per asset 100k', '20.0 KiB/asset')],
      100_000,
    ),
    row('spawn → initialize result', '105 ms'),
    ...tagRows([row('changes reported 100k', '50/50')], 100_000),
  ];

  it('fits the sizes from 10k up for the verdict and the smallest two apart', () => {
    const [open, memory] = growthLines(rows);
    expect(open!.operation).toBe('cold open');
    expect(open!.smallExponent).toBeCloseTo(Math.log10(6), 10);
    expect(open!.exponent).toBeCloseTo(Math.log10(20), 10);
    expect(open!.verdict).toBe('super-linear');
    // A constant cost per asset is a linear total.
    expect(memory!.exponent).toBeCloseTo(1, 10);
    expect(memory!.verdict).toBe('linear');
  });

  it('leaves out rows measured once and rows without a figure', () => {
    expect(growthLines(rows).map((line) => line.operation)).toEqual(['cold open', 'resident memory per asset']);
  });

  it('prints each operation at every size with its cost per asset', () => {
    const markdown = formatGrowthMarkdown(rows);
    expect(markdown).toContain('| operation | 1k | 10k | 100k | per asset 1k | per asset 10k | per asset 100k |');
    expect(markdown).toContain(
      '| cold open | 100 ms | 600 ms | 12.00 s | 100 µs | 60.0 µs | 120 µs | 0.78 | 1.30 | — | super-linear |',
    );
  });
});

describe('growthLines of rows with several figures', () => {
  it('gives one line per figure when the metric names as many', () => {
    const rows = [1_000, 10_000].flatMap((roots) =>
      tagRows(
        [
          row(`getAssetDetails ${roots / 1000}k p99 during a full pack`, '30 ms'),
          row(
            '  … p50 during the pack; the pack itself (8726 assets, median of 2)',
            `539 µs; pack ${roots / 1000}.00 s`,
          ),
        ],
        roots,
      ),
    );
    const lines = growthLines(rows);
    expect(lines.map((line) => line.operation)).toEqual([
      'getAssetDetails p99 during a full pack',
      'getAssetDetails p99 during a full pack … p50 during the pack',
      'getAssetDetails p99 during a full pack … the pack itself',
    ]);
    expect(lines[2]!.figures.get(10_000)).toBe(10_000);
    expect(lines[2]!.exponent).toBeCloseTo(1, 10);
  });
});

describe('the floor beside each line', () => {
  it('reads a floor as its first figure, or the sum of its parts joined by " + "', () => {
    expect(floorFigure('idle 2.40 ms')).toEqual({ value: 2.4, unit: 'ms', perAsset: false });
    expect(floorFigure('raw parcel 51.5 ms + settle 150 ms')).toEqual({ value: 201.5, unit: 'ms', perAsset: false });
    expect(floorFigure('1.05 ms (rules 228 µs + no-op 824 µs)')).toEqual({ value: 1.05, unit: 'ms', perAsset: false });
    expect(floorFigure('lstat 4001 + read+sha256 1 + write+fsync build/ 327 ms')?.value).toBe(327);
    expect(floorFigure('—')).toBeUndefined();
  });

  it("fits the floor over the subject's sizes, so a super-linear subject over a super-linear floor shows both", () => {
    const rows = [1_000, 10_000, 100_000].flatMap((roots) =>
      tagRows(
        [{ metric: `listAssets ${roots / 1000}k`, subject: `${roots / 10} ms`, floor: `${(roots / 100) ** 1.2} ms` }],
        roots,
      ),
    );
    const [line] = growthLines(rows);
    expect(line!.exponent).toBeCloseTo(1, 2);
    expect(line!.floorExponent).toBeCloseTo(1.2, 2);
    expect(formatGrowthMarkdown(rows)).toContain('| k 10k→100k | floor k 10k→100k | growth |');
  });
});

describe('formatPerAsset', () => {
  it('keeps three significant digits below a microsecond and a byte', () => {
    expect(formatPerAsset(0.0194, 'ms')).toBe('19.4 µs');
    expect(formatPerAsset(0.000005, 'ms')).toBe('5.00 ns');
    expect(formatPerAsset(23.2 * 1024, 'bytes')).toBe('23.2 KiB');
    expect(formatPerAsset(0.5, 'bytes')).toBe('0.50 B');
  });
});

describe('formatGrowthMarkdown with two sizes', () => {
  it('has one exponent column when the fit is between the only two sizes', () => {
    const rows = [
      ...tagRows([row('cold open 1k', '100 ms')], 1_000),
      ...tagRows([row('cold open 10k', '1.00 s')], 10_000),
    ];
    const markdown = formatGrowthMarkdown(rows);
    expect(markdown).toContain(
      '| operation | 1k | 10k | per asset 1k | per asset 10k | k 1k→10k | floor k 1k→10k | growth |',
    );
    expect(markdown).toContain('| cold open | 100 ms | 1.00 s | 100 µs | 100 µs | 1.00 | — | linear |');
  });
});
