/**
 * The pack's structural re-validation: parse the registry just read and rebuild the snapshot's structure from
 * the frozen crawl. Pure CPU, so the pack runs it on its worker thread (see pack-hasher.ts) when it can.
 */
import type { Diagnostic } from '@prometeu/packer-protocol';
import type { CrawlResult } from '../domain/crawl.js';
import { parseRegistry } from '../domain/registry.js';
import { buildSnapshot, inBuildSet, type AssetRecord } from '../domain/snapshot.js';
import { canonicalJson } from './canonical-json.js';

/** What the pack needs of the rebuilt structure. */
export interface PackStructure {
  /** Whether the registry file exists now. */
  readonly exists: boolean;
  /** The canonical JSON of the registry read now (of null when it is absent or untrustworthy). */
  readonly registryJson: string;
  /** The blocking project-level diagnostics of the rebuilt snapshot. */
  readonly blockers: readonly Diagnostic[];
  /** The rebuilt build set, by `asset_id`. */
  readonly buildSet: readonly AssetRecord[];
}

/**
 * One record of a rebuilt build set, as little as the pack needs to check that the snapshot's record is the
 * same: its {@link buildSetKey} and its blocking diagnostics (all structural: a rebuild applies no format result).
 */
export interface PlannedAsset {
  readonly key: string;
  /** The text the crawl read from the record's anchor; undefined when it saw none. */
  readonly anchorText: string | null | undefined;
  readonly blocking: readonly Diagnostic[];
}

/** The rebuilt structure with only the {@link PlannedAsset}s of its build set: what the pack checks its records against. */
export interface PackPlan extends Omit<PackStructure, 'buildSet'> {
  readonly plan: readonly PlannedAsset[];
}

/** Rebuilds the structure of revision `revision` from its frozen `crawl` and the registry text read now. */
export function packStructure(revision: number, crawl: CrawlResult, registryText: string | null): PackStructure {
  const registryNow = parseRegistry(registryText);
  // Every structural check again, from the frozen crawl and the registry just read (compared to the snapshot's).
  const fresh = buildSnapshot(revision, crawl, registryNow);
  return {
    exists: registryNow.exists,
    registryJson: canonicalJson(registryNow.registry),
    blockers: fresh.projectDiagnostics.filter((diagnostic) => diagnostic.blocking),
    buildSet: fresh.assets.filter(inBuildSet).sort((a, b) => a.entry!.asset_id - b.entry!.asset_id),
  };
}

/** The rebuilt build set of {@link packStructure} as {@link PlannedAsset}s, each with its anchor's crawled text. */
export function plannedAssets(structure: PackStructure, crawl: CrawlResult): PlannedAsset[] {
  const texts = new Map<string, string | null>();
  for (const anchor of crawl.anchors) texts.set(anchor.root, anchor.text);
  return structure.buildSet.map((record) => ({
    key: buildSetKey(record),
    anchorText: texts.get(record.root),
    blocking: record.diagnostics.filter((diagnostic) => diagnostic.blocking),
  }));
}

/**
 * Everything the pack takes from a record of the build set, but its anchor, as one string: its registry
 * entry, root and state, what the anchor's parse named, and every input with its place and crawled state.
 * A parse is a function of the anchor's text, so two records with the same key whose anchors were each
 * parsed from the same text (compared on their own: see {@link PlannedAsset.anchorText}) are packed alike.
 */
export function buildSetKey(record: AssetRecord): string {
  const { entry, anchor } = record;
  // Joined by hand, not by JSON.stringify: this runs for every asset on the main thread. Paths, roots and
  // uuids hold no NUL (the path checks refuse it); the name is the one free text, so it is quoted.
  let key =
    entry === null
      ? `-\0${record.root}\0${record.state}`
      : `${entry.asset_id}\0${entry.asset_uuid}\0${entry.root}\0${entry.included_in_build}\0${record.root}\0${record.state}`;
  key +=
    anchor === null
      ? '\0-'
      : `\0${anchor.assetUuid}\0${JSON.stringify(anchor.name)}\0${anchor.type}\0${anchor.declaration === null}`;
  for (const input of record.inputs) key += `\0${input.role}\0${input.path}\0${input.assetsPath}\0${input.state}`;
  return key;
}
