// The view models Studio renders: plain, immutable data, each field remapped from a named packer field.
import type {
  AssetSummary,
  Diagnostic,
  MutationIntent,
  MutationPreview,
  OperationClass,
  PackerEvent,
  ResultOf,
  packerRequests,
} from '@prometeu/packer-protocol';
import type { Figure } from './figures.js';

/** The connection as the page sees it. */
export interface ConnectionView {
  readonly state: 'connecting' | 'connected' | 'disconnected';
  /** Why the last connection ended, as the transport said. */
  readonly reason: string | null;
  /** How many times the connection was lost since the page started (a count of `disconnected` messages). */
  readonly disconnects: number;
}

/** The project header: `packer/projectStatus` (or `openProject`), with watching updated by `watch.stateChanged`. */
export interface ProjectView {
  readonly projectId: string;
  readonly rootUri: string;
  readonly revision: number;
  readonly state: ResultOf<typeof packerRequests.projectStatus>['state'];
  readonly watching: ResultOf<typeof packerRequests.projectStatus>['watching']['state'];
  readonly writer: ResultOf<typeof packerRequests.projectStatus>['writer'];
  /** `counts.*` and `writerLane.queued`, as figures. */
  readonly figures: readonly Figure[];
  /** The operation running in the writer lane when the status was read. */
  readonly running: { readonly operationId: string; readonly operation: string } | null;
}

/** One row of the asset navigator: an `AssetSummary` plus the divergence mark. */
export interface AssetRow {
  readonly key: string;
  readonly root: string;
  /** The folder holding the root (`''` at the top of `assets/`). */
  readonly folder: string;
  readonly name: string | null;
  readonly type: string | null;
  readonly assetId: number | null;
  readonly assetUuid: string | null;
  readonly registered: boolean;
  readonly includedInBuild: boolean;
  readonly state: AssetSummary['state'];
  readonly worstSeverity: AssetSummary['worstSeverity'];
  readonly diagnosticCount: number;
  readonly availableActions: AssetSummary['availableActions'];
  /** True when a divergence the packer reported (`divergence.detected` assets or changed paths) touches this root. */
  readonly diverged: boolean;
}

/** A folder of the navigator and the rows directly in it. */
export interface FolderGroup {
  readonly folder: string;
  readonly rows: readonly AssetRow[];
}

/**
 * The asset navigator: the last whole `packer/listAssets` answer, with the rows of roots a `snapshot.published`
 * named as changed replaced by a `listAssets` filtered by that root.
 */
export interface NavigatorView {
  readonly revision: number;
  /** Every row, in the packer's order (built from the folder groups when first read). */
  readonly rows: readonly AssetRow[];
  /** The folder groups, sorted by folder (the flat list is built from `chunks` when first read). */
  readonly folders: readonly FolderGroup[];
  /**
   * The same groups in chunks of `FOLDER_CHUNK` (the last one shorter): group `i` is
   * `chunks[Math.floor(i / FOLDER_CHUNK)][i % FOLDER_CHUNK]`. A patch of a few rows copies the chunks holding
   * them, not the list of every group.
   */
  readonly chunks: FolderChunks;
  /** `result.assets.length`. */
  readonly total: Figure;
  /** True when the packer published a newer revision than every row is known at: the reads `navigatorReads` names are due. */
  readonly stale: boolean;
  /**
   * When these folders were made from an earlier view's by replacing a few groups (rows read again): that
   * view's `chunks` and the indices of the groups replaced, so a renderer holding that view can update only those.
   */
  readonly replaced: { readonly from: FolderChunks; readonly groups: readonly number[] } | null;
}

/** Folder groups in order, in chunks of `FOLDER_CHUNK`. */
export type FolderChunks = readonly (readonly FolderGroup[])[];

/**
 * Internal: what the navigator is built from. A whole `listAssets` answer (`base`), the rows read again since
 * by root (`overlay`), and what `snapshot.published` said changed and was not read yet.
 */
export interface NavigatorSource {
  /** The epoch number the whole list was read in: a list of another server is replaced, not compared. */
  readonly epochIndex: number;
  /** The revision every row is known at: the whole list's, or the newest whose changed roots were all read again. */
  readonly revision: number;
  /** The whole list's assets, in the packer's order (`result.assets`). */
  readonly base: readonly AssetSummary[];
  /** Rows read again by root since (`listAssets` filtered by `rootPrefix`), replacing the base row of that root. */
  readonly overlay: Readonly<Record<string, AssetSummary>>;
  /** The newest revision whose `snapshot.published` the navigator followed (at least `revision`). */
  readonly through: number;
  /** Roots `snapshot.published` named as changed and not read again yet, each with the revision a read must be at. */
  readonly pending: Readonly<Record<string, number>>;
  /** The newest revision only a whole list can show (roots added, removed or moved, a gap), or null. */
  readonly wholeAt: number | null;
}

/** Internal: the navigator last built, with what it was built from (so the next message can reuse it). */
export interface NavigatorBuild {
  readonly base: readonly AssetSummary[];
  readonly overlay: Readonly<Record<string, AssetSummary>>;
  readonly paths: readonly DivergedPath[];
  readonly roots: readonly { readonly root: string; readonly revision: number }[];
  readonly chunks: FolderChunks;
  readonly total: Figure;
  readonly view: NavigatorView;
}

/** Internal: the inputs the derived views of a state were computed from. */
export interface DerivedFrom {
  readonly operations: Readonly<Record<string, OperationRecord>> | null;
  /** The cards `previews` was derived as (a reducer that changes cards puts a new array in their place). */
  readonly previews: readonly PreviewCard[] | null;
  readonly divergedPaths: readonly DivergedPath[] | null;
  readonly divergedRoots: readonly { readonly root: string; readonly revision: number }[] | null;
  readonly navigator: NavigatorBuild | null;
}

/** A diagnostic as displayed, with its safe fix when the packer offers one. */
export interface DiagnosticView {
  readonly code: Diagnostic['code'];
  readonly severity: Diagnostic['severity'];
  readonly blocking: boolean;
  readonly message: string;
  readonly root: string | null;
  readonly path: string | null;
  readonly safeFix: { readonly fixId: string; readonly title: string; readonly mutation: MutationIntent } | null;
}

/** One asset's details: the last `packer/getAssetDetails` answer for the selected root. */
export interface DetailsView {
  readonly revision: number;
  readonly root: string;
  readonly row: AssetRow;
  readonly declarationPath: string;
  readonly inputs: ResultOf<typeof packerRequests.getAssetDetails>['inputs'];
  readonly output: ResultOf<typeof packerRequests.getAssetDetails>['output'];
  readonly preload: boolean | null;
  readonly files: readonly string[];
  readonly diagnostics: readonly DiagnosticView[];
  /** `result.diagnostics.length`, `result.files.length`. */
  readonly figures: readonly Figure[];
  readonly stale: boolean;
}

/** What became of a preview card: shown only from its apply operation's terminal event or response. */
export type PreviewStatus = 'open' | 'applying' | 'applied' | 'rejected' | 'unknown';

/** A mutation preview as a card, applied only from the card, with its `previewId`. */
export interface PreviewCard {
  readonly previewId: string;
  readonly projectId: string;
  readonly baseRevision: number;
  readonly mutation: MutationIntent;
  readonly operationClass: OperationClass;
  readonly blockers: MutationPreview['blockers'];
  readonly warnings: MutationPreview['warnings'];
  readonly safeFixes: MutationPreview['safeFixes'];
  readonly registryChanges: MutationPreview['registryChanges'];
  readonly filesystemChanges: MutationPreview['filesystemChanges'];
  readonly affectedAssets: MutationPreview['affectedAssets'];
  readonly requiresConsent: boolean;
  /** `result.blockers.length === 0`: the packer says nothing stops an apply. */
  readonly applicable: boolean;
  /** `blockers.length`, `warnings.length`, `registryChanges.length`, `filesystemChanges.length`. */
  readonly figures: readonly Figure[];
  /** The apply sent from this card, if one was. */
  readonly applyOperationId: string | null;
  readonly status: PreviewStatus;
  /** The apply's rejection reasons (`outcome.reasons[].message`), when rejected. */
  readonly reasons: readonly string[];
}

/** An operation's status in the activity feed. */
export type OperationStatus = 'sent' | 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'unknown';

/** The newest progress of an operation (by sequence), with how many progress events the server merged into it. */
export interface ProgressView {
  readonly sequence: number;
  readonly done: number;
  readonly total: number | null;
  readonly unit: string | null;
  readonly message: string | null;
  readonly merged: number | null;
}

/** An operation's outcome, read from its terminal event's `body.outcome` or from its response. */
export interface OutcomeView {
  /** The packer's own outcome word (`applied`, `rejected`, `succeeded`, `blocked`, `created`...). */
  readonly outcome: string;
  /** Reasons or the pack's failure reason, as the packer wrote them. */
  readonly reasons: readonly string[];
  readonly figures: readonly Figure[];
  /** The pack's artifacts, when it wrote some. */
  readonly artifacts: readonly {
    readonly name: string;
    readonly path: string;
    readonly size: number;
    readonly sha256: string;
  }[];
  /** The pack's blocking diagnostics, when it was blocked. */
  readonly blockers: readonly DiagnosticView[];
  /** `event N` or `response`: where the outcome was read. */
  readonly from: string;
}

/** One operation of the activity feed. */
export interface OperationView {
  readonly operationId: string;
  /** The operation kind: the terminal or lifecycle event's `body.operation`, else the request method. */
  readonly operation: string | null;
  readonly operationClass: OperationClass | null;
  readonly status: OperationStatus;
  /** Why the status is what it is: `event 7 operation.succeeded`, `response`, `request sent`, `connection lost`. */
  readonly statusFrom: string;
  readonly progress: ProgressView | null;
  readonly outcome: OutcomeView | null;
  /** The terminal event, once it arrived. */
  readonly terminal: { readonly kind: string; readonly sequence: number } | null;
  /** The sequence of the first event of it this page saw, for ordering the feed. */
  readonly firstSequence: number | null;
}

/** One path the packer says changed behind its back. */
export interface DivergedPath {
  readonly path: string;
  readonly change: 'added' | 'changed' | 'removed' | 'moved';
  readonly from: string | null;
  /** The snapshot revision it no longer matches. */
  readonly revision: number;
}

/** The divergence banner: present while the packer reports changes not yet reconciled. */
export interface DivergenceView {
  readonly changes: readonly DivergedPath[];
  /** The asset roots the packer says the changes touch. */
  readonly roots: readonly string[];
  /** The oldest snapshot revision the disk no longer matches. */
  readonly sinceRevision: number;
}

/** The pack view: the last `packer/packSummary` and the last pack operation. */
export interface PackView {
  readonly summary: {
    readonly revision: number;
    readonly canPack: Figure;
    readonly buildSet: ResultOf<typeof packerRequests.packSummary>['buildSet'];
    readonly blockers: readonly DiagnosticView[];
    readonly figures: readonly Figure[];
  } | null;
  /** The operation id of the newest pack this page saw (sent or heard of). */
  readonly operationId: string | null;
}

/** What the reducer keeps per operation; the feed's {@link OperationView} is derived from it. */
export interface OperationRecord {
  readonly operationId: string;
  readonly method: string | null;
  readonly operation: string | null;
  readonly operationClass: OperationClass | null;
  /** Order of the request among this page's requests, or null for an operation it only heard of. */
  readonly requestOrder: number | null;
  readonly queued: number | null;
  readonly started: number | null;
  readonly progress: ProgressView | null;
  readonly terminal: Extract<
    PackerEvent,
    { kind: 'operation.succeeded' | 'operation.failed' | 'operation.cancelled' }
  > | null;
  readonly response:
    | { readonly kind: 'result'; readonly result: Record<string, unknown>; readonly method: string }
    | { readonly kind: 'error'; readonly code: number; readonly message: string }
    | null;
  readonly firstSequence: number | null;
  /** The number of the epoch `firstSequence` belongs to (0 for the first this page saw), for ordering the feed. */
  readonly epochIndex: number | null;
  /** True when the connection was lost (or the server restarted) before its outcome arrived. */
  readonly lost: 'connection' | 'restart' | null;
}

/** Everything Studio's packer panel shows. */
export interface StudioState {
  readonly connection: ConnectionView;
  /** The epoch of the events this state was built from. */
  readonly epoch: string | null;
  readonly projectId: string | null;
  /** The newest revision the packer reported, in a read or a `snapshot.published`. */
  readonly revision: number | null;
  readonly project: ProjectView | null;
  readonly navigator: NavigatorView | null;
  /** The root the user selected (a view choice). */
  readonly selected: string | null;
  readonly details: DetailsView | null;
  readonly previews: readonly PreviewCard[];
  readonly operations: Readonly<Record<string, OperationRecord>>;
  /** The activity feed, ordered by the first sequence seen, then by request order. */
  readonly activity: readonly OperationView[];
  readonly divergence: DivergenceView | null;
  readonly pack: PackView;
  /**
   * The sequences of the current epoch already reduced, as sorted, disjoint, non-adjacent ranges
   * `[first, last]` (see `hasSeen`): duplicates (after a replay) change nothing, and recording the next
   * sequence of an in-order stream only widens the last range.
   */
  readonly seen: readonly (readonly [number, number])[];
  /** How many epochs this state has seen before the current one: sequences are only comparable within one. */
  readonly epochIndex: number;
  /** The greatest sequence reduced in the current epoch (0 before any): where a replay starts. */
  readonly lastSequence: number;
  /** Revisions below which divergence was reconciled (`snapshot.published` with cause `reconcile`, or a reconcile's result). */
  readonly reconciledRevision: number;
  /** Internal: the last divergence data, before the banner is derived. */
  readonly divergedPaths: readonly DivergedPath[];
  readonly divergedRoots: readonly { readonly root: string; readonly revision: number }[];
  /** Internal: the list answers the navigator is built from, and what the packer said changed since. */
  readonly listed: NavigatorSource | null;
  /**
   * Internal: the epoch number each read was last answered in. Revisions are comparable only within one
   * epoch: after a restart the new server's first answers replace the old ones whatever their revisions.
   */
  readonly readEpochs: { readonly status: number; readonly details: number; readonly summary: number };
  readonly requestCount: number;
  /** Internal: what `activity`, `previews`, `divergence` and `navigator` were derived from. */
  readonly derivedFrom: DerivedFrom;
}
