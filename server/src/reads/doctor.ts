/**
 * The diagnostic reads: `packer/doctor` (registered or workspace scope) and `packer/packSummary` (the build
 * set and its blockers), from the pinned snapshot.
 */
import {
  type Diagnostic,
  type ParamsOf,
  type ResultOf,
  type Severity,
  type packerRequests,
} from '@prometeu/packer-protocol';
import { compareDiagnostics } from '../domain/diagnostics.js';
import { workspaceHygiene } from '../domain/hygiene.js';
import { inBuildSet, snapshotDiagnostics, type AssetRecord, type Snapshot } from '../domain/snapshot.js';
import type { ReadContext } from '../dispatch/context.js';
import { CancelledError } from '../errors.js';

type Requests = typeof packerRequests;

const hygieneCache = new WeakMap<Snapshot, Promise<Diagnostic[]>>();

/**
 * A hygiene diagnostic about a root, with the identity the snapshot knows for that root (its `assetId`
 * when registered, its `assetUuid`), so no client has to look the root up to label it.
 */
function withIdentity(snapshot: Snapshot, diagnostic: Diagnostic): Diagnostic {
  if (diagnostic.root === undefined) return diagnostic;
  const record = snapshot.byRoot.get(diagnostic.root);
  if (record === undefined) return diagnostic;
  return {
    ...diagnostic,
    ...(diagnostic.assetId === undefined && record.entry !== null ? { assetId: record.entry.asset_id } : {}),
    ...(diagnostic.assetUuid === undefined && record.assetUuid !== null ? { assetUuid: record.assetUuid } : {}),
  };
}

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
    diagnostics = [...snapshotDiagnostics(snapshot), ...(await hygiene).map((found) => withIdentity(snapshot, found))];
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
