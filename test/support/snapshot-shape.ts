/** A snapshot as plain data, so that two snapshots built different ways can be compared with `toEqual`. */
import type { Snapshot } from '../../server/src/domain/snapshot.js';

/** An index as data: its size, and each key with the position of its record in `assets` (sorted by key). */
function indexShape<K extends string | number>(snapshot: Snapshot, index: ReadonlyMap<K, unknown>): unknown {
  const entries = [...index].map(([key, record]) => [key, snapshot.assets.indexOf(record as never)] as const);
  entries.sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : 0));
  return {
    size: index.size,
    entries,
    lookups: entries.map(([key]) => snapshot.assets.indexOf(index.get(key) as never)),
  };
}

/** Everything a snapshot shows, as plain data (record identity aside). */
export function snapshotShape(snapshot: Snapshot): unknown {
  return {
    revision: snapshot.revision,
    workspaceInitialized: snapshot.workspaceInitialized,
    registry: snapshot.registry,
    assets: snapshot.assets,
    byRoot: indexShape(snapshot, snapshot.byRoot),
    byUuid: indexShape(snapshot, snapshot.byUuid),
    byId: indexShape(snapshot, snapshot.byId),
    projectDiagnostics: snapshot.projectDiagnostics,
    crawl: snapshot.crawl,
    unrecoverableJournals: snapshot.unrecoverableJournals,
    counts: snapshot.counts,
    quarantine: snapshot.quarantine,
    parsedAnchors: { size: snapshot.parsedAnchors.size, entries: [...snapshot.parsedAnchors].sort() },
    parsedRegistry: snapshot.parsedRegistry,
  };
}
