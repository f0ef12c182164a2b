/**
 * A read-only map that shares its entries with the map it was patched from: a base `Map` plus the few keys
 * set or deleted since, so a snapshot after a commit indexes only what the commit changed.
 */

/** Marks a key deleted in a patch. */
export const DELETED: unique symbol = Symbol('deleted');

/** A patch: each key's new value, or {@link DELETED}. */
export type MapPatch<K, V> = ReadonlyMap<K, V | typeof DELETED>;

/**
 * The most keys a shared map's middle delta holds before the map is copied flat: a flat copy costs one pass
 * over every key, once every many commits. Where the patches are large (a validation round's batches: 2,000
 * results at 100k roots), up to four patches' worth, at most an eighth of the base: with `8·√n` alone a map of
 * 100k keys patched 2,000 keys at a time was copied every second patch, three indexes at once, each copy a pass
 * over 100k keys in one turn of the event loop. `phase` (0 to 3, per base) moves the limit by up to three
 * quarters, so maps patched in step (a snapshot's three record indexes) are copied flat at different patches.
 */
function flattenAt(baseSize: number, patchSize: number, phase: number): number {
  const limit = Math.max(256, Math.ceil(Math.sqrt(baseSize) * 8), Math.min(4 * patchSize, Math.ceil(baseSize / 8)));
  return limit + Math.floor((limit * phase) / 4);
}

/** Invariant: how many plain maps (flat copies among them) were patched into a shared map so far; gives each its {@link SharedMap.phase}. */
let basesMade = 0;

/**
 * The most keys the top delta holds before it is folded into a copy of the middle one: each patch copies only
 * the top delta, so a patch costs about `TOP_AT` keys plus, once every `TOP_AT` changed keys, a copy of the
 * middle delta (instead of a copy of a delta of up to `8·√n` keys every time).
 */
const TOP_AT = 64;

class SharedMap<K, V> implements ReadonlyMap<K, V> {
  /** Never changed after construction; shared with every map patched from this one. */
  readonly base: ReadonlyMap<K, V>;
  /** Never changed after construction; shared with the maps patched from this one until their top delta is folded in. */
  readonly middle: ReadonlyMap<K, V | typeof DELETED>;
  /** Never changed after construction: the keys that differ from {@link base} and {@link middle} (it overrides both). */
  readonly top: ReadonlyMap<K, V | typeof DELETED>;
  readonly size: number;
  /** Never changed after construction; the same for every map patched from the same base (see {@link flattenAt}). */
  readonly phase: number;

  constructor(
    base: ReadonlyMap<K, V>,
    middle: ReadonlyMap<K, V | typeof DELETED>,
    top: ReadonlyMap<K, V | typeof DELETED>,
    size: number,
    phase: number,
  ) {
    this.base = base;
    this.middle = middle;
    this.top = top;
    this.size = size;
    this.phase = phase;
  }

  /** The key's value in the deltas, {@link DELETED}, or undefined when neither delta has it. */
  changed(key: K): V | typeof DELETED | undefined {
    const top = this.top.get(key);
    return top !== undefined ? top : this.middle.get(key);
  }

  get(key: K): V | undefined {
    const changed = this.changed(key);
    if (changed !== undefined) return changed === DELETED ? undefined : changed;
    return this.base.get(key);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  *#entries(): Generator<[K, V]> {
    for (const [key, value] of this.base) {
      const changed = this.changed(key);
      if (changed === undefined) yield [key, value];
      else if (changed !== DELETED) yield [key, changed];
    }
    for (const [key, changed] of this.middle)
      if (changed !== DELETED && !this.top.has(key) && !this.base.has(key)) yield [key, changed];
    for (const [key, changed] of this.top) if (changed !== DELETED && !this.base.has(key)) yield [key, changed];
  }

  entries(): MapIterator<[K, V]> {
    return this.#entries() as MapIterator<[K, V]>;
  }

  *#keys(): Generator<K> {
    for (const [key] of this.#entries()) yield key;
  }

  keys(): MapIterator<K> {
    return this.#keys() as MapIterator<K>;
  }

  *#values(): Generator<V> {
    for (const [, value] of this.#entries()) yield value;
  }

  values(): MapIterator<V> {
    return this.#values() as MapIterator<V>;
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArgument?: unknown): void {
    for (const [key, value] of this.#entries()) callback.call(thisArgument, value, key, this);
  }
}

/**
 * `previous` with `patch` applied, sharing `previous`'s entries (`previous` itself when the patch is empty).
 * Values are never undefined. Iteration order is unspecified beyond being stable for one map.
 */
export function patchMap<K, V>(previous: ReadonlyMap<K, V>, patch: MapPatch<K, V>): ReadonlyMap<K, V> {
  if (patch.size === 0) return previous;
  let size = previous.size;
  for (const [key, value] of patch) {
    const had = previous.has(key);
    if (value === DELETED) {
      if (had) size--;
    } else if (!had) size++;
  }
  const shared = previous instanceof SharedMap ? (previous as SharedMap<K, V>) : undefined;
  const base = shared !== undefined ? shared.base : previous;
  let middle: ReadonlyMap<K, V | typeof DELETED> = shared !== undefined ? shared.middle : new Map();
  const top = new Map<K, V | typeof DELETED>(shared !== undefined ? shared.top : []);
  for (const [key, value] of patch) top.set(key, value);
  if (top.size > TOP_AT) {
    // Folded into a copy of the middle delta; a key back at its base value leaves the delta.
    const folded = new Map(middle);
    for (const [key, value] of top) {
      const original = base.get(key);
      if (value === DELETED ? original === undefined : original === value) folded.delete(key);
      else folded.set(key, value);
    }
    middle = folded;
    top.clear();
  }
  const phase = shared !== undefined ? shared.phase : basesMade++ % 4;
  if (middle.size + top.size > flattenAt(base.size, patch.size, phase)) return flattened(base, middle, top);
  return new SharedMap<K, V>(base, middle, top, size, phase);
}

/**
 * `base` with the `middle` and `top` deltas applied, as one flat `Map`, in exactly the order a {@link SharedMap}
 * of the three iterates (a key of the base keeps its place; then the middle's new keys, then the top's): the copy
 * of a `Map` is native, where iterating the shared map's generator cost a validation round at open (every asset's
 * record changes, so every index is flattened every few batches) a third of its patches.
 */
function flattened<K, V>(
  base: ReadonlyMap<K, V>,
  middle: ReadonlyMap<K, V | typeof DELETED>,
  top: ReadonlyMap<K, V | typeof DELETED>,
): Map<K, V> {
  const flat = new Map<K, V>(base as Map<K, V>);
  // Setting a key the map has keeps its place; only keys the base lacks are appended, each delta in its order.
  const apply = (key: K, value: V | typeof DELETED): void => {
    if (value === DELETED) flat.delete(key);
    else flat.set(key, value);
  };
  for (const [key, value] of middle) if (!top.has(key)) apply(key, value);
  for (const [key, value] of top) apply(key, value);
  return flat;
}
