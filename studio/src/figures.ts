// Figures: every count, flag and outcome the views display, each carrying the packer field it was read from.

/**
 * Where a displayed value came from: a response (`from` is the request's short name, and for writes the
 * `operationId` it answered) or an event (`from: 'event'` with its `sequence`), and the path inside that
 * message: `result.counts.errors`, `result.assets.length`, `event.body.outcome.materialized`.
 */
export interface FigureSource {
  readonly from: string;
  readonly path: string;
  /** For `from: 'event'`: the event's sequence. */
  readonly sequence?: number;
  /** For write responses: the operation it answered. */
  readonly operationId?: string;
}

/** One displayed value and its source. The adapter never computes a figure the packer did not send. */
export interface Figure {
  /** What it is, for a person: `Errors`, `Artifacts`. */
  readonly label: string;
  readonly value: number | string | boolean | null;
  readonly source: FigureSource;
}

/** Reads `path` (dot-separated, `length` allowed on arrays) from a value; undefined when any step is missing. */
export function readPath(value: unknown, path: string): unknown {
  let current: unknown = value;
  for (const step of path.split('.')) {
    if (current === null || current === undefined) return undefined;
    if (Array.isArray(current) && step === 'length') current = current.length;
    else if (typeof current === 'object') current = (current as Record<string, unknown>)[step];
    else return undefined;
  }
  return current;
}

/** Builds a figure by reading `path` from `message` (a response message or `{ event }`), so value and source cannot disagree. */
export function figure(label: string, message: unknown, source: FigureSource): Figure {
  const value = readPath(message, source.path);
  return {
    label,
    value: typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean' ? value : null,
    source,
  };
}
