/**
 * Hand-written checks of the commonest params of the hot reads, tried before the declaration's zod schema:
 * each accepts only a shape the schema certainly accepts and returns what the schema would return for it;
 * anything else (including every invalid input) returns undefined, and the schema decides and words the error.
 */
import type { ParamsOf, packerRequests } from '@prometeu/packer-protocol';

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
