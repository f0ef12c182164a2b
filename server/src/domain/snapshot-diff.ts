/**
 * What changed between two snapshots, by asset: roots added, removed, moved (same asset_uuid elsewhere)
 * and changed (declaration, inputs, registry entry or diagnostics), and whose diagnostics changed. Reconcile
 * reports the first; every published snapshot carries both in its events.
 */
import type { Severity } from '@prometeu/packer-protocol';
import { patchedRoots, type AssetRecord, type Snapshot } from './snapshot.js';
import { compareStrings } from './crawl.js';

/** The codes of format validation, which a reload recomputes later. */
const FORMAT_CODES: ReadonlySet<string> = new Set(['format-declaration-invalid', 'format-input-invalid']);

/** The diff, in the wire's shape. */
export interface SnapshotDiff {
  added: { root: string; assetUuid: string | null; assetId?: number }[];
  removed: { root: string; assetUuid: string | null; assetId?: number }[];
  moved: { from: string; to: string; assetUuid: string; assetId?: number }[];
  changed: { root: string; assetUuid: string | null; assetId?: number }[];
  diagnosticsBefore: number;
  diagnosticsAfter: number;
}

/** The anchored records of a snapshot by root, and by asset_uuid; snapshots are immutable, so this never goes stale. */
interface AnchoredIndex {
  readonly byRoot: ReadonlyMap<string, AssetRecord>;
  readonly byUuid: ReadonlyMap<string, AssetRecord>;
}

/** Each snapshot's index, built once: every publish diffs against the snapshot the last publish indexed. */
const anchoredIndexes = new WeakMap<Snapshot, AnchoredIndex>();

function anchoredIndex(snapshot: Snapshot): AnchoredIndex {
  let index = anchoredIndexes.get(snapshot);
  if (index === undefined) {
    const byRoot = new Map<string, AssetRecord>();
    for (const record of snapshot.assets)
      if (record.anchor !== null && !byRoot.has(record.root)) byRoot.set(record.root, record);
    const byUuid = new Map<string, AssetRecord>();
    for (const record of byRoot.values()) if (record.assetUuid !== null) byUuid.set(record.assetUuid, record);
    index = { byRoot, byUuid };
    anchoredIndexes.set(snapshot, index);
  }
  return index;
}

/**
 * The anchored records of `snapshot` as a diff walks them: every one, or, when `after` was patched from
 * `before`, those of the roots the patch touched (every other root has the very same record in both). A
 * patch is made only where each asset_uuid it touched is held by one record, so the snapshot's own
 * `byUuid` answers for the anchored index's.
 */
interface AnchoredView {
  readonly walk: Iterable<[string, AssetRecord]>;
  get(root: string): AssetRecord | undefined;
  byUuid(uuid: string): AssetRecord | undefined;
}

function anchoredView(snapshot: Snapshot, roots: ReadonlySet<string> | undefined): AnchoredView {
  if (roots === undefined) {
    const index = anchoredIndex(snapshot);
    return { walk: index.byRoot, get: (root) => index.byRoot.get(root), byUuid: (uuid) => index.byUuid.get(uuid) };
  }
  const anchored = (record: AssetRecord | undefined): AssetRecord | undefined =>
    record !== undefined && record.anchor !== null ? record : undefined;
  const walk: [string, AssetRecord][] = [];
  for (const root of roots) {
    const record = anchored(snapshot.byRoot.get(root));
    if (record !== undefined) walk.push([root, record]);
  }
  return {
    walk,
    get: (root) => anchored(snapshot.byRoot.get(root)),
    byUuid: (uuid) => anchored(snapshot.byUuid.get(uuid)),
  };
}

/** The records of `snapshot` by root, all of them or those of the patched roots only (see {@link AnchoredView}). */
function* recordsOf(snapshot: Snapshot, roots: ReadonlySet<string> | undefined): Iterable<[string, AssetRecord]> {
  if (roots === undefined) {
    yield* snapshot.byRoot;
    return;
  }
  for (const root of roots) {
    const record = snapshot.byRoot.get(root);
    if (record !== undefined) yield [root, record];
  }
}

function idOf(record: AssetRecord): { assetId?: number } {
  return record.entry ? { assetId: record.entry.asset_id } : {};
}

function signature(record: AssetRecord, snapshot: Snapshot): string {
  return JSON.stringify([
    snapshot.parsedAnchors.get(record.root)?.text ?? null,
    // Format results (input hashes, format diagnostics) arrive later, with validation: a reload that only
    // drops them is no change.
    record.inputs.map(({ sha256: _sha256, ...input }) => input),
    record.diagnostics
      .filter((diagnostic) => !FORMAT_CODES.has(diagnostic.code))
      .map((diagnostic) => diagnostic.code + diagnostic.message),
    record.entry,
  ]);
}

/**
 * Whether `a` (of `before`) and `b` (of `after`) have the same {@link signature}, shown without building either
 * string where the parts compare as they are: the anchor texts, the entries (the same object, or the same
 * JSON), the inputs field by field but the hash, and the codes and messages of the diagnostics but the format
 * checks'. Every result of a validation round changes a record in its hashes and format diagnostics alone, and
 * two signatures of each (the anchor's text included) cost that round's publishes a sixth of their time.
 */
function sameSignature(a: AssetRecord, before: Snapshot, b: AssetRecord, after: Snapshot): boolean {
  if ((before.parsedAnchors.get(a.root)?.text ?? null) !== (after.parsedAnchors.get(b.root)?.text ?? null))
    return false;
  if (a.entry !== b.entry && JSON.stringify(a.entry) !== JSON.stringify(b.entry)) return false;
  if (a.inputs.length !== b.inputs.length) return false;
  for (let index = 0; index < a.inputs.length; index++)
    if (!sameButHash(a.inputs[index]!, b.inputs[index]!)) return signature(a, before) === signature(b, after);
  const ownA = a.diagnostics.filter((diagnostic) => !FORMAT_CODES.has(diagnostic.code));
  const ownB = b.diagnostics.filter((diagnostic) => !FORMAT_CODES.has(diagnostic.code));
  return (
    ownA.length === ownB.length &&
    ownA.every((diagnostic, index) => diagnostic.code + diagnostic.message === ownB[index]!.code + ownB[index]!.message)
  );
}

/**
 * Whether two inputs are the same but for `sha256`: the same keys in the same order, each with the very same
 * primitive value (false where that does not show it; the caller then compares their JSON).
 */
function sameButHash(a: object, b: object): boolean {
  if (a === b) return true;
  const keysA = Object.keys(a).filter((key) => key !== 'sha256');
  const keysB = Object.keys(b).filter((key) => key !== 'sha256');
  if (keysA.length !== keysB.length) return false;
  for (let index = 0; index < keysA.length; index++) {
    const key = keysA[index]!;
    if (key !== keysB[index]) return false;
    const value: unknown = (a as Record<string, unknown>)[key];
    if (value !== (b as Record<string, unknown>)[key]) return false;
    if (value === undefined || (typeof value === 'object' && value !== null)) return false;
    if (typeof value === 'number' && !Number.isFinite(value)) return false;
  }
  return true;
}

/**
 * Everything a read shows of a record, format results and validation state included: what a client that
 * refetches only the assets a `snapshot.published` names must not miss.
 */
function shownSignature(record: AssetRecord, snapshot: Snapshot): string {
  return JSON.stringify([
    snapshot.parsedAnchors.get(record.root)?.text ?? null,
    record.inputs,
    record.diagnostics.map((diagnostic) => diagnostic.code + diagnostic.message),
    record.entry,
    record.validation,
  ]);
}

/** Each pair's diff, made once: a reload's publish and the reconcile's answer both ask for it. */
const diffs = new WeakMap<Snapshot, WeakMap<Snapshot, Readonly<SnapshotDiff>>>();

/** Compares `before` and `after`; the same pair gets the same (frozen) diff. */
export function diffSnapshots(before: Snapshot, after: Snapshot): Readonly<SnapshotDiff> {
  let byAfter = diffs.get(before);
  if (byAfter === undefined) diffs.set(before, (byAfter = new WeakMap()));
  let diff = byAfter.get(after);
  if (diff === undefined) byAfter.set(after, (diff = Object.freeze(computeDiff(before, after))));
  return diff;
}

function computeDiff(before: Snapshot, after: Snapshot): SnapshotDiff {
  const roots = patchedRoots(before, after);
  const old = anchoredView(before, roots);
  const now = anchoredView(after, roots);
  const diff: SnapshotDiff = {
    added: [],
    removed: [],
    moved: [],
    changed: [],
    diagnosticsBefore: 0,
    diagnosticsAfter: 0,
  };
  const movedFrom = new Set<string>();
  for (const [root, record] of now.walk) {
    const previous = old.get(root);
    if (previous !== undefined) {
      // A record the next snapshot reused is the very same object: unchanged, without comparing.
      if (previous !== record && !sameSignature(previous, before, record, after))
        diff.changed.push({ root, assetUuid: record.assetUuid, ...idOf(record) });
      continue;
    }
    const elsewhere = record.assetUuid !== null ? old.byUuid(record.assetUuid) : undefined;
    if (elsewhere !== undefined && now.get(elsewhere.root) === undefined) {
      movedFrom.add(elsewhere.root);
      diff.moved.push({
        from: elsewhere.root,
        to: root,
        assetUuid: record.assetUuid!,
        ...(elsewhere.entry ? { assetId: elsewhere.entry.asset_id } : {}),
      });
    } else diff.added.push({ root, assetUuid: record.assetUuid, ...idOf(record) });
  }
  for (const [root, record] of old.walk) {
    if (now.get(root) !== undefined || movedFrom.has(root)) continue;
    diff.removed.push({
      root,
      assetUuid: record.assetUuid,
      ...(record.entry ? { assetId: record.entry.asset_id } : {}),
    });
  }
  for (const list of [diff.added, diff.removed, diff.changed]) list.sort((a, b) => compareStrings(a.root, b.root));
  diff.moved.sort((a, b) => compareStrings(a.to, b.to));
  diff.diagnosticsBefore = before.counts.errors + before.counts.warnings;
  diff.diagnosticsAfter = after.counts.errors + after.counts.warnings;
  return diff;
}

/** One asset whose diagnostics differ between two snapshots. */
export interface DiagnosticsChange {
  root: string;
  assetUuid?: string;
  assetId?: number;
  /** The worst severity before (null: none, or the asset did not exist). */
  previousWorstSeverity: Severity | null;
  /** The worst severity now (null: none, or the asset is gone). */
  worstSeverity: Severity | null;
  /** How many diagnostics it has now. */
  diagnosticCount: number;
}

/** What diagnostics changed between two snapshots, by asset root, and whether the project-wide ones did. */
export interface DiagnosticsDiff {
  assets: DiagnosticsChange[];
  /** Present when the diagnostics not tied to one asset (the registry file) changed. */
  project?: { previousWorstSeverity: Severity | null; worstSeverity: Severity | null; diagnosticCount: number };
}

const SEVERITY_ORDER: readonly Severity[] = ['error', 'warning', 'info', 'hint'];

function worstOf(diagnostics: readonly { severity: Severity }[]): Severity | null {
  let worst: Severity | null = null;
  for (const { severity } of diagnostics)
    if (worst === null || SEVERITY_ORDER.indexOf(severity) < SEVERITY_ORDER.indexOf(worst)) worst = severity;
  return worst;
}

function diagnosticsKey(diagnostics: readonly unknown[]): string {
  return JSON.stringify(diagnostics);
}

/** Compares the diagnostics of `before` and `after`, asset by asset (by root). Null when nothing changed. */
export function diffDiagnostics(before: Snapshot, after: Snapshot): DiagnosticsDiff | null {
  const changes: DiagnosticsChange[] = [];
  const roots = patchedRoots(before, after);
  // byRoot holds each root's first record, as reads show it: walked directly, with no set of roots seen.
  for (const [root, record] of recordsOf(after, roots)) {
    const previous = before.byRoot.get(root);
    if (previous === record) continue;
    const old = previous?.diagnostics ?? [];
    if (old.length === 0 && record.diagnostics.length === 0) continue;
    if (old.length === record.diagnostics.length && diagnosticsKey(old) === diagnosticsKey(record.diagnostics))
      continue;
    changes.push({
      root: record.root,
      ...(record.assetUuid !== null ? { assetUuid: record.assetUuid } : {}),
      ...idOf(record),
      previousWorstSeverity: previous?.worstSeverity ?? null,
      worstSeverity: record.worstSeverity,
      diagnosticCount: record.diagnostics.length,
    });
  }
  for (const [root, record] of recordsOf(before, roots)) {
    if (after.byRoot.has(root) || record.diagnostics.length === 0) continue;
    changes.push({
      root: record.root,
      ...(record.assetUuid !== null ? { assetUuid: record.assetUuid } : {}),
      ...idOf(record),
      previousWorstSeverity: record.worstSeverity,
      worstSeverity: null,
      diagnosticCount: 0,
    });
  }
  changes.sort((a, b) => compareStrings(a.root, b.root));
  const projectChanged = diagnosticsKey(before.projectDiagnostics) !== diagnosticsKey(after.projectDiagnostics);
  if (changes.length === 0 && !projectChanged) return null;
  return {
    assets: changes,
    ...(projectChanged
      ? {
          project: {
            previousWorstSeverity: worstOf(before.projectDiagnostics),
            worstSeverity: worstOf(after.projectDiagnostics),
            diagnosticCount: after.projectDiagnostics.length,
          },
        }
      : {}),
  };
}

/**
 * What a published snapshot changed, for its `snapshot.published` event: {@link diffSnapshots} (moves found
 * by `asset_uuid`), plus every other root whose record appeared, vanished or changed, anchored or not (a
 * registered root whose anchor went missing, an entry forgotten), so a client that refetches only these
 * roots sees what a full read would.
 */
export function diffPublishedAssets(
  before: Snapshot,
  after: Snapshot,
): Omit<SnapshotDiff, 'diagnosticsBefore' | 'diagnosticsAfter'> {
  const anchoredDiff = diffSnapshots(before, after);
  const { moved } = anchoredDiff;
  // A root that lost (or gained) its anchor but keeps a record (a registered root now missing, say) is
  // still listed by reads: for a client it changed, it was neither removed nor added.
  const changed = [
    ...anchoredDiff.changed,
    ...anchoredDiff.removed.filter((asset) => after.byRoot.has(asset.root)),
    ...anchoredDiff.added.filter((asset) => before.byRoot.has(asset.root)),
  ];
  const removed = anchoredDiff.removed.filter((asset) => !after.byRoot.has(asset.root));
  const added = anchoredDiff.added.filter((asset) => !before.byRoot.has(asset.root));
  const reported = new Set<string>();
  for (const list of [added, removed, changed]) for (const asset of list) reported.add(asset.root);
  for (const move of moved) reported.add(move.from).add(move.to);
  const extra = { added, removed, changed };
  const roots = patchedRoots(before, after);
  for (const [root, record] of recordsOf(after, roots)) {
    if (reported.has(root)) continue;
    const previous = before.byRoot.get(root);
    if (previous === undefined) extra.added.push({ root, assetUuid: record.assetUuid, ...idOf(record) });
    // A record whose validation state moved shows differently without comparing the rest.
    else if (
      previous !== record &&
      (previous.validation !== record.validation || shownSignature(previous, before) !== shownSignature(record, after))
    )
      extra.changed.push({ root, assetUuid: record.assetUuid, ...idOf(record) });
  }
  for (const [root, record] of recordsOf(before, roots))
    if (!reported.has(root) && !after.byRoot.has(root))
      extra.removed.push({ root, assetUuid: record.assetUuid, ...idOf(record) });
  for (const list of Object.values(extra)) list.sort((a, b) => compareStrings(a.root, b.root));
  return { ...extra, moved };
}
