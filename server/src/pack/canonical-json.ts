/** Canonical JSON: the one serialisation the packer writes into `assets.pa` and hashes for its cache keys. */
import { compareStrings } from '../domain/crawl.js';
import { SliceClock } from './slice.js';

/** A JSON value as the packer writes it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A JSON object as the packer writes it. */
export type JsonObject = { readonly [key: string]: JsonValue };

/** How {@link canonicalJson} lays the text out. */
export interface CanonicalJsonOptions {
  /** Spaces per nesting level; 0 (the default) writes no whitespace at all. */
  readonly indent?: number;
  /** Accept finite non-integer numbers (cache keys hash user declarations, which may hold them). */
  readonly allowFractions?: boolean;
}

/**
 * Serialises `value` canonically: object keys sorted recursively by UTF-16 code unit, arrays in their
 * order, strings escaped as `JSON.stringify` escapes them, and numbers limited to safe integers (-0 is
 * written as 0) unless `allowFractions` is set. Throws a TypeError naming the offending place for
 * anything else (fractions, NaN, undefined, functions, class instances): such a value is a bug in the caller.
 */
export function canonicalJson(value: unknown, options: CanonicalJsonOptions = {}): string {
  return serializeAny(value, options.indent ?? 0, options.allowFractions ?? false, '$', 0);
}

/**
 * {@link serialize}, by `JSON.stringify` when that writes the very same text: every object's keys already in
 * sorted order and every value one {@link serialize} accepts (checked first, without building any text). The
 * packer builds its large values in that order, so the text is produced natively, several times faster.
 */
function serializeAny(value: unknown, indent: number, allowFractions: boolean, where: string, depth: number): string {
  if (!stringifiesCanonically(value, allowFractions)) return serialize(value, indent, allowFractions, where, depth);
  return nativeText(value, indent, depth);
}

/** `JSON.stringify` of a value {@link stringifiesCanonically} accepted, laid out at `depth`. */
function nativeText(value: unknown, indent: number, depth: number): string {
  const text = JSON.stringify(value, null, indent > 0 ? indent : undefined);
  // Strings hold no raw line breaks (JSON escapes them), so every one is a layout break to indent further.
  return indent > 0 && depth > 0 ? text.replace(/\n/g, `\n${' '.repeat(indent * depth)}`) : text;
}

/**
 * Whether `JSON.stringify(value)` is `value`'s canonical text: null, booleans, strings, numbers {@link serialize}
 * accepts (it writes them with `JSON.stringify` too, and -0 as 0 like it), dense plain arrays, and plain objects
 * (without `toJSON`) whose keys `Object.keys` lists in sorted order, which is the order `JSON.stringify` writes.
 */
function stringifiesCanonically(value: unknown, allowFractions: boolean): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return true;
    case 'number':
      return allowFractions ? Number.isFinite(value) : Number.isSafeInteger(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype || Object.hasOwn(value, 'toJSON')) return false;
    for (let index = 0; index < value.length; index++)
      if (!(index in value) || !stringifiesCanonically(value[index], allowFractions)) return false;
    return true;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return false;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index]!;
    if ((index > 0 && !(keys[index - 1]! < key)) || key === 'toJSON') return false;
    if (!stringifiesCanonically(record[key], allowFractions)) return false;
  }
  return true;
}

function serialize(value: unknown, indent: number, allowFractions: boolean, where: string, depth: number): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`Canonical JSON: ${where} is ${value}, which JSON cannot hold.`);
      if (!allowFractions && !Number.isSafeInteger(value))
        throw new TypeError(`Canonical JSON: ${where} is ${value}; only safe integers are allowed.`);
      return Object.is(value, -0) ? '0' : JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new TypeError(`Canonical JSON: ${where} is a ${typeof value}, which JSON cannot hold.`);
  }
  const open = indent > 0 ? `\n${' '.repeat(indent * (depth + 1))}` : '';
  const close = indent > 0 ? `\n${' '.repeat(indent * depth)}` : '';
  const separator = indent > 0 ? `,${open}` : ',';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items: string[] = [];
    for (let index = 0; index < value.length; index++) {
      if (!(index in value)) throw new TypeError(`Canonical JSON: ${where}[${index}] is a hole in a sparse array.`);
      items.push(serialize(value[index], indent, allowFractions, `${where}[${index}]`, depth + 1));
    }
    return `[${open}${items.join(separator)}${close}]`;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null)
    throw new TypeError(`Canonical JSON: ${where} is not a plain object.`);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort(compareStrings);
  if (keys.length === 0) return '{}';
  const colon = indent > 0 ? ': ' : ':';
  const members = keys.map(
    (key) =>
      `${JSON.stringify(key)}${colon}${serialize(record[key], indent, allowFractions, `${where}.${key}`, depth + 1)}`,
  );
  return `{${open}${members.join(separator)}${close}}`;
}

/** Arrays at least this long are serialised in runs by {@link canonicalJsonSliced}, with yields between. */
const SLICED_ARRAY_LENGTH = 64;
/** Items of a long array serialised in one piece (a run) between two yields: about 100 KiB of asset records. */
const SLICED_ITEMS = 256;

/**
 * The same text as {@link canonicalJson}, produced in slices of a few ms of work with the event loop let run
 * between them (see slice.ts), so that a large value (the asset table of thousands of
 * assets, the registry) never holds the main thread for long. Only long arrays, and the objects that hold
 * them, are walked here; every smaller value goes to the synchronous serializer in one piece.
 */
export async function canonicalJsonSliced(
  value: unknown,
  options: CanonicalJsonOptions & {
    /** The nesting level `value` is laid out at, for text spliced into a larger indented document. */
    readonly depth?: number;
  } = {},
): Promise<string> {
  return serializeSliced(
    value,
    options.indent ?? 0,
    options.allowFractions ?? false,
    '$',
    options.depth ?? 0,
    new SliceClock(),
  );
}

/** Whether `value` is, or directly holds, an array long enough to be serialised in slices. */
function isLarge(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.length >= SLICED_ARRAY_LENGTH;
  if (depth > 0) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return false;
  return Object.values(value as Record<string, unknown>).some((member) => isLarge(member, depth + 1));
}

async function serializeSliced(
  value: unknown,
  indent: number,
  allowFractions: boolean,
  where: string,
  depth: number,
  clock: SliceClock,
): Promise<string> {
  if (!isLarge(value, 0)) {
    await clock.pause();
    return serializeAny(value, indent, allowFractions, where, depth);
  }
  // The layout below mirrors serialize() exactly; only the walk is spread over slices.
  const open = indent > 0 ? `\n${' '.repeat(indent * (depth + 1))}` : '';
  const close = indent > 0 ? `\n${' '.repeat(indent * depth)}` : '';
  const separator = indent > 0 ? `,${open}` : ',';
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let from = 0; from < value.length; from += SLICED_ITEMS) {
      const to = Math.min(value.length, from + SLICED_ITEMS);
      const run = value.slice(from, to);
      // A run of small items whose text JSON.stringify writes canonically is written by it in one call, the
      // run's own brackets cut off: the same items with the same separators, without an await, a place name
      // and a check per item (at 10k assets that walk cost about 100 ms of the pack).
      if (run.every((item) => !isLarge(item, 0)) && stringifiesCanonically(run, allowFractions)) {
        const text = nativeText(run, indent, depth);
        items.push(text.slice(1 + open.length, text.length - 1 - close.length));
        await clock.pause();
        continue;
      }
      for (let index = from; index < to; index++) {
        if (!(index in value)) throw new TypeError(`Canonical JSON: ${where}[${index}] is a hole in a sparse array.`);
        items.push(await serializeSliced(value[index], indent, allowFractions, `${where}[${index}]`, depth + 1, clock));
      }
    }
    return `[${open}${items.join(separator)}${close}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort(compareStrings);
  const colon = indent > 0 ? ': ' : ':';
  const members: string[] = [];
  for (const key of keys)
    members.push(
      `${JSON.stringify(key)}${colon}${await serializeSliced(record[key], indent, allowFractions, `${where}.${key}`, depth + 1, clock)}`,
    );
  return `{${open}${members.join(separator)}${close}}`;
}

/**
 * The text of {@link canonicalJsonSliced} for a long array, as pieces whose concatenation is that text (its
 * brackets and separators, and the items in runs of {@link SLICED_ITEMS}), so that a caller can encode and
 * hash it piece by piece with the event loop let run between: at 100k assets the metadata's asset list is tens
 * of MiB, which encoded as one string held the main thread for a hundred milliseconds and more.
 */
export async function canonicalJsonSlicedPieces(
  items: readonly unknown[],
  options: CanonicalJsonOptions & { readonly depth?: number } = {},
): Promise<string[]> {
  const indent = options.indent ?? 0;
  const depth = options.depth ?? 0;
  if (items.length === 0) return ['[]'];
  // The layout of serializeSliced's array branch: each run is serialised as an array of its own, cut out of its brackets.
  const open = indent > 0 ? `\n${' '.repeat(indent * (depth + 1))}` : '';
  const close = indent > 0 ? `\n${' '.repeat(indent * depth)}` : '';
  const separator = indent > 0 ? `,${open}` : ',';
  const clock = new SliceClock();
  const pieces: string[] = [`[${open}`];
  for (let from = 0; from < items.length; from += SLICED_ITEMS) {
    const run = items.slice(from, from + SLICED_ITEMS);
    const text = await serializeSliced(run, indent, options.allowFractions ?? false, '$', depth, clock);
    if (from > 0) pieces.push(separator);
    pieces.push(text.slice(1 + open.length, text.length - 1 - close.length));
  }
  pieces.push(`${close}]`);
  return pieces;
}
