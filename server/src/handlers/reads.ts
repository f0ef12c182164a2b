/**
 * Read handlers: each answers from the pinned snapshot in its context and never waits for the writer.
 */
import {
  PackerErrorCodes,
  type AssetReference,
  type Diagnostic,
  type ParamsOf,
  type ResultOf,
  type Severity,
  packerRequests,
} from '@prometeu/packer-protocol';
import { ANCHOR_FILE } from '../domain/crawl.js';
import { compareDiagnostics, severityRank } from '../domain/diagnostics.js';
import { workspaceHygiene } from '../domain/hygiene.js';
import { checkAssetsPath, isWithin, joinAssetsPath } from '../domain/paths.js';
import { filesOfRoot, inBuildSet, snapshotDiagnostics, type AssetRecord, type Snapshot } from '../domain/snapshot.js';
import { CancelledError, PackerError } from '../errors.js';
import type { ReadContext } from './context.js';
import { toAssetSummary, toMutationPreview, toProjectStatus } from '../wire/convert.js';
import { planMutation } from '../mutations/plan.js';

type Requests = typeof packerRequests;

/** `packer/projectStatus`. */
export function projectStatus(context: ReadContext): ResultOf<Requests['projectStatus']> {
  return toProjectStatus(context.project, context.snapshot);
}

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

/** `packer/getAssetDetails`. */
export function getAssetDetails(
  context: ReadContext,
  params: ParamsOf<Requests['getAssetDetails']>,
): ResultOf<Requests['getAssetDetails']> {
  const { snapshot } = context;
  const record = resolveAsset(snapshot, context.project.id, params.asset);
  const declaration = record.anchor?.declaration ?? null;
  return {
    revision: snapshot.revision,
    asset: toAssetSummary(record),
    declaration: declaration as Record<string, unknown> | null,
    declarationPath: joinAssetsPath(record.root, ANCHOR_FILE),
    inputs: record.inputs.map((input) => ({
      role: input.role,
      path: input.path,
      assetsPath: input.assetsPath,
      state: input.state,
      sha256: input.sha256,
    })),
    output: declaration ? { ...declaration.output } : null,
    preload: declaration ? { ...declaration.preload } : null,
    files: filesOfRoot(snapshot, record.root),
    diagnostics: [...record.diagnostics].sort(compareDiagnostics),
    availableActions: [...record.availableActions],
  };
}

const hygieneCache = new WeakMap<Snapshot, Promise<Diagnostic[]>>();

/** `packer/doctor`. */
export async function doctor(
  context: ReadContext,
  params: ParamsOf<Requests['doctor']>,
): Promise<ResultOf<Requests['doctor']>> {
  const { snapshot } = context;
  const scope = params.scope ?? 'registered';
  let diagnostics: Diagnostic[];
  const pending = pendingAssets(snapshot, (record) => scope === 'workspace' || record.entry !== null);
  if (scope === 'registered') {
    diagnostics = [...snapshot.projectDiagnostics];
    for (const record of snapshot.assets) if (record.entry !== null) diagnostics.push(...record.diagnostics);
  } else {
    let hygiene = hygieneCache.get(snapshot);
    if (hygiene === undefined) {
      hygiene = workspaceHygiene(snapshot, context.project.assetsDir);
      hygieneCache.set(snapshot, hygiene);
    }
    diagnostics = [...snapshotDiagnostics(snapshot), ...(await hygiene)];
    if (context.signal.aborted) throw new CancelledError();
  }
  diagnostics.sort(compareDiagnostics);
  const summary = { errors: 0, warnings: 0, infos: 0, hints: 0, blocking: 0 };
  const counters: Record<Severity, 'errors' | 'warnings' | 'infos' | 'hints'> = {
    error: 'errors',
    warning: 'warnings',
    info: 'infos',
    hint: 'hints',
  };
  for (const diagnostic of diagnostics) {
    summary[counters[diagnostic.severity]]++;
    if (diagnostic.blocking) summary.blocking++;
  }
  return { revision: snapshot.revision, scope, diagnostics, pending, summary };
}

/** `packer/packSummary`. */
export function packSummary(context: ReadContext): ResultOf<Requests['packSummary']> {
  const { snapshot } = context;
  const blockers = snapshotDiagnostics(snapshot)
    .filter((diagnostic) => diagnostic.blocking)
    .sort(compareDiagnostics);
  const buildSet: ResultOf<Requests['packSummary']>['buildSet'] = [];
  const excluded: ResultOf<Requests['packSummary']>['excluded'] = [];
  for (const record of snapshot.assets) {
    if (record.entry === null) continue;
    if (!record.entry.included_in_build) {
      excluded.push({ assetId: record.entry.asset_id, root: record.root });
      continue;
    }
    buildSet.push({
      assetId: record.entry.asset_id,
      assetUuid: record.entry.asset_uuid,
      name: record.anchor?.name ?? null,
      type: record.anchor?.type ?? null,
      root: record.root,
      blocked: record.diagnostics.some((diagnostic) => diagnostic.blocking),
    });
  }
  const pending = pendingAssets(snapshot, inBuildSet);
  return {
    revision: snapshot.revision,
    canPack: blockers.length === 0 && pending.length === 0,
    pending,
    buildSet,
    blockers,
    excluded,
  };
}

/** The assets of the snapshot that `include` keeps and whose format checks are still pending. */
function pendingAssets(
  snapshot: Snapshot,
  include: (record: AssetRecord) => boolean,
): { assetId?: number; root: string }[] {
  if (snapshot.counts.validationPending === 0) return [];
  return snapshot.assets
    .filter((record) => record.validation === 'pending' && include(record))
    .map((record) => ({ ...(record.entry !== null ? { assetId: record.entry.asset_id } : {}), root: record.root }));
}

/** `packer/events`. */
export function events(context: ReadContext, params: ParamsOf<Requests['events']>): ResultOf<Requests['events']> {
  const { project } = context;
  if (params.epoch !== undefined && params.epoch !== project.epoch) {
    throw new PackerError(
      PackerErrorCodes.EpochMismatch,
      `Sequence numbers of epoch ${params.epoch} mean nothing in the current epoch ${project.epoch}: the server restarted. Resynchronise from a read.`,
      {
        requested: params.epoch,
        current: project.epoch,
      },
    );
  }
  const replay = project.replay(params.afterSequence, {
    ...(params.operationId !== undefined ? { operationId: params.operationId } : {}),
    ...(params.limit !== undefined ? { limit: params.limit } : {}),
  });
  return { epoch: project.epoch, ...replay };
}

/** `packer/previewMutation`: plans against the pinned snapshot and remembers the plan for an apply. */
export function previewMutation(
  context: ReadContext,
  params: ParamsOf<Requests['previewMutation']>,
): ResultOf<Requests['previewMutation']> {
  const allocations = { uuid: context.project.newUuid() };
  const plan = planMutation(context.snapshot, params.mutation, allocations);
  const stored = context.project.previews.remember(plan, allocations);
  return toMutationPreview(context.project.id, stored.previewId, plan);
}
