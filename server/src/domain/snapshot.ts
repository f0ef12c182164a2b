/**
 * The snapshot: an immutable projection of registry + declarations + diagnostics at one revision.
 * `buildSnapshot` is a pure function of what the crawl saw and what the registry says; nothing here
 * touches the disk.
 */
import type { Diagnostic, MutationKind, RegistryEntry, RegistryFile, Severity } from '@prometeu/packer-protocol';
import { ANCHOR_FILE, compareStrings, lowerBound, type CrawledAnchor, type CrawlResult } from './crawl.js';
import { DELETED, patchMap } from './shared-map.js';
import { parseDeclaration, type ParsedDeclaration } from './declaration.js';
import { makeDiagnostic, worstSeverity } from './diagnostics.js';
import { joinAssetsPath, parentOf } from './paths.js';
import { lowerBoundId, registryEdit, strictlySorted, type ParsedRegistry, type RegistryEdit } from './registry.js';
import {
  formatCheckable,
  NO_FORMAT_RESULTS,
  type FormatResult,
  type FormatResults,
  type ValidationState,
} from './format-results.js';

/** The state of one declared input in this snapshot. */
export interface InputRecord {
  readonly role: string;
  readonly path: string;
  readonly assetsPath: string | null;
  readonly state: 'present' | 'missing' | 'outsideRoot';
  /** SHA-256 of the content the format checks validated; null until they ran (or when they cannot). */
  readonly sha256: string | null;
}

/** One asset: an anchor, a registry entry, or both. */
export interface AssetRecord {
  /** Relative to `assets/`. */
  readonly root: string;
  /** The registry entry, when registered. */
  readonly entry: RegistryEntry | null;
  /** The parsed anchor, or null when the registry names a root with no `asset.json`. */
  readonly anchor: ParsedDeclaration | null;
  readonly state: 'ok' | 'invalid' | 'missing';
  /** The identity to show: the anchor's, else the registry's. */
  readonly assetUuid: string | null;
  readonly inputs: readonly InputRecord[];
  /** Every diagnostic about this asset, blocking flags decided. */
  readonly diagnostics: readonly Diagnostic[];
  readonly worstSeverity: Severity | null;
  readonly availableActions: readonly MutationKind[];
  /** Whether the format checks ran on this declaration and these inputs (their diagnostics are in `diagnostics`). */
  readonly validation: ValidationState;
  /** The format result applied to this record, or null. */
  readonly formatResult: FormatResult | null;
}

/** Counts shown by the project status. */
export interface SnapshotCounts {
  readonly roots: number;
  readonly registered: number;
  readonly unregistered: number;
  readonly missing: number;
  readonly includedInBuild: number;
  readonly errors: number;
  readonly warnings: number;
  readonly blocking: number;
  /** Assets whose format checks have not run yet. */
  readonly validationPending: number;
}

/** An asset in the packer's quarantine (`assets/.prometeu/quarantine/<uuid>/`). */
export interface QuarantineEntry {
  readonly assetUuid: string;
  /** Where the root was when it was quarantined. */
  readonly root: string;
  readonly assetId: number | null;
  readonly includedInBuild: boolean;
  readonly name: string | null;
  /** The asset type, from the manifest (or the quarantined `asset.json` for older manifests). */
  readonly type: string | null;
  /** When it was quarantined (ISO 8601), from the manifest, or the manifest's modification time. */
  readonly quarantinedAt: string | null;
}

/** A parsed anchor and the text it was parsed from, reused by the next snapshot when the text is unchanged. */
export interface ParsedAnchor {
  readonly text: string | null;
  readonly parsed: ParsedDeclaration;
}

/** What a snapshot may take besides the crawl and the registry. */
export interface SnapshotExtras {
  readonly quarantine?: readonly QuarantineEntry[];
  /** The previous snapshot: anchors whose text did not change are not parsed again. */
  readonly previous?: Snapshot;
  /** Format results to apply; defaults to the previous snapshot's (a result applies only to its own parsed anchor). */
  readonly formatResults?: FormatResults;
  /** Anchors already parsed (a load that parses in chunks): used like the previous snapshot's, by text. */
  readonly parsedAnchors?: ReadonlyMap<string, ParsedAnchor>;
}

/** An immutable projection of the workspace at one revision. */
export interface Snapshot {
  readonly revision: number;
  readonly workspaceInitialized: boolean;
  /** The registry as read, or null when absent or untrustworthy. */
  readonly registry: RegistryFile | null;
  /** Registered assets by `asset_id`, then unregistered ones by root. */
  readonly assets: readonly AssetRecord[];
  readonly byRoot: ReadonlyMap<string, AssetRecord>;
  readonly byUuid: ReadonlyMap<string, AssetRecord>;
  readonly byId: ReadonlyMap<number, AssetRecord>;
  /** Diagnostics not tied to one asset (the registry file itself). */
  readonly projectDiagnostics: readonly Diagnostic[];
  /** What the crawl saw, for the workspace-wide hygiene checks. */
  readonly crawl: CrawlResult;
  /**
   * Journals recovery moved aside (relative to `assets/`), as the last full crawl saw them: a partial
   * re-crawl does not look into the control folder, so each snapshot carries the list on.
   */
  readonly unrecoverableJournals: readonly string[];
  readonly counts: SnapshotCounts;
  /** Assets in quarantine, by asset_uuid order. */
  readonly quarantine: readonly QuarantineEntry[];
  /** The parsed anchors by root. */
  readonly parsedAnchors: ReadonlyMap<string, ParsedAnchor>;
  /** The registry as parsed, so a snapshot can be rebuilt on the same registry (when validation results arrive). */
  readonly parsedRegistry: ParsedRegistry;
  /** Format results by root, as far as they are known; each applies only to the parsed anchor it names. */
  readonly formatResults: FormatResults;
}

/** Whether an asset is in the build set. */
export function inBuildSet(record: AssetRecord): boolean {
  return record.entry !== null && record.entry.included_in_build;
}

/** The actions of each kind of record, frozen once and shared by every record of that kind. */
const ACTIONS = {
  missing: Object.freeze<MutationKind[]>(['forget']),
  unregisteredOk: Object.freeze<MutationKind[]>(['register', 'adopt', 'rename', 'relocate', 'quarantine', 'remove']),
  unregisteredInvalid: Object.freeze<MutationKind[]>(['adopt', 'relocate', 'quarantine', 'remove']),
  registeredOk: Object.freeze<MutationKind[]>([
    'rename',
    'relocate',
    'setBuildInclusion',
    'forget',
    'quarantine',
    'remove',
  ]),
  registeredInvalid: Object.freeze<MutationKind[]>(['relocate', 'setBuildInclusion', 'forget', 'quarantine', 'remove']),
};

function actionsFor(registered: boolean, state: AssetRecord['state']): readonly MutationKind[] {
  if (state === 'missing') return ACTIONS.missing;
  if (!registered) return state === 'ok' ? ACTIONS.unregisteredOk : ACTIONS.unregisteredInvalid;
  return state === 'ok' ? ACTIONS.registeredOk : ACTIONS.registeredInvalid;
}

/**
 * One frozen empty list shared by every record with no diagnostics or no inputs (most of them): an empty
 * array per record is 16 bytes of header and a backing store, tens of thousands of times over.
 */
const NONE: readonly never[] = Object.freeze([]);

/** `list` frozen, or the shared empty list when it is empty. */
function frozenList<T>(list: T[]): readonly T[] {
  return list.length === 0 ? NONE : Object.freeze(list);
}

/**
 * Joins what the crawl saw with the registry into a snapshot. Deterministic: the same inputs give an
 * equal snapshot whatever order the crawl met things in.
 */
/** What depends on the crawl alone: computed once per crawl, shared by every snapshot built on it. */
interface AnchorAnalysis {
  /** The crawl's files, searched in their sorted list. */
  readonly fileSet: FileLookup;
  readonly anchors: ReadonlyMap<string, ParsedDeclaration>;
  readonly parsedAnchors: ReadonlyMap<string, ParsedAnchor>;
  readonly anchorsByUuid: ReadonlyMap<string, readonly string[]>;
  /** Nested roots and duplicate asset_uuids between anchors, by root. */
  readonly extra: ReadonlyMap<string, readonly Diagnostic[]>;
}

/** Crawls are immutable, so their analysis is too; a commit that only changes the registry reuses it whole. */
const analyses = new WeakMap<CrawlResult, AnchorAnalysis>();

function analyseAnchors(crawl: CrawlResult, previous: ReadonlyMap<string, ParsedAnchor> | undefined): AnchorAnalysis {
  const cached = analyses.get(crawl);
  if (cached !== undefined) return cached;
  const anchors = new Map<string, ParsedDeclaration>();
  const parsedAnchors = new Map<string, ParsedAnchor>();
  for (const anchor of crawl.anchors) {
    const reusable = previous?.get(anchor.root);
    // A parse of the very text the crawl read is kept whole (one object per anchor, not a copy of it).
    const kept =
      reusable !== undefined && reusable.text !== null && reusable.text === anchor.text ? reusable : undefined;
    const parsed = kept?.parsed ?? parseDeclaration(anchor.root, anchor.text, anchor.readError);
    anchors.set(anchor.root, parsed);
    parsedAnchors.set(anchor.root, kept ?? { text: anchor.text, parsed });
  }
  const extra = new Map<string, Diagnostic[]>();
  const addExtra = (root: string, diagnostic: Diagnostic): void => {
    const list = extra.get(root);
    if (list) list.push(diagnostic);
    else extra.set(root, [diagnostic]);
  };

  // Nested roots: an anchor whose ancestor folder is also an anchor.
  for (const root of anchors.keys()) {
    for (let parent = parentOf(root); parent !== ''; parent = parentOf(parent)) {
      if (anchors.has(parent)) {
        addExtra(
          root,
          makeDiagnostic('nested-root', {
            severity: 'error',
            blocking: true,
            root,
            path: joinAssetsPath(root, ANCHOR_FILE),
            message: `Asset root ${root} lies inside asset root ${parent}. One folder tree holds one asset: move ${root} out, or delete one of the two asset.json files.`,
            related: [{ path: joinAssetsPath(parent, ANCHOR_FILE), message: 'the enclosing asset root' }],
          }),
        );
        break;
      }
    }
  }

  // Duplicate asset_uuid between anchors.
  const anchorsByUuid = new Map<string, string[]>();
  for (const [root, parsed] of anchors) {
    if (parsed.assetUuid === null) continue;
    const roots = anchorsByUuid.get(parsed.assetUuid);
    if (roots) roots.push(root);
    else anchorsByUuid.set(parsed.assetUuid, [root]);
  }
  for (const [uuid, roots] of anchorsByUuid) {
    if (roots.length < 2) continue;
    for (const root of roots) {
      addExtra(
        root,
        makeDiagnostic('identity-duplicate-uuid', {
          severity: 'error',
          blocking: true,
          root,
          assetUuid: uuid,
          path: joinAssetsPath(root, ANCHOR_FILE),
          message: `${roots.length} asset.json files carry asset_uuid ${uuid}: ${roots.join(', ')}. A copied folder keeps its uuid; adopt the copy to give it a new identity, or remove it.`,
          related: roots
            .filter((other) => other !== root)
            .map((other) => ({ path: joinAssetsPath(other, ANCHOR_FILE), message: 'same asset_uuid' })),
        }),
      );
    }
  }
  // The sorted list searched, not a Set of every file: a few lookups per asset, against a hash table of three
  // entries per asset built (on the main thread) and kept for each crawl.
  const analysis: AnchorAnalysis = {
    fileSet: new SortedFiles(crawl.files),
    anchors,
    parsedAnchors,
    anchorsByUuid,
    extra,
  };
  analyses.set(crawl, analysis);
  return analysis;
}

/**
 * Joins what the crawl saw with the registry into a snapshot. Deterministic: the same inputs give an
 * equal snapshot whatever order the crawl met things in.
 */
export function buildSnapshot(
  revision: number,
  crawl: CrawlResult,
  parsedRegistry: ParsedRegistry,
  extras: SnapshotExtras = {},
): Snapshot {
  const analysis = analyseAnchors(crawl, extras.parsedAnchors ?? extras.previous?.parsedAnchors);
  const formatResults = extras.formatResults ?? extras.previous?.formatResults ?? NO_FORMAT_RESULTS;
  const { fileSet, anchors, parsedAnchors, anchorsByUuid } = analysis;
  // Extra diagnostics per root: the crawl's own, plus the registry's (copied on write, never mutated).
  const extra = new Map<string, readonly Diagnostic[]>(analysis.extra);
  const addExtra = (root: string, diagnostic: Diagnostic): void => {
    extra.set(root, [...(extra.get(root) ?? []), diagnostic]);
  };

  // Registry-level diagnostics that name an entry are attached to that entry's root.
  const projectDiagnostics: Diagnostic[] = [];
  const unrecoverableJournals = journalsOf(crawl, extras.previous);
  projectDiagnostics.push(...journalDiagnostics(crawl, unrecoverableJournals));
  for (const diagnostic of parsedRegistry.diagnostics) {
    if (diagnostic.root !== undefined) addExtra(diagnostic.root, diagnostic);
    else projectDiagnostics.push(diagnostic);
  }

  const records: AssetRecord[] = [];
  // The records this build made that may never be reused; only the few records made anew are looked up in
  // the WeakSet, and the next build asks this small set instead of the WeakSet for every record it keeps.
  const cross = new Set<AssetRecord>();
  const previousCross = extras.previous !== undefined ? crossAssetRecords.get(extras.previous) : undefined;
  /** Unregistered roots that carry the asset_uuid of a registered entry whose root is gone: moved folders. */
  const movedEntries = new Map<string, RegistryEntry>();
  const claimedRoots = new Set<string>();
  const registeredRoots = new Set(parsedRegistry.entries.map((entry) => entry.root));
  for (const entry of parsedRegistry.entries) {
    const anchor = anchors.get(entry.root) ?? null;
    const diagnostics: Diagnostic[] = [];
    if (anchor === null) {
      // A folder moved outside the packer keeps its asset_uuid: if an unregistered root carries it, report
      // the move and offer to let the entry follow it; otherwise offer to forget the entry.
      const movedTo = (anchorsByUuid.get(entry.asset_uuid) ?? []).find((root) => !registeredRoots.has(root));
      if (movedTo !== undefined) {
        if (!movedEntries.has(movedTo)) movedEntries.set(movedTo, entry);
        diagnostics.push(
          makeDiagnostic('root-moved', {
            severity: 'error',
            blocking: true,
            assetId: entry.asset_id,
            assetUuid: entry.asset_uuid,
            root: entry.root,
            path: joinAssetsPath(movedTo, ANCHOR_FILE),
            message: `Registered asset #${entry.asset_id} was moved from ${entry.root} to ${movedTo} outside the packer: ${joinAssetsPath(entry.root, ANCHOR_FILE)} is gone and ${joinAssetsPath(movedTo, ANCHOR_FILE)} carries its asset_uuid ${entry.asset_uuid}. Relocate the entry to follow it (asset_id and asset_uuid stay).`,
            related: [
              { path: joinAssetsPath(entry.root, ANCHOR_FILE), message: 'where the registry expects the root (gone)' },
              { path: joinAssetsPath(movedTo, ANCHOR_FILE), message: 'where the root is now' },
            ],
            safeFix: movedRootFix(entry, movedTo),
          }),
        );
      } else
        diagnostics.push(
          makeDiagnostic('missing-anchor', {
            severity: 'error',
            blocking: true,
            assetId: entry.asset_id,
            assetUuid: entry.asset_uuid,
            root: entry.root,
            path: joinAssetsPath(entry.root, ANCHOR_FILE),
            message: `Registered asset #${entry.asset_id} expects ${joinAssetsPath(entry.root, ANCHOR_FILE)}, which does not exist. If the folder moved, relocate the entry; if it is gone for good, forget it.`,
            safeFix: {
              fixId: `missing-anchor:${entry.asset_id}`,
              title: `Forget registry entry #${entry.asset_id}`,
              mutation: { kind: 'forget', asset: { assetId: entry.asset_id } },
            },
          }),
        );
    } else {
      const mismatch = uuidMismatch(entry, anchor);
      if (mismatch !== undefined) diagnostics.push(mismatch);
    }
    const same =
      diagnostics.length === 0 && !extra.has(entry.root) && !claimedRoots.has(entry.root)
        ? unchangedRecord(extras.previous, previousCross, entry.root, entry, anchor, fileSet, crawl, formatResults)
        : undefined;
    const record =
      same ??
      makeRecord(
        entry.root,
        entry,
        anchor,
        diagnostics,
        extra.get(entry.root),
        fileSet,
        claimedRoots.has(entry.root),
        formatResults,
      );
    if (same === undefined && builtWithCrossAssetDiagnostics.has(record)) cross.add(record);
    records.push(record);
    claimedRoots.add(entry.root);
  }
  const unregistered: AssetRecord[] = [];
  const sameRegistryState =
    extras.previous !== undefined &&
    (extras.previous.registry !== null) === (parsedRegistry.registry !== null) &&
    extras.previous.workspaceInitialized === parsedRegistry.exists;
  for (const [root, anchor] of anchors) {
    if (claimedRoots.has(root)) continue;
    const movedFrom = movedEntries.get(root);
    const same =
      sameRegistryState && !extra.has(root) && movedFrom === undefined
        ? unchangedRecord(extras.previous, previousCross, root, null, anchor, fileSet, crawl, formatResults)
        : undefined;
    if (same !== undefined) {
      unregistered.push(same);
      continue;
    }
    const diagnostics: Diagnostic[] = [];
    if (movedFrom !== undefined) {
      diagnostics.push(
        makeDiagnostic('unregistered-root', {
          severity: 'info',
          blocking: false,
          root,
          assetUuid: movedFrom.asset_uuid,
          path: joinAssetsPath(root, ANCHOR_FILE),
          message: `${root} is not registered, but it carries the asset_uuid of registered asset #${movedFrom.asset_id}, whose root ${movedFrom.root} is gone: the folder was moved here. Relocate the entry to follow it rather than register it again.`,
          safeFix: movedRootFix(movedFrom, root),
        }),
      );
    } else if (parsedRegistry.registry !== null || !parsedRegistry.exists) {
      diagnostics.push(unregisteredRoot(root, anchor, parsedRegistry, extra.get(root)));
    }
    const record = makeRecord(root, null, anchor, diagnostics, extra.get(root), fileSet, false, formatResults);
    // Whether a root is a move target depends on other entries: such a record is never reused.
    if (movedFrom !== undefined) builtWithCrossAssetDiagnostics.add(record);
    if (builtWithCrossAssetDiagnostics.has(record)) cross.add(record);
    unregistered.push(record);
  }
  unregistered.sort((a, b) => compareStrings(a.root, b.root));
  records.push(...unregistered);

  const byRoot = new Map<string, AssetRecord>();
  const byUuid = new Map<string, AssetRecord>();
  const byId = new Map<number, AssetRecord>();
  // Roots are folders with an asset.json: one per anchor, even when several registry entries name it.
  const roots = anchors.size;
  let registered = 0,
    missing = 0,
    included = 0,
    errors = 0,
    warnings = 0,
    blocking = 0,
    validationPending = 0;
  for (const record of records) {
    if (record.validation === 'pending') validationPending++;
    if (!byRoot.has(record.root)) byRoot.set(record.root, record);
    if (record.assetUuid !== null && !byUuid.has(record.assetUuid)) byUuid.set(record.assetUuid, record);
    if (record.entry !== null && !byId.has(record.entry.asset_id)) byId.set(record.entry.asset_id, record);
    if (record.entry !== null) registered++;
    if (record.state === 'missing') missing++;
    if (inBuildSet(record)) included++;
  }
  // Plain loops, not allDiagnostics' generator: this runs over every record at every commit.
  const count = (diagnostics: readonly Diagnostic[]): void => {
    for (const diagnostic of diagnostics) {
      if (diagnostic.severity === 'error') errors++;
      if (diagnostic.severity === 'warning') warnings++;
      if (diagnostic.blocking) blocking++;
    }
  };
  count(projectDiagnostics);
  for (const record of records) if (record.diagnostics.length > 0) count(record.diagnostics);
  const snapshot: Snapshot = Object.freeze({
    revision,
    workspaceInitialized: parsedRegistry.exists,
    registry: parsedRegistry.registry,
    assets: Object.freeze(records),
    byRoot,
    byUuid,
    byId,
    projectDiagnostics: Object.freeze(projectDiagnostics),
    crawl,
    unrecoverableJournals,
    counts: Object.freeze({
      roots,
      registered,
      unregistered: unregistered.length,
      missing,
      includedInBuild: included,
      errors,
      warnings,
      blocking,
      validationPending,
    }),
    quarantine: Object.freeze([...(extras.quarantine ?? [])]),
    parsedAnchors,
    parsedRegistry,
    formatResults,
  });
  crossAssetRecords.set(snapshot, cross);
  return snapshot;
}

/** The set-aside journals a snapshot carries: a partial re-crawl does not look into the control folder, so what the last full crawl saw still holds. */
function journalsOf(crawl: CrawlResult, previous: Snapshot | undefined): readonly string[] {
  return crawl.unrecoverableJournals ?? previous?.unrecoverableJournals ?? [];
}

/** The project-level diagnostics about write journals: those set aside, and one still pending. */
function journalDiagnostics(crawl: CrawlResult, unrecoverableJournals: readonly string[]): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const path of unrecoverableJournals)
    diagnostics.push(
      makeDiagnostic('journal-unrecoverable', {
        path,
        severity: 'warning',
        blocking: false,
        message: `assets/${path} is a write journal that could be neither completed nor rolled back, so it was moved aside. Check that the folders it names are as you want them, then delete the file.`,
      }),
    );
  // Only a full crawl sees the journal; a partial re-crawl follows a commit of this process, which runs
  // only once no journal is pending (the lane finishes one first), so nothing is carried over.
  if (crawl.pendingJournal !== undefined)
    diagnostics.push(
      makeDiagnostic('journal-pending', {
        path: crawl.pendingJournal,
        severity: 'error',
        blocking: true,
        message: `assets/${crawl.pendingJournal} records a write that has not finished: a packer is writing right now, or one stopped mid-write and it could not be finished or undone because the disk refuses writes (see the status's lastRecovery). What the disk shows may be between before and after that write, so packing is blocked. Make the disk writable; then any write, a reconcile or reopening the project finishes it.`,
      }),
    );
  return diagnostics;
}

/** The diagnostic of a registry entry whose root's asset.json declares another asset_uuid, if it does. */
function uuidMismatch(entry: RegistryEntry, anchor: ParsedDeclaration): Diagnostic | undefined {
  if (anchor.assetUuid === null || anchor.assetUuid === entry.asset_uuid) return undefined;
  return makeDiagnostic('identity-uuid-mismatch', {
    severity: 'error',
    blocking: true,
    assetId: entry.asset_id,
    assetUuid: entry.asset_uuid,
    root: entry.root,
    path: joinAssetsPath(entry.root, ANCHOR_FILE),
    message: `Registry entry #${entry.asset_id} at ${entry.root} has asset_uuid ${entry.asset_uuid}, but its asset.json says ${anchor.assetUuid}. The folder was replaced by another asset; forget the entry and register or adopt the folder.`,
  });
}

/** The advice on an anchor that no registry entry names (and that is no moved registered root). */
function unregisteredRoot(
  root: string,
  anchor: ParsedDeclaration,
  parsedRegistry: ParsedRegistry,
  extra: readonly Diagnostic[] | undefined,
): Diagnostic {
  return makeDiagnostic('unregistered-root', {
    severity: 'info',
    blocking: false,
    root,
    ...(anchor.assetUuid !== null ? { assetUuid: anchor.assetUuid } : {}),
    path: joinAssetsPath(root, ANCHOR_FILE),
    message: `${root} has an asset.json but is not registered, so it is never built. Register it to give it an asset_id.`,
    ...(anchor.declaration !== null && parsedRegistry.exists
      ? extra?.some((diagnostic) => diagnostic.code === 'identity-duplicate-uuid')
        ? {
            safeFix: {
              fixId: `unregistered-root:${root}`,
              title: `Adopt ${root} with a new asset_uuid`,
              mutation: { kind: 'adopt' as const, root },
            },
          }
        : {
            safeFix: {
              fixId: `unregistered-root:${root}`,
              title: `Register ${root}`,
              mutation: { kind: 'register' as const, root },
            },
          }
      : {}),
  });
}

/** The fix that lets a registry entry follow its root to where it was moved. */
function movedRootFix(entry: RegistryEntry, to: string): NonNullable<Diagnostic['safeFix']> {
  return {
    fixId: `moved-root:${entry.asset_id}`,
    title: `Relocate entry #${entry.asset_id} from ${entry.root} to ${to}`,
    mutation: { kind: 'relocate', asset: { assetId: entry.asset_id }, to },
  };
}

function* allDiagnostics(
  records: readonly AssetRecord[],
  projectDiagnostics: readonly Diagnostic[],
): Generator<Diagnostic> {
  yield* projectDiagnostics;
  for (const record of records) yield* record.diagnostics;
}

/** Records that carry a diagnostic found across assets (a conflict elsewhere may have gone): never reused. */
const builtWithCrossAssetDiagnostics = new WeakSet<AssetRecord>();

/**
 * Per snapshot, those of its records that are in {@link builtWithCrossAssetDiagnostics}. Such a record is
 * never reused, so it is in the snapshot whose build made it: a build asks its previous snapshot's set.
 */
const crossAssetRecords = new WeakMap<Snapshot, ReadonlySet<AssetRecord>>();

/**
 * The previous snapshot's record for `root`, when it was built from the very same registry entry and
 * parsed anchor and its inputs are present or missing exactly as before: records are immutable, so a
 * commit that changes one asset rebuilds one record, not ten thousand.
 */
function unchangedRecord(
  previous: Snapshot | undefined,
  previousCross: ReadonlySet<AssetRecord> | undefined,
  root: string,
  entry: RegistryEntry | null,
  anchor: ParsedDeclaration | null,
  fileSet: FileLookup,
  crawl: CrawlResult,
  formatResults: FormatResults,
): AssetRecord | undefined {
  const old = previous?.byRoot.get(root);
  if (
    old === undefined ||
    anchor === null ||
    old.entry !== entry ||
    old.anchor !== anchor ||
    (previousCross !== undefined
      ? previousCross.size > 0 && previousCross.has(old)
      : builtWithCrossAssetDiagnostics.has(old)) ||
    old.formatResult !== (resultFor(formatResults, root, anchor) ?? null)
  )
    return undefined;
  // The same crawl means the same files: nothing to look up.
  if (previous!.crawl === crawl) return old;
  for (const input of old.inputs) {
    if (input.assetsPath !== null && (input.state === 'present') !== fileSet.has(input.assetsPath)) return undefined;
  }
  return old;
}

function makeRecord(
  root: string,
  entry: RegistryEntry | null,
  anchor: ParsedDeclaration | null,
  own: Diagnostic[],
  extra: readonly Diagnostic[] | undefined,
  fileSet: FileLookup,
  duplicateEntry: boolean,
  formatResults: FormatResults,
): AssetRecord {
  const state: AssetRecord['state'] = anchor === null ? 'missing' : anchor.declaration === null ? 'invalid' : 'ok';
  const building = entry !== null && entry.included_in_build;
  const inputs: InputRecord[] = [];
  const diagnostics: Diagnostic[] = [...own];
  const identity = {
    ...(entry !== null ? { assetId: entry.asset_id } : {}),
    ...((anchor?.assetUuid ?? entry?.asset_uuid) ? { assetUuid: (anchor?.assetUuid ?? entry?.asset_uuid)! } : {}),
  };
  let validation: ValidationState = 'notRun';
  let formatResult: FormatResult | null = null;
  if (anchor !== null) {
    // Declaration problems block only assets in the build set; on other assets they are advice.
    const severity: Severity = entry === null ? 'warning' : 'error';
    for (const diagnostic of anchor.diagnostics)
      diagnostics.push({ ...diagnostic, ...identity, severity, blocking: building });
    // Format checks run when the declaration is valid for a known format and every input is present (as in a pack).
    const checkable =
      formatCheckable(anchor.declaration) &&
      anchor.inputs.every((input) => input.assetsPath !== null && fileSet.has(input.assetsPath));
    if (checkable) {
      formatResult = resultFor(formatResults, root, anchor) ?? null;
      validation = formatResult === null ? 'pending' : 'done';
    }
    for (const input of anchor.inputs) {
      const inputState =
        input.assetsPath === null ? 'outsideRoot' : fileSet.has(input.assetsPath) ? 'present' : 'missing';
      // Written out field by field: a spread of the declared input gave every record's inputs a hidden class
      // of their own in V8 (a map and a descriptor array per asset, about 300 bytes each).
      inputs.push({
        role: input.role,
        path: input.path,
        assetsPath: input.assetsPath,
        state: inputState,
        sha256: (input.assetsPath !== null ? formatResult?.hashes.get(input.assetsPath) : null) ?? null,
      });
      if (inputState === 'missing') {
        diagnostics.push(
          makeDiagnostic('input-missing', {
            ...identity,
            severity,
            blocking: building,
            root,
            path: input.assetsPath!,
            message: `Input ${input.path} (role ${input.role}) of ${anchor.name ?? root} does not exist at ${input.assetsPath}.`,
          }),
        );
      }
    }
  }
  if (formatResult !== null) {
    // The format's findings are blocking exactly like the declaration's: in the build set, and advice elsewhere.
    const severity: Severity = entry === null ? 'warning' : 'error';
    for (const diagnostic of formatResult.diagnostics)
      diagnostics.push({ ...diagnostic, ...identity, severity, blocking: building });
  }
  if (extra) {
    for (const diagnostic of extra) {
      // A diagnostic about one registry entry goes on that entry's record only, so two entries on one
      // root are each reported once; diagnostics about the folder itself go on the first record alone.
      if (diagnostic.assetId !== undefined ? diagnostic.assetId !== entry?.asset_id : duplicateEntry) continue;
      diagnostics.push(
        diagnostic.code === 'nested-root' || diagnostic.code === 'identity-duplicate-uuid'
          ? { ...diagnostic, ...identity }
          : diagnostic,
      );
    }
  }
  const record: AssetRecord = Object.freeze({
    root,
    entry,
    anchor,
    state,
    assetUuid: anchor?.assetUuid ?? entry?.asset_uuid ?? null,
    inputs: frozenList(inputs),
    diagnostics: frozenList(diagnostics),
    worstSeverity: worstSeverity(diagnostics),
    availableActions: actionsFor(entry !== null, state),
    validation,
    formatResult,
  });
  if (extra !== undefined && extra.length > 0) builtWithCrossAssetDiagnostics.add(record);
  return record;
}

/** The result of `root` when it was computed for this very parsed anchor. */
function resultFor(results: FormatResults, root: string, anchor: ParsedDeclaration): FormatResult | undefined {
  const result = results.get(root);
  return result !== undefined && result.anchor === anchor ? result : undefined;
}

/** Every diagnostic of the snapshot, project-level ones included. */
export function snapshotDiagnostics(snapshot: Snapshot): Diagnostic[] {
  return [...allDiagnostics(snapshot.assets, snapshot.projectDiagnostics)];
}

/** The files under a root, relative to the root, excluding those of roots nested inside it. Sorted. */
export function filesOfRoot(snapshot: Snapshot, root: string): string[] {
  const files = snapshot.crawl.files;
  const prefix = `${root}/`;
  const found: string[] = [];
  for (let index = lowerBound(files, prefix); index < files.length && files[index]!.startsWith(prefix); index++) {
    const file = files[index]!;
    let owner = parentOf(file);
    while (owner !== root && !snapshot.byRoot.has(owner)) owner = parentOf(owner);
    if (owner === root) found.push(file.slice(prefix.length));
  }
  return found;
}

/** What a record asks of the crawl's files: whether one exists. */
interface FileLookup {
  has(path: string): boolean;
}

/** The crawl's sorted list of files, searched: what a patched snapshot asks instead of a `Set` of every file. */
class SortedFiles implements FileLookup {
  readonly #files: readonly string[];

  constructor(files: readonly string[]) {
    this.#files = files;
  }

  has(path: string): boolean {
    const index = lowerBound(this.#files, path);
    return index < this.#files.length && this.#files[index] === path;
  }
}

/** Per patched snapshot: the one it was patched from and every root whose records may differ from it. */
const patches = new WeakMap<Snapshot, { readonly previous: Snapshot; readonly roots: ReadonlySet<string> }>();

/**
 * Records that `steps[steps.length - 1]` was patched from `before` through `steps`, each patched from the one
 * before it (snapshots made in steps and published only at the last): one patch of every step's roots, so the
 * published diff between `before` and the last step walks only those roots, as it does after one patch. False,
 * recording nothing, when a step was not patched from the one before it.
 */
export function notePatchChain(before: Snapshot, steps: readonly Snapshot[]): boolean {
  if (steps.length === 0) return false;
  const roots = new Set<string>();
  let at = before;
  for (const step of steps) {
    const patch = patches.get(step);
    if (patch === undefined || patch.previous !== at) return false;
    for (const root of patch.roots) roots.add(root);
    at = step;
  }
  patches.set(at, { previous: before, roots });
  return true;
}

/**
 * The roots whose records may differ between `before` and `after` when `after` was patched from `before`
 * ({@link patchSnapshot}); every other root has the very same record in both. Undefined otherwise.
 */
export function patchedRoots(before: Snapshot, after: Snapshot): ReadonlySet<string> | undefined {
  const patch = patches.get(after);
  return patch !== undefined && patch.previous === before ? patch.roots : undefined;
}

/**
 * Per snapshot with at most {@link MAX_DERIVED_PENDING} pending records: those records, as
 * {@link pendingRecordsOf} returns them. Never written for a snapshot once set.
 */
const pendingLists = new WeakMap<Snapshot, readonly AssetRecord[]>();

/** The most pending records a snapshot keeps a list of, and that a list is derived from a predecessor's for. */
const MAX_DERIVED_PENDING = 64;

/** How many patches back {@link pendingRecordsOf} looks for a snapshot whose pending records are known. */
const MAX_PENDING_CHAIN = 16;

/**
 * The records of `snapshot` whose format checks are pending, the first of each root, in the order of
 * `snapshot.assets`. After a commit (a patch touching a few roots) this is derived from the predecessor's list
 * and the touched roots' records instead of a walk of every record; a snapshot with many pending records (the
 * open's, a reload's) is walked.
 */
export function pendingRecordsOf(snapshot: Snapshot): readonly AssetRecord[] {
  const known = knownPendingRecords(snapshot);
  if (known !== undefined) return known;
  const list = walkedPendingRecords(snapshot);
  if (list.length <= MAX_DERIVED_PENDING) pendingLists.set(snapshot, list);
  return list;
}

/**
 * {@link pendingRecordsOf} where it needs no walk of every record (none pending, a list kept, or one derived
 * from a predecessor's); undefined otherwise, for callers that walk in time slices of their own.
 */
export function knownPendingRecords(snapshot: Snapshot): readonly AssetRecord[] | undefined {
  if (snapshot.counts.validationPending === 0) return NONE;
  const known = pendingLists.get(snapshot);
  if (known !== undefined) return known;
  const derived = derivedPendingRecords(snapshot);
  if (derived !== undefined) pendingLists.set(snapshot, derived);
  return derived;
}

/** {@link pendingRecordsOf} by a walk of every record. */
function walkedPendingRecords(snapshot: Snapshot): readonly AssetRecord[] {
  const seen = new Set<string>();
  const found: AssetRecord[] = [];
  for (const record of snapshot.assets) {
    if (record.validation !== 'pending' || seen.has(record.root)) continue;
    seen.add(record.root);
    found.push(record);
  }
  return found;
}

/**
 * {@link pendingRecordsOf} from the list of a recent predecessor it was patched from (through at most
 * {@link MAX_PENDING_CHAIN} patches): its records outside every touched root are still this snapshot's (a patch
 * keeps the very record of every root it did not touch), and the touched roots' records are looked up. Undefined
 * where that does not hold or cannot be checked cheaply: no such predecessor, many pending records, or a root
 * with more than one record.
 */
function derivedPendingRecords(snapshot: Snapshot): readonly AssetRecord[] | undefined {
  const pending = snapshot.counts.validationPending;
  if (pending > MAX_DERIVED_PENDING || snapshot.assets.length !== snapshot.byRoot.size) return undefined;
  const touched = new Set<string>();
  let at = snapshot;
  let before: readonly AssetRecord[] | undefined;
  for (let step = 0; before === undefined; step++) {
    const patch = patches.get(at);
    if (patch === undefined || step === MAX_PENDING_CHAIN) return undefined;
    for (const root of patch.roots) touched.add(root);
    at = patch.previous;
    before = at.counts.validationPending === 0 ? NONE : pendingLists.get(at);
  }
  const found: AssetRecord[] = [];
  for (const record of before) {
    if (touched.has(record.root)) continue;
    // The very record, or the predecessor's list does not describe this snapshot's root.
    if (snapshot.byRoot.get(record.root) !== record) return undefined;
    found.push(record);
  }
  for (const root of touched) {
    const record = snapshot.byRoot.get(root);
    if (record !== undefined && record.validation === 'pending') found.push(record);
  }
  if (found.length !== pending) return undefined;
  if (found.length === 1) return found;
  // In the order of the record list: a native search per record (a few, each a pass of pointer comparisons).
  const position = new Map(found.map((record) => [record, snapshot.assets.indexOf(record)]));
  if ([...position.values()].includes(-1)) return undefined;
  return found.sort((a, b) => position.get(a)! - position.get(b)!);
}

/** The first index of `anchors` (sorted by root) whose root is not below `root` in code-unit order. */
function lowerBoundRoot(anchors: readonly CrawledAnchor[], root: string): number {
  let low = 0;
  let high = anchors.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (anchors[middle]!.root < root) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The anchors at or below `folders`, by root: one run of the sorted list per folder. */
function anchorsWithin(anchors: readonly CrawledAnchor[], folders: readonly string[]): Map<string, CrawledAnchor> {
  const found = new Map<string, CrawledAnchor>();
  for (const folder of folders) {
    const exact = lowerBoundRoot(anchors, folder);
    if (exact < anchors.length && anchors[exact]!.root === folder) found.set(folder, anchors[exact]!);
    // '0' is the code unit after '/': the roots below `folder` end where those starting with `folder0` begin.
    for (
      let index = lowerBoundRoot(anchors, `${folder}/`), end = lowerBoundRoot(anchors, `${folder}0`);
      index < end;
      index++
    )
      found.set(anchors[index]!.root, anchors[index]!);
  }
  return found;
}

/** Whether an anchor of `anchors` (sorted by root, as a crawl lists them) lies below `root`. */
export function hasAnchorBelow(anchors: readonly CrawledAnchor[], root: string): boolean {
  const index = lowerBoundRoot(anchors, `${root}/`);
  return index < anchors.length && anchors[index]!.root.startsWith(`${root}/`);
}

/** The most roots a patch orders by splicing the previous list (each splice moves the list once, natively). */
const MAX_SPLICED = 32;

/** A patch's records in order, and how many of them are unregistered. */
interface OrderedRecords {
  readonly records: AssetRecord[];
  readonly unregisteredCount: number;
}

/**
 * The records of a patch in order, by a walk of both entry lists (a `touched` test per entry) and of the
 * previous unregistered records. Undefined when an untouched entry is not the previous one at its place.
 */
function walkedRecords(
  previous: Snapshot,
  oldEntries: readonly RegistryEntry[],
  newEntries: readonly RegistryEntry[],
  touched: ReadonlySet<string>,
  fresh: ReadonlyMap<string, AssetRecord>,
  freshUnregistered: readonly AssetRecord[],
): OrderedRecords | undefined {
  const records: AssetRecord[] = [];
  for (let i = 0, j = 0; j < newEntries.length; j++) {
    const now = newEntries[j]!;
    while (i < oldEntries.length && oldEntries[i]!.asset_id < now.asset_id) i++;
    if (touched.has(now.root)) records.push(fresh.get(now.root)!);
    else if (oldEntries[i] === now) records.push(previous.assets[i]!);
    else return undefined;
  }
  const unregistered: AssetRecord[] = [];
  let next = 0;
  for (let index = oldEntries.length; index < previous.assets.length; index++) {
    const record = previous.assets[index]!;
    if (touched.has(record.root)) continue;
    while (next < freshUnregistered.length && compareStrings(freshUnregistered[next]!.root, record.root) < 0)
      unregistered.push(freshUnregistered[next++]!);
    unregistered.push(record);
  }
  while (next < freshUnregistered.length) unregistered.push(freshUnregistered[next++]!);
  records.push(...unregistered);

  return { records, unregisteredCount: unregistered.length };
}

/** The first index at or after `from` of `records` (unregistered ones from `from` on, sorted by root) whose root is not below `root`. */
function lowerBoundUnregistered(records: readonly AssetRecord[], from: number, root: string): number {
  let low = from;
  let high = records.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareStrings(records[middle]!.root, root) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The records of a patch in order, from the previous list copied whole (natively) and spliced where the
 * commit changed something: registered records are at their entry's index (the lists are strictly sorted by
 * asset_id, found by search), unregistered ones after them by root. What the walk gives, without a test
 * per entry. Undefined when what the edit says does not match the lists.
 */
function splicedRecords(
  previous: Snapshot,
  oldEntries: readonly RegistryEntry[],
  newEntries: readonly RegistryEntry[],
  edit: RegistryEdit,
  touched: ReadonlySet<string>,
  fresh: ReadonlyMap<string, AssetRecord>,
  freshUnregistered: readonly AssetRecord[],
): OrderedRecords | undefined {
  // Spread, not `slice`: V8 copies a frozen array's elements one by one in `slice` (about 40 times slower).
  const records = [...previous.assets];
  // Registered: the removed entries' records go (from the last), the added ones' places open (from the first).
  const removedAt: number[] = [];
  for (const entry of edit.removed) {
    const at = lowerBoundId(oldEntries, entry.asset_id);
    if (oldEntries[at] !== entry || records[at]?.entry !== entry) return undefined;
    removedAt.push(at);
  }
  removedAt.sort((a, b) => b - a);
  for (const at of removedAt) records.splice(at, 1);
  const addedAt: number[] = [];
  for (const entry of edit.added) {
    const at = lowerBoundId(newEntries, entry.asset_id);
    if (newEntries[at] !== entry) return undefined;
    addedAt.push(at);
  }
  addedAt.sort((a, b) => a - b);
  for (const at of addedAt) records.splice(at, 0, undefined as unknown as AssetRecord);
  if (records.length - newEntries.length !== previous.assets.length - oldEntries.length) return undefined;
  for (const record of fresh.values()) {
    if (record.entry === null) continue;
    const at = lowerBoundId(newEntries, record.entry.asset_id);
    if (newEntries[at] !== record.entry) return undefined;
    records[at] = record;
  }
  // Every added entry's place was filled by its fresh record.
  for (const at of addedAt) if (records[at] === undefined) return undefined;
  // Unregistered: the touched roots' records go, the fresh ones go in by root.
  const start = newEntries.length;
  const droppedAt: number[] = [];
  for (const root of touched) {
    const at = lowerBoundUnregistered(records, start, root);
    if (at < records.length && records[at]!.root === root) droppedAt.push(at);
  }
  droppedAt.sort((a, b) => b - a);
  for (const at of droppedAt) records.splice(at, 1);
  for (const record of freshUnregistered) {
    const at = lowerBoundUnregistered(records, start, record.root);
    if (at < records.length && records[at]!.root === record.root) return undefined;
    records.splice(at, 0, record);
  }
  return { records, unregisteredCount: records.length - start };
}

/**
 * The records of a patch in order when the registry's entries are the very same list and every touched root
 * had a record and gets one again with the same entry (format results arriving, a declaration rewritten in
 * place): the previous list copied whole (natively), each fresh record written over its predecessor's place
 * (registered ones at their entry's index, found by search; unregistered ones after them by root), whatever
 * their number. No walk of every entry, and no splice. Undefined when a touched root gains or loses its record.
 */
function replacedRecords(
  previous: Snapshot,
  entries: readonly RegistryEntry[],
  touched: ReadonlySet<string>,
  fresh: ReadonlyMap<string, AssetRecord>,
): OrderedRecords | undefined {
  const records = [...previous.assets];
  const start = entries.length;
  for (const root of touched) {
    const old = previous.byRoot.get(root);
    const now = fresh.get(root);
    if (old === undefined || now === undefined) {
      if (old !== now) return undefined;
      continue;
    }
    if (now.entry !== old.entry) return undefined;
    const at =
      old.entry !== null ? lowerBoundId(entries, old.entry.asset_id) : lowerBoundUnregistered(records, start, root);
    if (records[at] !== old) return undefined;
    records[at] = now;
  }
  return { records, unregisteredCount: records.length - start };
}

/** Whether a record's identity is one asset_uuid that its entry and its anchor agree on (or that only its anchor has). */
function plainIdentity(record: AssetRecord): boolean {
  return record.entry === null || (record.anchor !== null && record.anchor.assetUuid === record.entry.asset_uuid);
}

/**
 * The snapshot after a commit: equal to `buildSnapshot(revision, crawl, parsedRegistry, { previous, quarantine })`,
 * but patched from `previous` when it can be: `crawl` is `previous.crawl` re-crawled in `folders` (the
 * folders the commit wrote), and the registry entries the commit did not touch are the same objects. Only the
 * roots in those folders, the roots enclosing them and the roots of changed entries get new records; every
 * index and the anchor analysis share their entries with `previous` (see shared-map.ts). When what changed
 * can bear on other assets (nested roots, asset_uuids held twice, a registered root without its anchor,
 * registry diagnostics, a folder-wide commit), it builds the snapshot whole instead.
 * `test/domain/snapshot-patch.test.ts` pins the equality over random commits.
 */
export function patchSnapshot(
  revision: number,
  previous: Snapshot,
  crawl: CrawlResult,
  parsedRegistry: ParsedRegistry,
  folders: readonly string[],
  quarantine: readonly QuarantineEntry[],
): Snapshot {
  return (
    patchSnapshotForReload(revision, previous, crawl, parsedRegistry, folders, quarantine, previous.formatResults) ??
    buildSnapshot(revision, crawl, parsedRegistry, { previous, quarantine })
  );
}

/**
 * {@link patchSnapshot} for a reload or for format results arriving, or undefined where it would build the
 * snapshot whole: `crawl` is a crawl of the whole of `assets/` (or `previous.crawl` itself) that differs from
 * `previous.crawl` only within `folders`, and `formatResults` replace `previous`'s (every root whose result
 * differs from `previous`'s lies in `folders`).
 * Equal to `buildSnapshot(revision, crawl, parsedRegistry, { previous, quarantine, formatResults })`.
 */
export function patchSnapshotForReload(
  revision: number,
  previous: Snapshot,
  crawl: CrawlResult,
  parsedRegistry: ParsedRegistry,
  folders: readonly string[],
  quarantine: readonly QuarantineEntry[],
  formatResults: FormatResults,
): Snapshot | undefined {
  const before = analyses.get(previous.crawl);
  const previousCross = crossAssetRecords.get(previous);
  if (
    before === undefined ||
    previousCross === undefined ||
    folders.includes('') ||
    parsedRegistry.registry === null ||
    previous.registry === null ||
    parsedRegistry.diagnostics.length > 0 ||
    previous.parsedRegistry.diagnostics.length > 0 ||
    previous.counts.missing > 0
  )
    return undefined;

  // 1. The anchors the re-crawl replaced: parsed again only when their text changed. On the same crawl, the
  // anchors in `folders` are those whose format results changed (a validation round's).
  const sameCrawl = crawl === previous.crawl;
  const oldRun = anchorsWithin(previous.crawl.anchors, folders);
  const newRun = sameCrawl ? oldRun : anchorsWithin(crawl.anchors, folders);
  const anchorPatch = new Map<string, ParsedDeclaration | typeof DELETED>();
  const parsedPatch = new Map<string, ParsedAnchor | typeof DELETED>();
  const changedAnchors: string[] = [];
  for (const root of oldRun.keys())
    if (!newRun.has(root)) {
      anchorPatch.set(root, DELETED);
      parsedPatch.set(root, DELETED);
      changedAnchors.push(root);
    }
  for (const [root, anchor] of newRun) {
    const reusable = before.parsedAnchors.get(root);
    if (reusable !== undefined && reusable.text !== null && reusable.text === anchor.text) continue;
    const parsed = parseDeclaration(anchor.root, anchor.text, anchor.readError);
    anchorPatch.set(root, parsed);
    parsedPatch.set(root, { text: anchor.text, parsed });
    changedAnchors.push(root);
  }
  const anchors = patchMap(before.anchors, anchorPatch);
  // A changed anchor must not enclose or lie inside another, nor share its asset_uuid: then the diagnostics
  // found across anchors (`extra`) are those of the previous analysis.
  const uuidPatch = new Map<string, readonly string[] | typeof DELETED>();
  for (const root of changedAnchors) {
    if (before.extra.has(root)) return undefined;
    for (let parent = parentOf(root); parent !== ''; parent = parentOf(parent))
      if (anchors.has(parent) || before.anchors.has(parent)) return undefined;
    if (hasAnchorBelow(crawl.anchors, root) || hasAnchorBelow(previous.crawl.anchors, root)) return undefined;
    const uuid = before.anchors.get(root)?.assetUuid ?? null;
    if (uuid === null) continue;
    if (before.anchorsByUuid.get(uuid)?.length !== 1) return undefined;
    uuidPatch.set(uuid, DELETED);
  }
  for (const root of changedAnchors) {
    const uuid = anchors.get(root)?.assetUuid ?? null;
    if (uuid === null) continue;
    const held = uuidPatch.has(uuid) ? uuidPatch.get(uuid) : before.anchorsByUuid.get(uuid);
    if (held !== undefined && held !== DELETED) return undefined;
    uuidPatch.set(uuid, [root]);
  }

  // 2. The registry entries that changed, by a walk of both lists (sorted by asset_id, untouched entries shared).
  const touched = new Set<string>(changedAnchors);
  const entryAt = new Map<string, RegistryEntry | null>();
  const oldEntries = previous.parsedRegistry.entries;
  const newEntries = parsedRegistry.entries;
  const gone = (entry: RegistryEntry): void => {
    if (!entryAt.has(entry.root)) entryAt.set(entry.root, null);
    touched.add(entry.root);
  };
  // The planner's record of the entries the commit changed, when the entry lists are the registries' own and
  // strictly sorted: then neither this step nor the ordering below walks them.
  const edit =
    oldEntries === previous.registry.assets &&
    newEntries === parsedRegistry.registry.assets &&
    strictlySorted(previous.registry) &&
    strictlySorted(parsedRegistry.registry)
      ? registryEdit(previous.registry, parsedRegistry.registry)
      : undefined;
  if (edit !== undefined) {
    // As the walk below: a root loses its entry unless an added entry names it.
    for (const old of edit.removed) gone(old);
    for (const now of edit.added) {
      entryAt.set(now.root, now);
      touched.add(now.root);
    }
  } else
    for (let i = 0, j = 0; i < oldEntries.length || j < newEntries.length;) {
      const old = oldEntries[i];
      const now = newEntries[j];
      if (old !== undefined && old === now) {
        i++;
        j++;
      } else if (now === undefined || (old !== undefined && old.asset_id < now.asset_id)) {
        gone(old!);
        i++;
      } else {
        if (old !== undefined && old.asset_id === now.asset_id) {
          gone(old);
          i++;
        }
        entryAt.set(now.root, now);
        touched.add(now.root);
        j++;
      }
    }

  // 3. The roots whose files may have changed: those in the re-crawled folders and those enclosing them.
  for (const root of oldRun.keys()) touched.add(root);
  for (const root of newRun.keys()) touched.add(root);
  if (!sameCrawl)
    for (const folder of folders)
      for (let root = parentOf(folder); root !== ''; root = parentOf(root)) if (anchors.has(root)) touched.add(root);

  // 4. The records of those roots, reused when nothing they depend on changed.
  const lookup = new SortedFiles(crawl.files);
  const replaced: AssetRecord[] = [];
  const fresh = new Map<string, AssetRecord>();
  for (const root of touched) {
    if (before.extra.has(root)) return undefined;
    const old = previous.byRoot.get(root);
    if (old !== undefined) {
      if ((previousCross.size > 0 && previousCross.has(old)) || !plainIdentity(old)) return undefined;
      replaced.push(old);
    }
    const entry = entryAt.has(root) ? entryAt.get(root)! : (old?.entry ?? null);
    const anchor = anchors.get(root) ?? null;
    if (anchor === null) {
      // A registered root without its anchor is reported against the other anchors (moved folders).
      if (entry !== null) return undefined;
      continue;
    }
    let record: AssetRecord;
    if (entry !== null) {
      const mismatch = uuidMismatch(entry, anchor);
      record =
        (mismatch === undefined
          ? unchangedRecord(previous, previousCross, root, entry, anchor, lookup, crawl, formatResults)
          : undefined) ??
        makeRecord(
          root,
          entry,
          anchor,
          mismatch !== undefined ? [mismatch] : [],
          undefined,
          lookup,
          false,
          formatResults,
        );
    } else
      record =
        unchangedRecord(previous, previousCross, root, null, anchor, lookup, crawl, formatResults) ??
        makeRecord(
          root,
          null,
          anchor,
          [unregisteredRoot(root, anchor, parsedRegistry, undefined)],
          undefined,
          lookup,
          false,
          formatResults,
        );
    if (!plainIdentity(record)) return undefined;
    fresh.set(root, record);
  }

  // 5. The records in order: registered ones by the registry's order, then unregistered ones by root.
  const freshUnregistered = [...fresh.values()]
    .filter((record) => record.entry === null)
    .sort((a, b) => compareStrings(a.root, b.root));
  const ordered =
    (edit !== undefined && edit.removed.length === 0 && edit.added.length === 0 && oldEntries === newEntries
      ? replacedRecords(previous, newEntries, touched, fresh)
      : undefined) ??
    (edit !== undefined && touched.size <= MAX_SPLICED
      ? splicedRecords(previous, oldEntries, newEntries, edit, touched, fresh, freshUnregistered)
      : walkedRecords(previous, oldEntries, newEntries, touched, fresh, freshUnregistered));
  if (ordered === undefined) return undefined;
  const { records, unregisteredCount } = ordered;

  // 6. The indexes: each key of a replaced record goes, each key of a fresh one comes; a key another record
  // holds (asset_uuids or ids held twice) is a conflict the whole build decides.
  const rootPatch = new Map<string, AssetRecord | typeof DELETED>();
  const uuidIndexPatch = new Map<string, AssetRecord | typeof DELETED>();
  const idPatch = new Map<number, AssetRecord | typeof DELETED>();
  for (const old of replaced) {
    rootPatch.set(old.root, DELETED);
    if (old.assetUuid !== null) {
      if (previous.byUuid.get(old.assetUuid) !== old) return undefined;
      uuidIndexPatch.set(old.assetUuid, DELETED);
    }
    if (old.entry !== null) {
      if (previous.byId.get(old.entry.asset_id) !== old) return undefined;
      idPatch.set(old.entry.asset_id, DELETED);
    }
  }
  const claim = <K>(
    index: ReadonlyMap<K, AssetRecord>,
    patch: Map<K, AssetRecord | typeof DELETED>,
    key: K,
    record: AssetRecord,
  ): boolean => {
    const held = patch.has(key) ? patch.get(key) : index.get(key);
    if (held !== undefined && held !== DELETED) return false;
    patch.set(key, record);
    return true;
  };
  for (const record of fresh.values()) {
    rootPatch.set(record.root, record);
    if (record.assetUuid !== null && !claim(previous.byUuid, uuidIndexPatch, record.assetUuid, record))
      return undefined;
    if (record.entry !== null && !claim(previous.byId, idPatch, record.entry.asset_id, record)) return undefined;
  }

  // 7. The counts, moved by what was replaced.
  const projectDiagnostics = journalDiagnostics(crawl, journalsOf(crawl, previous));
  let {
    registered,
    missing,
    includedInBuild: included,
    errors,
    warnings,
    blocking,
    validationPending,
  } = previous.counts;
  const tally = (diagnostics: readonly Diagnostic[], sign: number): void => {
    for (const diagnostic of diagnostics) {
      if (diagnostic.severity === 'error') errors += sign;
      if (diagnostic.severity === 'warning') warnings += sign;
      if (diagnostic.blocking) blocking += sign;
    }
  };
  const count = (record: AssetRecord, sign: number): void => {
    if (record.validation === 'pending') validationPending += sign;
    if (record.entry !== null) registered += sign;
    if (record.state === 'missing') missing += sign;
    if (inBuildSet(record)) included += sign;
    tally(record.diagnostics, sign);
  };
  for (const record of replaced) count(record, -1);
  for (const record of fresh.values()) count(record, 1);
  tally(previous.projectDiagnostics, -1);
  tally(projectDiagnostics, 1);

  const parsedAnchors = patchMap(before.parsedAnchors, parsedPatch);
  if (!sameCrawl)
    analyses.set(crawl, {
      fileSet: lookup,
      anchors,
      parsedAnchors,
      anchorsByUuid: patchMap(before.anchorsByUuid, uuidPatch),
      extra: before.extra,
    });
  const snapshot: Snapshot = Object.freeze({
    revision,
    workspaceInitialized: parsedRegistry.exists,
    registry: parsedRegistry.registry,
    assets: Object.freeze(records),
    byRoot: patchMap(previous.byRoot, rootPatch),
    byUuid: patchMap(previous.byUuid, uuidIndexPatch),
    byId: patchMap(previous.byId, idPatch),
    projectDiagnostics: Object.freeze(projectDiagnostics),
    crawl,
    unrecoverableJournals: journalsOf(crawl, previous),
    counts: Object.freeze({
      roots: anchors.size,
      registered,
      unregistered: unregisteredCount,
      missing,
      includedInBuild: included,
      errors,
      warnings,
      blocking,
      validationPending,
    }),
    quarantine: Object.freeze([...quarantine]),
    parsedAnchors,
    parsedRegistry,
    formatResults,
  });
  crossAssetRecords.set(snapshot, previousCross);
  patches.set(snapshot, { previous, roots: touched });
  return snapshot;
}
