/**
 * The asset reads: `packer/listAssets` and `packer/getAssetDetails`, answered from the pinned snapshot,
 * and the resolution of an asset reference.
 */
import {
  PackerErrorCodes,
  type AssetReference,
  type ParamsOf,
  type ResultOf,
  packerRequests,
} from '@prometeu/packer-protocol';
import { severityRank } from '../domain/diagnostics.js';
import { checkAssetsPath, isWithin } from '../domain/paths.js';
import { inBuildSet, type AssetRecord, type Snapshot } from '../domain/snapshot.js';
import { PackerError } from '../errors.js';
import type { ReadContext } from '../dispatch/context.js';
import { toAssetDetails, toAssetSummary } from '../wire/convert.js';

type Requests = typeof packerRequests;

/** The unfiltered `listAssets` answer of each snapshot. */
const wholeLists = new WeakMap<Snapshot, ResultOf<Requests['listAssets']>>();

/** `packer/listAssets`. */
export function listAssets(
  context: ReadContext,
  params: ParamsOf<Requests['listAssets']>,
): ResultOf<Requests['listAssets']> {
  const filter = params.filter;
  if (filter === undefined) {
    // The whole list of a snapshot never changes: build it once, frozen, so the transport can also
    // serialise it once however many clients ask.
    let whole = wholeLists.get(context.snapshot);
    if (whole === undefined) {
      whole = Object.freeze({
        revision: context.snapshot.revision,
        assets: context.snapshot.assets.map(toAssetSummary),
      });
      wholeLists.set(context.snapshot, whole);
    }
    return whole;
  }
  let records: readonly AssetRecord[] = context.snapshot.assets;
  if (filter !== undefined) {
    const prefix = filter.rootPrefix !== undefined ? checkedPath(filter.rootPrefix) : undefined;
    const text = filter.text?.toLowerCase();
    const minRank = filter.minSeverity !== undefined ? severityRank(filter.minSeverity) : undefined;
    records = records.filter(
      (record) =>
        (filter.registered === undefined || (record.entry !== null) === filter.registered) &&
        (filter.includedInBuild === undefined || inBuildSet(record) === filter.includedInBuild) &&
        (filter.type === undefined || record.anchor?.type === filter.type) &&
        (prefix === undefined || isWithin(prefix, record.root)) &&
        (minRank === undefined || (record.worstSeverity !== null && severityRank(record.worstSeverity) <= minRank)) &&
        (text === undefined ||
          record.root.toLowerCase().includes(text) ||
          (record.anchor?.name ?? '').toLowerCase().includes(text)),
    );
  }
  return { revision: context.snapshot.revision, assets: records.map(toAssetSummary) };
}

function checkedPath(path: string): string {
  const checked = checkAssetsPath(path);
  if (!checked.ok) {
    throw new PackerError(
      PackerErrorCodes.PathOutsideProject,
      `${JSON.stringify(path)} is not a path inside assets/ (${checked.reason}).`,
      { path, reason: checked.reason },
    );
  }
  return checked.path;
}

/** Finds the asset a reference names, or throws `AssetNotFound` (or `PathOutsideProject` for a bad root). */
export function resolveAsset(snapshot: Snapshot, projectId: string, reference: AssetReference): AssetRecord {
  let record: AssetRecord | undefined;
  if ('assetId' in reference) record = snapshot.byId.get(reference.assetId);
  else if ('assetUuid' in reference) record = snapshot.byUuid.get(reference.assetUuid.toLowerCase());
  else record = snapshot.byRoot.get(checkedPath(reference.root));
  if (record === undefined) {
    const described =
      'assetId' in reference
        ? `asset_id ${reference.assetId}`
        : 'assetUuid' in reference
          ? `asset_uuid ${reference.assetUuid}`
          : `root ${reference.root}`;
    throw new PackerError(
      PackerErrorCodes.AssetNotFound,
      `No asset with ${described} at revision ${snapshot.revision}.`,
      {
        projectId,
        revision: snapshot.revision,
        reference: { ...reference },
      },
    );
  }
  return record;
}

/** The most details one snapshot keeps built (about 3 KiB each with their JSON): a bound, not a target. */
export const MAX_CACHED_DETAILS = 8192;

/**
 * The details already built at each snapshot, by record, oldest first. Snapshots and their records never
 * change, so an asset's details at one snapshot are built once, frozen, and the same object answers every
 * later read of it; the outbound writer then serialises it once too (it memoises frozen results). A new
 * snapshot starts empty, and an old one's map goes with it.
 */
const builtDetails = new WeakMap<Snapshot, Map<AssetRecord, ResultOf<Requests['getAssetDetails']>>>();

/** `packer/getAssetDetails`. */
export function getAssetDetails(
  context: ReadContext,
  params: ParamsOf<Requests['getAssetDetails']>,
): ResultOf<Requests['getAssetDetails']> {
  const { snapshot } = context;
  const record = resolveAsset(snapshot, context.project.id, params.asset);
  let built = builtDetails.get(snapshot);
  if (built === undefined) {
    built = new Map();
    builtDetails.set(snapshot, built);
  }
  let details = built.get(record);
  if (details === undefined) {
    details = Object.freeze(toAssetDetails(snapshot, record));
    if (built.size >= MAX_CACHED_DETAILS) built.delete(built.keys().next().value!);
    built.set(record, details);
  }
  return details;
}
