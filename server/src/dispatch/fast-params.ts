/**
 * Hand-written checks of the commonest params of the hot reads, tried before the declaration's zod schema:
 * each accepts only a shape the schema certainly accepts and returns what the schema would return for it;
 * anything else (including every invalid input) returns undefined, and the schema decides and words the error.
 */
import {
  MAX_DIAGNOSTICS_DELAY_MS,
  type InitializeParams,
  type ParamsOf,
  type packerRequests,
} from '@prometeu/packer-protocol';
import type { z } from 'zod';
import { isObject } from '../domain/plain-values.js';

type Requests = typeof packerRequests;

/** The longest `projectId` the protocol accepts (`ProjectId` in protocol/src/common.ts). */
const MAX_PROJECT_ID_LENGTH = 256;

/** A plain object (not an array, not a class instance) whose own enumerable keys are exactly `keys`, in any order. */
function hasExactly(value: unknown, keys: readonly string[]): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return false;
  let count = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    if (!keys.includes(key)) return false;
    count++;
  }
  return count === keys.length;
}

/**
 * `packer/getAssetDetails` params naming the asset by id, `{ projectId, asset: { assetId } }` as every
 * client sends them: a project id of 1 to 256 characters and a positive safe integer.
 */
export function fastAssetDetailsParams(raw: unknown): ParamsOf<Requests['getAssetDetails']> | undefined {
  if (!hasExactly(raw, ['projectId', 'asset'])) return undefined;
  const { projectId, asset } = raw;
  if (typeof projectId !== 'string' || projectId.length === 0 || projectId.length > MAX_PROJECT_ID_LENGTH)
    return undefined;
  if (!hasExactly(asset, ['assetId'])) return undefined;
  const assetId = asset['assetId'];
  if (typeof assetId !== 'number' || !Number.isSafeInteger(assetId) || assetId <= 0) return undefined;
  return { projectId, asset: { assetId } };
}

/**
 * A plain JSON object (not null, not an array) that a loose zod object gives back with every key: one with an
 * own `__proto__` key (JSON.parse makes those) is left to the schema, which drops that key.
 */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return isObject(value) && !Object.hasOwn(value, '__proto__');
}

/**
 * `initialize` params, checked by hand so that answering `initialize` builds no zod schema (start-up, issue
 * 13 goal 8): accepted only where every field the schema declares has the type it declares, and then returned
 * as they are (the schema's loose objects keep every key, so its result holds the same values). Anything
 * else returns undefined and the schema decides.
 */
export function fastInitializeParams(raw: unknown): z.output<typeof InitializeParams> | undefined {
  if (!isPlainObject(raw)) return undefined;
  const { processId, clientInfo, rootUri, workspaceFolders, capabilities, trace, initializationOptions } = raw;
  if (processId !== null && (typeof processId !== 'number' || !Number.isSafeInteger(processId))) return undefined;
  if (clientInfo !== undefined) {
    if (!isPlainObject(clientInfo) || typeof clientInfo['name'] !== 'string') return undefined;
    if (clientInfo['version'] !== undefined && typeof clientInfo['version'] !== 'string') return undefined;
  }
  if (rootUri !== undefined && rootUri !== null && typeof rootUri !== 'string') return undefined;
  if (workspaceFolders !== undefined && workspaceFolders !== null) {
    if (!Array.isArray(workspaceFolders)) return undefined;
    for (const folder of workspaceFolders as unknown[]) {
      if (!isPlainObject(folder) || typeof folder['name'] !== 'string') return undefined;
      const uri = folder['uri'];
      if (typeof uri !== 'string' || !uri.startsWith('file:')) return undefined;
    }
  }
  if (!isPlainObject(capabilities)) return undefined;
  if (trace !== undefined && trace !== 'off' && trace !== 'messages' && trace !== 'verbose') return undefined;
  if (initializationOptions !== undefined) {
    if (!isPlainObject(initializationOptions)) return undefined;
    const { autoReconcile, diagnosticsDelayMs: delay } = initializationOptions;
    if (autoReconcile !== undefined && typeof autoReconcile !== 'boolean') return undefined;
    if (delay !== undefined && (typeof delay !== 'number' || !(delay >= 0 && delay <= MAX_DIAGNOSTICS_DELAY_MS)))
      return undefined;
  }
  return raw as z.output<typeof InitializeParams>;
}
