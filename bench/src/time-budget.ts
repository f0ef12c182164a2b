/** The run's time budget: the wall time each suite spent at each size and on its once-per-run rows, printed after the run as a table. */
import type { WaitSite } from './server-process.js';
import { formatCount } from './statistics.js';

/** One cell of the budget: a suite (or a step of the run) at one size, or once per run (`roots` undefined). */
export interface BudgetEntry {
  readonly suite: string;
  readonly roots?: number;
  readonly seconds: number;
}

/** Collects the seconds of a run by suite and size; the order of first mention is the order of the table. */
export class TimeBudget {
  /** Invariant: per suite, seconds by size, with `once` the once-per-run part. */
  private readonly cells = new Map<string, Map<number | 'once', number>>();

  /** Adds `seconds` to `suite` at `roots` (undefined: once per run). */
  add(suite: string, roots: number | undefined, seconds: number): void {
    const row = this.cells.get(suite) ?? new Map<number | 'once', number>();
    this.cells.set(suite, row);
    const key = roots ?? 'once';
    row.set(key, (row.get(key) ?? 0) + seconds);
  }

  /** Sets `suite`'s once-per-run part to what its `totalSeconds` leaves after its sizes. */
  settle(suite: string, totalSeconds: number): void {
    const row = this.cells.get(suite) ?? new Map<number | 'once', number>();
    this.cells.set(suite, row);
    let sizes = 0;
    for (const [key, seconds] of row) if (key !== 'once') sizes += seconds;
    row.set('once', Math.max(0, totalSeconds - sizes));
  }

  /** Every cell, for the JSON samples. */
  entries(): BudgetEntry[] {
    const entries: BudgetEntry[] = [];
    for (const [suite, row] of this.cells)
      for (const [key, seconds] of row) entries.push({ suite, ...(key !== 'once' ? { roots: key } : {}), seconds });
    return entries;
  }

  /**
   * The table: one line per suite with its seconds at each of `sizes`, once per run and in all, then a line
   * per size of every suite together, and the run's `totalSeconds` (with what no suite accounts for).
   */
  format(sizes: readonly number[], totalSeconds: number, markdown = false): string {
    const header = ['suite', ...sizes.map(formatCount), 'once per run', 'in all'];
    const lines: string[][] = [];
    const perSize = new Map<number | 'once', number>();
    let accounted = 0;
    const seconds = (value: number | undefined): string => (value === undefined ? '—' : value.toFixed(0));
    for (const [suite, row] of this.cells) {
      let all = 0;
      for (const [key, value] of row) {
        all += value;
        perSize.set(key, (perSize.get(key) ?? 0) + value);
      }
      accounted += all;
      lines.push([suite, ...sizes.map((roots) => seconds(row.get(roots))), seconds(row.get('once')), seconds(all)]);
    }
    lines.push([
      'every suite',
      ...sizes.map((roots) => seconds(perSize.get(roots))),
      seconds(perSize.get('once')),
      seconds(accounted),
    ]);
    lines.push([
      'the run',
      ...sizes.map(() => ''),
      `other ${seconds(totalSeconds - accounted)}`,
      seconds(totalSeconds),
    ]);
    return renderTable(header, lines, markdown, 1);
  }
}

/** One call site's idle waits in one scope, as server-process.ts counts them (`idleWaitSites`). */
export type WaitSiteEntry = WaitSite;

/**
 * The idle waits by call site: one line per scope (a suite at a size) and site whose waits took at least
 * `minSeconds` in all, largest first, with how much of it the server was still working (a row measured
 * "until idle" measures that part) and how much was the quiet stretch the wait had to see.
 */
export function formatWaitSites(entries: readonly WaitSiteEntry[], markdown = false, minSeconds = 1): string {
  const header = ['scope', 'site', 'waits', 'continued', 'seconds', 'server working', 'quiet stretch'];
  const kept = entries.filter((entry) => entry.ms / 1000 >= minSeconds).sort((a, b) => b.ms - a.ms);
  const lines = kept.map((entry) => [
    entry.scope,
    entry.site,
    String(entry.waits),
    String(entry.continued),
    (entry.ms / 1000).toFixed(1),
    (entry.workingMs / 1000).toFixed(1),
    (entry.quietMs / 1000).toFixed(1),
  ]);
  const rest = entries.filter((entry) => entry.ms / 1000 < minSeconds);
  const sum = (values: readonly WaitSiteEntry[], pick: (entry: WaitSiteEntry) => number): string =>
    (values.reduce((total, entry) => total + pick(entry), 0) / 1000).toFixed(1);
  const count = (values: readonly WaitSiteEntry[], pick: (entry: WaitSiteEntry) => number): string =>
    String(values.reduce((total, entry) => total + pick(entry), 0));
  const totals = (label: string, values: readonly WaitSiteEntry[]): string[] => [
    label,
    '',
    count(values, (entry) => entry.waits),
    count(values, (entry) => entry.continued),
    sum(values, (entry) => entry.ms),
    sum(values, (entry) => entry.workingMs),
    sum(values, (entry) => entry.quietMs),
  ];
  lines.push(totals(`the other ${rest.length} sites`, rest), totals('every wait', entries));
  return renderTable(header, lines, markdown, 2);
}

/**
 * A table as markdown, or as plain text in aligned columns: the first `textColumns` columns left-aligned, the
 * figures after them right-aligned.
 */
function renderTable(
  header: readonly string[],
  lines: readonly (readonly string[])[],
  markdown: boolean,
  textColumns: number,
): string {
  if (markdown) {
    const row = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
    return [row(header), row(header.map(() => '---')), ...lines.map(row)].join('\n');
  }
  const widths = header.map((cell, column) => Math.max(cell.length, ...lines.map((line) => line[column]!.length)));
  const pad = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column < textColumns ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ');
  return [pad(header), ...lines.map(pad)].join('\n');
}
