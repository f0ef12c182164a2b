/** The benchmark's result table: one row per metric with subject, floor, ratio, goal and verdict. */

/** One row of the result table. */
export interface ReportRow {
  readonly metric: string;
  readonly subject: string;
  readonly floor: string;
  /** subject / floor, or undefined when the metric has no floor to divide by. */
  readonly ratio?: number;
  /** The highest acceptable ratio, or undefined when the figure is reported without a goal. */
  readonly goal?: number;
  /** The size in asset roots the row was measured at, when it is one of a series measured at every size (see growth.ts). */
  readonly roots?: number;
  /** The operation the row measures, the same at every size; set together with `roots`. */
  readonly operation?: string;
}

/** Whether a row met its goal: `met`, `not met`, or `reported` for rows without a goal. */
export function verdictOf(row: ReportRow): string {
  if (row.goal === undefined || row.ratio === undefined) return 'reported';
  return row.ratio <= row.goal ? 'met' : 'not met';
}

/** A ratio with two decimals, or three when two would hide which side of the goal it falls on. */
function formatRatio(row: ReportRow): string {
  if (row.ratio === undefined) return '—';
  const close = row.goal !== undefined && Math.abs(row.ratio - row.goal) < 0.005;
  return `${row.ratio.toFixed(close ? 3 : 2)}×`;
}

/** Formats rows as a plain-text table that reads well in a terminal and pastes into Markdown as a code block. */
export function formatTable(rows: readonly ReportRow[]): string {
  const header = ['metric', 'subject', 'floor', 'ratio', 'goal', 'result'];
  const cells = rows.map((row) => [
    row.metric,
    row.subject,
    row.floor,
    formatRatio(row),
    row.goal !== undefined ? `≤ ${row.goal}×` : '—',
    verdictOf(row),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const render = (line: readonly string[]): string =>
    line
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return [render(header), render(widths.map((width) => '-'.repeat(width))), ...cells.map(render)].join('\n');
}

/** Formats rows as a Markdown table, for docs/performance.md. */
export function formatMarkdownTable(rows: readonly ReportRow[]): string {
  const lines = ['| metric | subject | floor | ratio | goal | result |', '|---|---|---|---|---|---|'];
  for (const row of rows) {
    lines.push(
      `| ${row.metric} | ${row.subject} | ${row.floor} | ${formatRatio(row)} | ${row.goal !== undefined ? `≤ ${row.goal}×` : '—'} | ${verdictOf(row)} |`,
    );
  }
  return lines.join('\n');
}
