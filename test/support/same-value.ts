/** Deep equality of parsed JSON values that also compares key order and prototypes, for the fast-path tests. */

/**
 * Whether `a` and `b` are the same JSON value with their keys in the same order and the same prototypes.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Array.isArray(a) !== Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const keysA = Reflect.ownKeys(a);
  const keysB = Reflect.ownKeys(b);
  if (keysA.length !== keysB.length || keysA.some((key, index) => key !== keysB[index])) return false;
  return keysA.every((key) =>
    sameValue((a as Record<string | symbol, unknown>)[key], (b as Record<string | symbol, unknown>)[key]),
  );
}
