/**
 * What changed between two snapshots, by asset: roots added, removed, moved (same asset_uuid elsewhere)
 * and changed (declaration, inputs or diagnostics). Reconcile reports it.
 */
import type { AssetRecord, Snapshot } from './snapshot.js';
import { compareStrings } from './crawl.js';

/** The codes of format validation, which a reload recomputes later. */
const FORMAT_CODES: ReadonlySet<string> = new Set(['format-declaration-invalid', 'format-input-invalid']);

/** The diff, in the wire's shape. */
export interface SnapshotDiff {
  added: { root: string; assetUuid: string | null }[];
  removed: { root: string; assetUuid: string | null; assetId?: number }[];
  moved: { from: string; to: string; assetUuid: string; assetId?: number }[];
  changed: { root: string; assetUuid: string | null }[];
  diagnosticsBefore: number;
  diagnosticsAfter: number;
}

function anchored(snapshot: Snapshot): Map<string, AssetRecord> {
  const roots = new Map<string, AssetRecord>();
  for (const record of snapshot.assets)
    if (record.anchor !== null && !roots.has(record.root)) roots.set(record.root, record);
  return roots;
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

/** Compares `before` and `after`. */
export function diffSnapshots(before: Snapshot, after: Snapshot): SnapshotDiff {
  const old = anchored(before);
  const now = anchored(after);
  const oldByUuid = new Map<string, AssetRecord>();
  for (const record of old.values()) if (record.assetUuid !== null) oldByUuid.set(record.assetUuid, record);
  const nowUuids = new Set<string>();
  for (const record of now.values()) if (record.assetUuid !== null) nowUuids.add(record.assetUuid);
  const diff: SnapshotDiff = {
    added: [],
    removed: [],
    moved: [],
    changed: [],
    diagnosticsBefore: 0,
    diagnosticsAfter: 0,
  };
  const movedFrom = new Set<string>();
  for (const [root, record] of now) {
    const previous = old.get(root);
    if (previous !== undefined) {
      if (signature(previous, before) !== signature(record, after))
        diff.changed.push({ root, assetUuid: record.assetUuid });
      continue;
    }
    const elsewhere = record.assetUuid !== null ? oldByUuid.get(record.assetUuid) : undefined;
    if (elsewhere !== undefined && !now.has(elsewhere.root)) {
      movedFrom.add(elsewhere.root);
      diff.moved.push({
        from: elsewhere.root,
        to: root,
        assetUuid: record.assetUuid!,
        ...(elsewhere.entry ? { assetId: elsewhere.entry.asset_id } : {}),
      });
    } else diff.added.push({ root, assetUuid: record.assetUuid });
  }
  for (const [root, record] of old) {
    if (now.has(root) || movedFrom.has(root)) continue;
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
