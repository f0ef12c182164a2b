/** `BLOB/raw_v1`: the payload is the exact bytes of the asset's one `data` input. */
import type { Diagnostic } from '@prometeu/packer-protocol';
import { ASSET_TYPES } from '../../domain/asset-types.js';
import {
  checkMetadataKeys,
  checkRoles,
  declaredInputs,
  type AssetFormat,
  type BlockedAsset,
  type FormatAsset,
  type MaterializedAsset,
  type RoleRule,
} from './format.js';

/** The one input role of a blob. */
const BLOB_ROLES: readonly RoleRule[] = [
  { role: 'data', min: 1, max: 1, describe: 'files', content: 'Any bytes: the file is the payload, unchanged.' },
];

function validate(asset: FormatAsset): Diagnostic[] {
  return [...checkRoles(asset, BLOB_ROLES), ...checkMetadataKeys(asset, [])];
}

function materialize(asset: FormatAsset): MaterializedAsset | BlockedAsset {
  const problems = validate(asset);
  if (problems.length > 0) return { blocked: problems };
  const path = declaredInputs(asset, 'data')[0]!;
  const payload = asset.inputs.get(path);
  if (payload === undefined) throw new Error(`BLOB/raw_v1: input ${path} of ${asset.root} was not provided.`);
  return { payload, decodedSize: payload.length, bankType: ASSET_TYPES['blob']!.bankType, codec: 'NONE', metadata: {} };
}

/** The raw blob format: type `blob`, inputs `{ "data": [one file] }`, no metadata. */
export const BLOB_RAW_V1: AssetFormat = Object.freeze({
  format: 'BLOB/raw_v1',
  type: 'blob',
  version: 1,
  inputRoles: BLOB_ROLES,
  // The payload is the input itself: nothing to save by caching it.
  cached: false,
  validate,
  materialize,
});
