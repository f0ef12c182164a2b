/**
 * A read-only map that shares its entries with the map it was patched from: a base `Map` plus the few keys
 * set or deleted since, so a snapshot after a commit indexes only what the commit changed.
 */

/** Marks a key deleted in a patch. */
export const DELETED: unique symbol = Symbol('deleted');

/** A patch: each key's new value, or {@link DELETED}. */
export type MapPatch<K, V> = ReadonlyMap<K, V | typeof DELETED>;

/**
 * The most keys a shared map's delta holds before the map is copied flat: each patch copies the delta, so
 * it stays small; a flat copy costs one pass over every key, once every many commits.
 */
function flattenAt(baseSize: number): number {
  return Math.max(256, Math.ceil(Math.sqrt(baseSize) * 8));
}

class SharedMap<K, V> implements ReadonlyMap<K, V> {
  /** Never changed after construction; shared with every map patched from this one. */
  readonly base: ReadonlyMap<K, V>;
  /** Never changed after construction: the keys that differ from {@link base}. */
  readonly delta: ReadonlyMap<K, V | typeof DELETED>;
  readonly size: number;

  constructor(base: ReadonlyMap<K, V>, delta: ReadonlyMap<K, V | typeof DELETED>, size: number) {
    this.base = base;
    this.delta = delta;
    this.size = size;
  }

  get(key: K): V | undefined {
    const changed = this.delta.get(key);
    if (changed !== undefined) return changed === DELETED ? undefined : changed;
    return this.base.get(key);
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  *#entries(): Generator<[K, V]> {
    for (const [key, value] of this.base) {
      const changed = this.delta.get(key);
      if (changed === undefined) yield [key, value];
      else if (changed !== DELETED) yield [key, changed];
    }
    for (const [key, changed] of this.delta) if (changed !== DELETED && !this.base.has(key)) yield [key, changed];
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
  const base = previous instanceof SharedMap ? (previous.base as ReadonlyMap<K, V>) : previous;
  const delta = new Map<K, V | typeof DELETED>(
    previous instanceof SharedMap ? (previous.delta as ReadonlyMap<K, V | typeof DELETED>) : [],
  );
  for (const [key, value] of patch) {
    const original = base.get(key);
    if (value === DELETED ? original === undefined : original === value) delta.delete(key);
    else delta.set(key, value);
  }
  if (delta.size <= flattenAt(base.size)) return new SharedMap(base, delta, size);
  return flattened(base, delta);
}

/**
 * `base` with `delta` applied, as one flat `Map`, in the order a {@link SharedMap} of the two iterates: the
 * copy of a `Map` is native, where iterating the shared map's generator cost a validation round at open (every
 * asset's record changes, so every index is flattened every few batches) a third of its patches.
 */
function flattened<K, V>(base: ReadonlyMap<K, V>, delta: ReadonlyMap<K, V | typeof DELETED>): Map<K, V> {
  // A key set again keeps its place; a new key comes after every key of the base, in the delta's order.
  const flat = new Map<K, V>(base as Map<K, V>);
  for (const [key, value] of delta) {
    if (value === DELETED) flat.delete(key);
    else flat.set(key, value);
  }
  return flat;
}
