/**
 * The limits the packer enforces on untrusted input (requests and files in the repository), as plain
 * rules checked before anything is touched. Every function here is iterative, so no input can exhaust
 * the stack.
 */
import { MAX_COMPONENT_BYTES, MAX_JSON_DEPTH, MAX_PATH_BYTES } from '@prometeu/packer-protocol';

// The numbers live in the protocol package, so that the published file schemas state the same limits.
export { MAX_COMPONENT_BYTES, MAX_JSON_DEPTH, MAX_PATH_BYTES };

/** Whether `name` holds a C0 or C1 control character or DEL (never valid in a name the packer writes). */
export function hasControlCharacter(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f-\u009f]/.test(name);
}

/** The UTF-8 length of `text` in bytes. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/**
 * The deepest nesting of `[` and `{` in a JSON text, counting only brackets outside strings. Linear and
 * iterative; meaningful for valid JSON (for invalid text it is an upper bound that JSON.parse rejects anyway).
 */
export function jsonTextDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (code === 0x5d || code === 0x7d) depth--;
  }
  return deepest;
}

/**
 * Whether a value (from a request or a parsed file) nests arrays and objects deeper than `limit`. Walks
 * with an explicit stack and stops at the first level past the limit, so its cost is bounded by the size
 * of the value up to that depth. Cycles cannot occur in parsed JSON; a visited set guards anyway.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const { value: current, depth } = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > limit) return true;
    if (seen.has(current)) continue;
    seen.add(current);
    const children = Array.isArray(current) ? current : Object.values(current as Record<string, unknown>);
    for (const child of children)
      if (typeof child === 'object' && child !== null) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}
