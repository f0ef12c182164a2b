/**
 * Checks of a decoded frame before it reaches vscode-jsonrpc: is it a JSON-RPC 2.0 message, which id can an
 * answer carry, and how deep does it nest. Nothing here recurses, so no input can overflow the stack.
 */

/** Whether a value can be a request id: a string or an integer (JSON-RPC reserves `null` for answers). */
export function isRequestId(value: unknown): value is string | number {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
}

/** The id an error answer to `value` should carry: its own when usable, else `null`. */
export function answerIdOf(value: unknown): string | number | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const id = (value as Record<string, unknown>)['id'];
  return isRequestId(id) ? id : null;
}

/** Whether `value` is a request or notification (has a `method`), as opposed to a response. */
export function isCall(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'method' in value;
}

/** Whether `value` is the params of `$/cancelRequest`, which vscode-jsonrpc reads without checking. */
function isCancelParams(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && 'id' in value;
}

/** Why a decoded value is not a valid JSON-RPC 2.0 message, or undefined when it is one. */
export function messageProblem(value: unknown): string | undefined {
  if (Array.isArray(value)) return 'batch messages are not supported; send one message per frame';
  if (typeof value !== 'object' || value === null) return 'a message must be a JSON object';
  const message = value as Record<string, unknown>;
  if (message['jsonrpc'] !== '2.0') return 'the "jsonrpc" member must be exactly "2.0"';
  if ('method' in message) {
    if (typeof message['method'] !== 'string') return 'the "method" member must be a string';
    if (message['method'] === '') return 'the "method" member must not be empty';
    if ('id' in message && !isRequestId(message['id']))
      return message['id'] === null
        ? 'a request\'s "id" must be a string or an integer, not null (send a notification without "id" instead)'
        : 'the "id" member must be a string or an integer';
    // `null` is taken as absent: LSP clients (Emacs eglot among them) send it where there is nothing to say.
    if ('params' in message && message['params'] !== null && typeof message['params'] !== 'object')
      return 'the "params" member must be an object or an array';
    if (message['method'] === '$/cancelRequest' && !isCancelParams(message['params']))
      return 'the params of $/cancelRequest must be an object with an "id"';
    return undefined;
  }
  if ('id' in message && ('result' in message || 'error' in message)) {
    if (message['id'] !== null && !isRequestId(message['id']))
      return 'a response\'s "id" must be a string, an integer or null';
    return undefined;
  }
  return 'a message needs a "method" (request or notification) or an "id" with a "result" or "error" (response)';
}

/**
 * Whether the JSON text in `bytes` nests arrays and objects deeper than `limit` (the outermost value is
 * level 1). One pass over the bytes, no recursion; the text is expected to be valid JSON (UTF-8 multibyte
 * sequences never contain the ASCII bytes looked at).
 */
export function jsonNestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < bytes.length; index++) {
    const byte = bytes[index]!;
    if (inString) {
      if (byte === 0x5c) index++;
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) inString = true;
    else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > limit) return true;
    } else if (byte === 0x7d || byte === 0x5d) depth--;
  }
  return false;
}

/** Whether `json` holds more than `limit` opening brackets (`{` and `[`), strings included: found with `indexOf`. */
function moreOpeningsThan(json: string, limit: number): boolean {
  let count = 0;
  for (const bracket of ['{', '[']) {
    for (let index = json.indexOf(bracket); index !== -1; index = json.indexOf(bracket, index + 1))
      if (++count > limit) return true;
  }
  return false;
}

/**
 * Whether the JSON text `json` (as `JSON.stringify` wrote it) nests arrays and objects deeper than `limit`,
 * the outermost value being level 1: the same count as {@link jsonNestsDeeperThan}, over a string. One pass,
 * no allocation. A text with at most `limit` opening brackets anywhere cannot nest deeper, which `indexOf`
 * tells without the character loop (a server's first megabyte of publications runs that loop unoptimised).
 */
export function jsonTextDeeperThan(json: string, limit: number): boolean {
  if (!moreOpeningsThan(json, limit)) return false;
  let depth = 0;
  let inString = false;
  for (let index = 0; index < json.length; index++) {
    const code = json.charCodeAt(index);
    if (inString) {
      if (code === 0x5c) index++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x7b || code === 0x5b) {
      if (++depth > limit) return true;
    } else if (code === 0x7d || code === 0x5d) depth--;
  }
  return false;
}

/**
 * Why `value` cannot be serialised safely within `limit` levels of nesting, or undefined when it can: too
 * deep (a cycle counts as infinitely deep) or holding a BigInt. `level` is the level `value` itself sits
 * at in the message. An explicit stack, no recursion.
 */
export function unserialisableReason(value: unknown, limit: number, level = 1): string | undefined {
  // Two parallel stacks (values and their depths) keep the walk cheap on wide results.
  const values: unknown[] = [value];
  const depths: number[] = [level];
  while (values.length > 0) {
    const current = values.pop();
    const depth = depths.pop()!;
    if (typeof current === 'bigint') return 'it holds a BigInt, which JSON cannot represent';
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return `it nests deeper than ${limit} levels (or holds a cycle)`;
    if (typeof (current as { toJSON?: unknown }).toJSON === 'function') continue;
    if (Array.isArray(current)) {
      for (const item of current) {
        values.push(item);
        depths.push(depth + 1);
      }
    } else {
      const record = current as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        values.push(record[key]);
        depths.push(depth + 1);
      }
    }
  }
  return undefined;
}
