/**
 * Helpers of the studio adapter tests: turning a recorded protocol session (a transcript run's messages)
 * into reducer messages, and tracing every figure of a view back to the packer field it names.
 */
import type { PackerEvent } from '../../protocol/src/index.js';
import { readPath, type Figure, type RequestName, type StudioMessage } from '../../studio/src/index.js';

/** Turns a session's client and server messages (in arrival order) into the reducer's messages. */
export function sessionMessages(sent: readonly unknown[], received: readonly unknown[]): StudioMessage[] {
  const requests = new Map<number, { method: string; params: unknown }>();
  for (const message of sent as { id?: number; method?: string; params?: unknown }[])
    if (typeof message.id === 'number' && typeof message.method === 'string')
      requests.set(message.id, { method: message.method, params: message.params });
  const messages: StudioMessage[] = [];
  for (const message of received as Record<string, unknown>[]) {
    if (message['method'] === 'packer/event') {
      messages.push({ type: 'event', event: message['params'] as PackerEvent });
      continue;
    }
    const request = typeof message['id'] === 'number' ? requests.get(message['id']) : undefined;
    if (request === undefined || !request.method.startsWith('packer/')) continue;
    const method = request.method.slice('packer/'.length) as RequestName;
    if ('error' in message)
      messages.push({ type: 'error', method, params: request.params, error: message['error'] as never });
    else messages.push({ type: 'response', method, params: request.params, result: message['result'] } as never);
  }
  return messages;
}

/** Every figure anywhere in a value, with where it sits. */
export function figuresIn(value: unknown, at = 'state'): { at: string; figure: Figure }[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => figuresIn(item, `${at}[${index}]`));
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  if (typeof record['label'] === 'string' && 'value' in record && typeof record['source'] === 'object')
    return [{ at, figure: record as unknown as Figure }];
  return Object.entries(record).flatMap(([key, inner]) => figuresIn(inner, `${at}.${key}`));
}

/**
 * Finds the message a figure names (the event with its sequence, or the newest response of its method and
 * operation) and returns the value at its path there.
 */
export function tracedValue(figure: Figure, messages: readonly StudioMessage[]): unknown {
  const { from, path, sequence, operationId } = figure.source;
  if (from === 'event') {
    const found = messages.find((message) => message.type === 'event' && message.event.sequence === sequence);
    if (found === undefined) throw new Error(`no event ${sequence} for figure ${figure.label}`);
    return readPath(found, path);
  }
  const candidates = messages.filter(
    (message) =>
      message.type === 'response' &&
      message.method === from &&
      (operationId === undefined || (message.result as { operationId?: string }).operationId === operationId) &&
      // The navigator is built from unfiltered lists only, as the reducer does.
      !(message.method === 'listAssets' && message.params.filter !== undefined),
  );
  const found = candidates.at(-1);
  if (found === undefined) throw new Error(`no ${from} response for figure ${figure.label}`);
  return readPath(found, path);
}
