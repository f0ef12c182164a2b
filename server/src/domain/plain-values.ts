/**
 * Tests of plain JSON values shared by the checks that validate a parsed file without its zod schema (the
 * declaration's and the registry's fast paths): each is exactly as strict as the schema's own rule.
 */

/** A lowercase RFC 4122-shaped UUID, the schema's `AssetUuid` pattern. */
export const LOWERCASE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether `value` is a plain JSON object (as `JSON.parse` makes them: not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` is a string of at least one character (`z.string().min(1)`). */
export function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** Whether `value` is what `z.number().int().positive()` accepts: a safe integer above zero. */
export function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}
