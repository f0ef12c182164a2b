/** The "how it grows" report: each size-dependent operation at every size, its cost per asset, and a growth verdict from a log-log fit. */
import type { ReportRow } from './report.js';
import { formatBytes, formatCount, formatMilliseconds } from './statistics.js';

/** Above this exponent (of the total cost against the roots) an operation grows faster than linearly. */
export const SUPER_LINEAR_EXPONENT = 1.15;
/** From this exponent up to {@link SUPER_LINEAR_EXPONENT} an operation grows linearly. */
export const LINEAR_EXPONENT = 0.85;
/** Up to this exponent an operation costs about the same at every size. */
export const FLAT_EXPONENT = 0.15;
/** The verdict's fit uses only the sizes from this many roots up (where fixed costs no longer dominate), when it has two. */
export const FIT_FROM_ROOTS = 10_000;

/** A figure read back from a row's subject: milliseconds or bytes, and whether it is already per asset. */
export interface Figure {
  readonly value: number;
  readonly unit: 'ms' | 'bytes';
  readonly perAsset: boolean;
}

const UNIT_SCALE: Readonly<Record<string, { readonly unit: Figure['unit']; readonly scale: number }>> = {
  µs: { unit: 'ms', scale: 1e-3 },
  ms: { unit: 'ms', scale: 1 },
  s: { unit: 'ms', scale: 1000 },
  B: { unit: 'bytes', scale: 1 },
  KiB: { unit: 'bytes', scale: 1024 },
  MiB: { unit: 'bytes', scale: 1024 * 1024 },
  GiB: { unit: 'bytes', scale: 1024 * 1024 * 1024 },
};

/**
 * The first duration or byte count in `subject`, as `formatMilliseconds` and `formatBytes` write them
 * ("1.27 s", "539 µs", "23.2 KiB/asset"), or undefined when it holds none (a count such as "50/50", a rate
 * such as "224,990/s").
 */
export function parseFigure(subject: string): Figure | undefined {
  const match = /(?:^|[\s(;:=])(\d[\d,]*(?:\.\d+)?)\s?(µs|ms|s|B|KiB|MiB|GiB)(\/asset)?(?![\p{L}\d/])/u.exec(subject);
  if (match === null) return undefined;
  const { unit, scale } = UNIT_SCALE[match[2]!]!;
  return { value: Number(match[1]!.replaceAll(',', '')) * scale, unit, perAsset: match[3] !== undefined };
}

/**
 * The floor's figure of a row: its floor text without parentheses, the sum of its parts when every part
 * joined by " + " holds a figure ("raw parcel 51.5 ms + settle 150 ms"), else its first figure ("idle
 * 2.40 ms", "lstat 4001 + read+sha256 1 + write+fsync build/ 327 ms"); undefined when it holds none.
 */
export function floorFigure(floor: string): Figure | undefined {
  const bare = withoutParentheses(floor);
  const parts = bare.split(' + ').map(parseFigure);
  if (parts.length > 1 && parts.every((part) => part !== undefined && part.unit === parts[0]!.unit && !part.perAsset))
    return { value: parts.reduce((sum, part) => sum + part!.value, 0), unit: parts[0]!.unit, perAsset: false };
  return parseFigure(bare);
}

function withoutParentheses(text: string): string {
  let previous: string;
  let current = text;
  do {
    previous = current;
    current = current.replace(/\s*\([^()]*\)/g, '');
  } while (current !== previous);
  return current;
}

function sizePattern(roots: number): RegExp {
  return new RegExp(`(^|\\s)${formatCount(roots)}(?=[\\s,;:]|$)`, 'g');
}

/** Whether `metric` is a child row ("  … of which …"), which qualifies the row above it. */
function isChild(metric: string): boolean {
  return /^\s*…/.test(metric);
}

/**
 * The name of the operation a row measures, the same at every size: its metric without the size, without
 * anything in parentheses (repetition counts, byte counts), with a child row ("  … the same against …")
 * prefixed by its parent's operation.
 */
export function operationOf(metric: string, roots: number, parent?: string): string {
  const bare = withoutParentheses(metric)
    .replace(sizePattern(roots), '$1')
    .replace(/\s+/g, ' ')
    .replace(/\s+([,;:])/g, '$1')
    .replace(/[,;:]\s*$/, '')
    .trim();
  return isChild(metric) && parent !== undefined ? `${parent} ${bare}` : bare;
}

/**
 * Tags the rows one suite measured at `roots` with that size and their operation, and names the size in
 * every metric that does not name it yet (before its first parenthesis), so each row of the main table says
 * which size it is. Child rows keep their text: their parent names the size.
 */
export function tagRows(rows: readonly ReportRow[], roots: number): ReportRow[] {
  let parent: string | undefined;
  return rows.map((row) => {
    const operation = operationOf(row.metric, roots, parent);
    if (!isChild(row.metric)) parent = operation;
    let metric = row.metric;
    if (!isChild(metric) && !sizePattern(roots).test(withoutParentheses(metric))) {
      const open = metric.indexOf(' (');
      const size = formatCount(roots);
      metric = open < 0 ? `${metric} ${size}` : `${metric.slice(0, open)} ${size}${metric.slice(open)}`;
    }
    return { ...row, metric, roots, operation };
  });
}

/** One point of a series: a size and the operation's total cost there. */
export interface GrowthPoint {
  readonly roots: number;
  readonly value: number;
}

/**
 * The least-squares slope of log(value) against log(roots): the exponent k of value ∝ roots^k (1 is linear).
 * Undefined with fewer than two distinct sizes or a value that is not positive.
 */
export function fitExponent(points: readonly GrowthPoint[]): number | undefined {
  if (points.some((point) => !(point.value > 0) || !(point.roots > 0))) return undefined;
  const xs = points.map((point) => Math.log(point.roots));
  const ys = points.map((point) => Math.log(point.value));
  const meanX = xs.reduce((sum, x) => sum + x, 0) / xs.length;
  const meanY = ys.reduce((sum, y) => sum + y, 0) / ys.length;
  let covariance = 0;
  let variance = 0;
  for (let index = 0; index < xs.length; index++) {
    covariance += (xs[index]! - meanX) * (ys[index]! - meanY);
    variance += (xs[index]! - meanX) ** 2;
  }
  return variance > 0 ? covariance / variance : undefined;
}

/** How an operation grows, from the exponent of its total cost: flat, sub-linear, linear or super-linear. */
export type GrowthVerdict = 'flat' | 'sub-linear' | 'linear' | 'super-linear' | 'one size';

/** The verdict of an exponent; `one size` when there is none. */
export function growthVerdict(exponent: number | undefined): GrowthVerdict {
  if (exponent === undefined || !Number.isFinite(exponent)) return 'one size';
  if (exponent > SUPER_LINEAR_EXPONENT) return 'super-linear';
  if (exponent >= LINEAR_EXPONENT) return 'linear';
  if (exponent > FLAT_EXPONENT) return 'sub-linear';
  return 'flat';
}

/** One operation across the sizes. */
export interface GrowthLine {
  readonly operation: string;
  readonly unit: Figure['unit'];
  /** The row's figure at each size, as the subject shows it (per asset when the row reports per asset). */
  readonly figures: ReadonlyMap<number, number>;
  /** Whether the figures are per asset already (resident memory per asset). */
  readonly perAsset: boolean;
  /** The exponent of the total cost between the smallest two sizes, when measured at both. */
  readonly smallExponent?: number;
  /** The exponent the verdict uses: the fit over the sizes from {@link FIT_FROM_ROOTS} up, or over all. */
  readonly exponent?: number;
  /** The floor's figure at each size, where the row's floor holds one of the same unit (see {@link floorFigure}). */
  readonly floors: ReadonlyMap<number, number>;
  /** The same fit as {@link exponent} of the floor's figures, so a reader can tell the server's growth from the work's. */
  readonly floorExponent?: number;
  readonly verdict: GrowthVerdict;
}

function totalOf(figure: number, roots: number, perAsset: boolean): number {
  return perAsset ? figure * roots : figure;
}

/**
 * The operation names of a row whose subject holds `parts` figures separated by "; " ("26.0 ms; 300 ms"),
 * when its last clause names as many ("… of which the backend's own start; until 'watching'"): one name per
 * figure. Otherwise the operation alone, for the first figure.
 */
function partNames(operation: string, parts: number): string[] {
  if (parts < 2) return [operation];
  const child = operation.lastIndexOf(' … ');
  const head = child < 0 ? '' : operation.slice(0, child + 3);
  const names = operation.slice(head.length).split('; ');
  return names.length === parts ? names.map((name) => `${head}${name}`) : [operation];
}

/**
 * The growth lines of every tagged row with a figure, in the order their operations first appear. A row
 * whose subject and metric name several figures ("p50 during the pack; the pack itself") gives one line per
 * figure. A row measured twice at one size keeps its first figure.
 */
export function growthLines(rows: readonly ReportRow[]): GrowthLine[] {
  const series = new Map<
    string,
    { unit: Figure['unit']; perAsset: boolean; figures: Map<number, number>; floors: Map<number, number> }
  >();
  const add = (operation: string, roots: number, figure: Figure, floor?: Figure): void => {
    let entry = series.get(operation);
    if (entry === undefined) {
      entry = { unit: figure.unit, perAsset: figure.perAsset, figures: new Map(), floors: new Map() };
      series.set(operation, entry);
    }
    if (entry.unit !== figure.unit || entry.perAsset !== figure.perAsset || entry.figures.has(roots)) return;
    entry.figures.set(roots, figure.value);
    if (floor !== undefined && floor.unit === figure.unit && floor.perAsset === figure.perAsset)
      entry.floors.set(roots, floor.value);
  };
  for (const row of rows) {
    if (row.roots === undefined || row.operation === undefined) continue;
    const parts = row.subject.split('; ');
    const names = partNames(row.operation, parts.length);
    if (names.length === parts.length && parts.length > 1) {
      names.forEach((name, index) => {
        const figure = parseFigure(parts[index]!);
        if (figure !== undefined) add(name, row.roots!, figure);
      });
      continue;
    }
    const figure = parseFigure(row.subject);
    if (figure !== undefined) add(row.operation, row.roots, figure, floorFigure(row.floor));
  }
  return [...series].map(([operation, entry]) => {
    const points = [...entry.figures]
      .sort(([a], [b]) => a - b)
      .map(([roots, figure]) => ({ roots, value: totalOf(figure, roots, entry.perAsset) }));
    const large = points.filter((point) => point.roots >= FIT_FROM_ROOTS);
    const exponent = fitExponent(large.length >= 2 ? large : points);
    const smallExponent = points.length >= 2 ? fitExponent(points.slice(0, 2)) : undefined;
    // The floor's fit over the same sizes as the subject's, and only when the floor was read at all of them.
    const fitted = (large.length >= 2 ? large : points).map((point) => point.roots);
    const floorPoints = fitted.flatMap((roots) => {
      const floor = entry.floors.get(roots);
      return floor === undefined ? [] : [{ roots, value: totalOf(floor, roots, entry.perAsset) }];
    });
    const floorExponent = floorPoints.length === fitted.length ? fitExponent(floorPoints) : undefined;
    return {
      operation,
      unit: entry.unit,
      perAsset: entry.perAsset,
      figures: entry.figures,
      floors: entry.floors,
      ...(smallExponent !== undefined ? { smallExponent } : {}),
      ...(exponent !== undefined ? { exponent } : {}),
      ...(floorExponent !== undefined ? { floorExponent } : {}),
      verdict: growthVerdict(exponent),
    };
  });
}

function formatFigure(value: number, unit: Figure['unit']): string {
  return unit === 'ms' ? formatMilliseconds(value) : formatBytes(value);
}

/** A cost per asset: like {@link formatFigure}, with three significant digits below a millisecond (µs, ns) and a byte. */
export function formatPerAsset(value: number, unit: Figure['unit']): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'bytes') return value >= 1 ? formatBytes(value) : `${value.toPrecision(2)} B`;
  if (value >= 1) return formatMilliseconds(value);
  const micro = value * 1000;
  if (micro >= 1) return `${micro.toPrecision(3)} µs`;
  return `${(micro * 1000).toPrecision(3)} ns`;
}

function formatExponent(exponent: number | undefined): string {
  return exponent === undefined ? '—' : exponent.toFixed(2);
}

function growthCells(lines: readonly GrowthLine[]): { header: string[]; cells: string[][] } {
  const sizes = [...new Set(lines.flatMap((line) => [...line.figures.keys()]))].sort((a, b) => a - b);
  const largeSizes = sizes.filter((roots) => roots >= FIT_FROM_ROOTS);
  const fitLabel =
    largeSizes.length >= 2 ? `${largeSizes.map(formatCount).join('→')}` : `${sizes.map(formatCount).join('→')}`;
  const smallLabel = sizes.slice(0, 2).map(formatCount).join('→');
  // The exponent between the two smallest sizes gets its own column only when the verdict's fit is another.
  const small = sizes.length >= 2 && smallLabel !== fitLabel;
  const header = [
    'operation',
    ...sizes.map(formatCount),
    ...sizes.map((roots) => `per asset ${formatCount(roots)}`),
    ...(small ? [`k ${smallLabel}`] : []),
    `k ${fitLabel}`,
    `floor k ${fitLabel}`,
    'growth',
  ];
  const cells = lines.map((line) => {
    const figure = (roots: number): string => {
      const value = line.figures.get(roots);
      return value === undefined ? '—' : formatFigure(value, line.unit);
    };
    const perAsset = (roots: number): string => {
      const value = line.figures.get(roots);
      if (value === undefined) return '—';
      return formatPerAsset(line.perAsset ? value : value / roots, line.unit);
    };
    return [
      line.operation,
      ...sizes.map(figure),
      ...sizes.map(perAsset),
      ...(small ? [formatExponent(line.smallExponent)] : []),
      formatExponent(line.exponent),
      formatExponent(line.floorExponent),
      line.verdict,
    ];
  });
  return { header, cells };
}

const LEGEND =
  `k is the exponent of a log-log fit of the total cost against the roots (cost ∝ roots^k; per-asset rows are ` +
  `multiplied by the roots first): 1 is linear; above ${SUPER_LINEAR_EXPONENT} is super-linear, a bug to fix or explain. ` +
  `floor k is the same fit of the floor measured beside it in the same run (its text's figure, or the sum of its ` +
  `" + " parts): when the floor grows as fast, the growth is the work's, not the server's.`;

/** The growth report as a plain-text table with a one-line legend, for the terminal. */
export function formatGrowthTable(rows: readonly ReportRow[]): string {
  const lines = growthLines(rows);
  if (lines.length === 0) return 'How it grows: no operation was measured at more than one size.';
  const { header, cells } = growthCells(lines);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const render = (line: readonly string[]): string =>
    line
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [
    'How it grows',
    render(header),
    render(widths.map((width) => '-'.repeat(width))),
    ...cells.map(render),
    LEGEND,
  ].join('\n');
}

/** The growth report as a Markdown table with its legend, for docs/performance.md. */
export function formatGrowthMarkdown(rows: readonly ReportRow[]): string {
  const lines = growthLines(rows);
  if (lines.length === 0) return 'No operation was measured at more than one size.';
  const { header, cells } = growthCells(lines);
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...cells.map((line) => `| ${line.join(' | ')} |`),
    '',
    LEGEND,
  ].join('\n');
}
