/**
 * The one place where snapshot records become wire shapes. Handlers call these; nothing else builds wire
 * objects from domain records.
 */
import type { AssetSummary, MutationPreview, ProjectStatus } from '@prometeu/packer-protocol';
import type { MutationPlan } from '../mutations/plan.js';
import type { RecoveryReport } from '../mutations/execute.js';
import type { AssetRecord, Snapshot } from '../domain/snapshot.js';
import type { LaneStatus } from '../project/writer-lane.js';

const summaryCache = new WeakMap<AssetRecord, AssetSummary>();

/** The wire summary of an asset; computed once per record (records are immutable). */
export function toAssetSummary(record: AssetRecord): AssetSummary {
  let summary = summaryCache.get(record);
  if (summary === undefined) {
    summary = {
      ...(record.entry !== null ? { assetId: record.entry.asset_id } : {}),
      assetUuid: record.assetUuid,
      name: record.anchor?.name ?? null,
      type: record.anchor?.type ?? null,
      root: record.root,
      registered: record.entry !== null,
      includedInBuild: record.entry?.included_in_build ?? false,
      state: record.state,
      worstSeverity: record.worstSeverity,
      diagnosticCount: record.diagnostics.length,
      availableActions: [...record.availableActions],
      validation: record.validation,
    };
    summaryCache.set(record, summary);
  }
  return summary;
}

/** What a status needs beyond the snapshot. */
export interface StatusSource {
  readonly id: string;
  readonly rootUri: string;
  readonly failure: string | undefined;
  readonly lane: LaneStatus;
  readonly writer: 'owned' | 'heldByOther' | 'available';
  readonly lastRecovery: RecoveryReport | null;
  readonly watching: ProjectStatus['watching'];
  readonly divergence: ProjectStatus['divergence'];
}

/** The wire status of a project at one snapshot. */
export function toProjectStatus(source: StatusSource, snapshot: Snapshot): ProjectStatus {
  return {
    projectId: source.id,
    rootUri: source.rootUri,
    revision: snapshot.revision,
    state: source.failure !== undefined ? 'failed' : source.divergence.diverged ? 'diverged' : 'ready',
    workspaceInitialized: snapshot.workspaceInitialized,
    ...(source.failure !== undefined ? { failure: source.failure } : {}),
    divergence: source.divergence,
    counts: { ...snapshot.counts },
    writerLane: { running: source.lane.running, queued: source.lane.queued },
    watching: source.watching,
    writer: source.writer,
    lastRecovery: source.lastRecovery ? { ...source.lastRecovery } : null,
  };
}

/** The wire preview of a plan. */
export function toMutationPreview(projectId: string, previewId: string, plan: MutationPlan): MutationPreview {
  return {
    previewId,
    projectId,
    baseRevision: plan.baseRevision,
    mutation: plan.intent,
    operationClass: plan.operationClass,
    blockers: plan.blockers.map((issue) => ({ ...issue })),
    warnings: plan.warnings.map((issue) => ({ ...issue })),
    safeFixes: [...plan.safeFixes],
    registryChanges: plan.registryChanges.map((change) => ({ ...change })),
    filesystemChanges: plan.filesystemChanges.map((change) => ({ ...change })),
    affectedAssets: plan.affectedAssets.map((asset) => ({ ...asset })),
    requiresConsent: plan.requiresConsent,
  };
}
