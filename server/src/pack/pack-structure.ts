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
