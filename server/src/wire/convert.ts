/**
 * The one place where domain records (snapshot records, plans, pack results, divergence) become wire
 * shapes. Reads and writes call these; nothing else builds wire objects from domain records.
 */
import type {
  AssetSummary,
  MutationKind,
  MutationPreview,
  OperationClass,
  ProjectStatus,
  ResultOf,
  packerRequests,
} from '@prometeu/packer-protocol';
import { ANCHOR_FILE } from '../domain/crawl.js';
import { compareDiagnostics } from '../domain/diagnostics.js';
import { joinAssetsPath } from '../domain/paths.js';
import type { MutationPlan } from '../mutations/plan.js';
import type { RecoveryReport } from '../mutations/execute.js';
import { filesOfRoot, type AssetRecord, type Snapshot } from '../domain/snapshot.js';
import type { WrittenArtifact } from '../pack/build-output.js';
import type { PackedAsset } from '../pack/pack.js';
import type { LaneStatus } from '../project/writer-lane.js';
import type { DivergentChange } from '../watch/divergence.js';

type Requests = typeof packerRequests;

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
  /** Whether the first snapshot is still being built. */
  readonly loading: boolean;
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
    state: source.loading
      ? 'loading'
      : source.failure !== undefined
        ? 'failed'
        : source.divergence.diverged
          ? 'diverged'
          : 'ready',
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

/** The wire details of one asset at one snapshot (`packer/getAssetDetails`). */
export function toAssetDetails(snapshot: Snapshot, record: AssetRecord): ResultOf<Requests['getAssetDetails']> {
  const declaration = record.anchor?.declaration ?? null;
  return {
    revision: snapshot.revision,
    asset: toAssetSummary(record),
    declaration,
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
    actions: record.availableActions.map((kind) => availableActionOf(kind, record)),
  };
}

/**
 * What an available action touches and whether it needs consent, for this record: the class a plan of it
 * would have (the planner's classes: files only for an unregistered root, files and registry for a
 * registered one) and the planner's consent rule (kinds that move or delete files).
 */
export function availableActionOf(
  kind: MutationKind,
  record: AssetRecord,
): { kind: MutationKind; operationClass: OperationClass; requiresConsent: boolean } {
  const registered = record.entry !== null;
  // Adopting rewrites asset.json only when its identity needs repair (missing, or shared with another root).
  const repairsIdentity =
    record.assetUuid === null || record.diagnostics.some((diagnostic) => diagnostic.code === 'identity-duplicate-uuid');
  const touchesFiles: Record<MutationKind, OperationClass> = {
    register: 'registry',
    adopt: repairsIdentity ? 'workspace+registry' : 'registry',
    forget: 'registry',
    setBuildInclusion: 'registry',
    rename: 'workspace',
    remove: registered ? 'workspace+registry' : 'workspace',
    quarantine: registered ? 'workspace+registry' : 'workspace',
    relocate: registered ? 'workspace+registry' : 'workspace',
    restore: 'workspace+registry',
    createAsset: 'workspace+registry',
    applySafeFix: 'workspace+registry',
    normalizeRegistry: 'registry',
    reassignAssetId: 'registry',
  };
  const consent: ReadonlySet<MutationKind> = new Set([
    'remove',
    'quarantine',
    'restore',
    'relocate',
    'reassignAssetId',
  ]);
  return { kind, operationClass: touchesFiles[kind], requiresConsent: consent.has(kind) };
}

/** The wire divergence of a project: its changes, copied so the wire object shares nothing with the tracker. */
export function toDivergenceSummary(divergence: {
  readonly diverged: boolean;
  readonly sinceRevision: number | null;
  readonly changes: readonly DivergentChange[];
}): ProjectStatus['divergence'] {
  return {
    diverged: divergence.diverged,
    sinceRevision: divergence.sinceRevision,
    changes: divergence.changes.map(toDivergentChange),
  };
}

/** One divergent path on the wire. */
export function toDivergentChange(change: DivergentChange): {
  path: string;
  change: DivergentChange['change'];
  from?: string;
} {
  return { ...change };
}

/** An artifact `packer/pack` wrote to `build/`, on the wire. */
export function toPackArtifact(artifact: WrittenArtifact): ResultOf<Requests['pack']>['artifacts'][number] {
  return { name: artifact.name, path: `build/${artifact.name}`, size: artifact.size, sha256: artifact.sha256 };
}

/** One row of the packed asset table, on the wire. */
export function toPackedAssetSummary(entry: PackedAsset): ResultOf<Requests['pack']>['assets'][number] {
  return {
    assetId: entry.assetId,
    name: entry.name,
    root: entry.root,
    bankType: entry.bankType,
    format: entry.format,
    offset: entry.offset,
    size: entry.size,
    decodedSize: entry.decodedSize,
    preload: entry.preload,
    fromCache: entry.fromCache,
  };
}
