/**
 * A project's snapshot as it would be if one file had the text of an editor's unsaved buffer: the same
 * declaration parser and the same join (`buildSnapshot`) the project uses, over its crawl with that one
 * file's text replaced. Pure; nothing here touches the disk.
 */
import { compareStrings, lowerBound, type CrawlResult } from '../domain/crawl.js';
import { checkRegistry, parseRegistry, REGISTRY_PATH, type ParsedRegistry } from '../domain/registry.js';
import { buildSnapshot, type Snapshot } from '../domain/snapshot.js';
import { anchorPath } from './file-diagnostics.js';

/** The registry a snapshot was built from, as the join takes it; computed once per snapshot. */
const registries = new WeakMap<Snapshot, ParsedRegistry>();

/** The parsed registry behind `snapshot`. */
export function registryOf(snapshot: Snapshot): ParsedRegistry {
  const cached = registries.get(snapshot);
  if (cached !== undefined) return cached;
  const parsed: ParsedRegistry =
    snapshot.registry !== null
      ? checkRegistry(snapshot.registry)
      : !snapshot.workspaceInitialized
        ? parseRegistry(null)
        : {
            exists: true,
            registry: null,
            entries: [],
            diagnostics: snapshot.projectDiagnostics.filter((diagnostic) => diagnostic.path === REGISTRY_PATH),
          };
  registries.set(snapshot, parsed);
  return parsed;
}

/** `list` (sorted) with `item` inserted at its place when absent. */
function withSorted(list: readonly string[], item: string): readonly string[] {
  const index = lowerBound(list, item);
  if (list[index] === item) return list;
  return [...list.slice(0, index), item, ...list.slice(index)];
}

/** The crawl with the `asset.json` of `root` holding `text` (added when the crawl did not see it). */
function crawlWith(crawl: CrawlResult, root: string, text: string): CrawlResult {
  const anchors = [...crawl.anchors];
  let index = 0;
  while (index < anchors.length && compareStrings(anchors[index]!.root, root) < 0) index++;
  if (anchors[index]?.root === root) anchors[index] = { root, text };
  else anchors.splice(index, 0, { root, text });
  return { ...crawl, anchors, files: withSorted(crawl.files, anchorPath(root)) };
}

/** The snapshot as it would be with `text` as the `asset.json` of `root`. */
export function withDeclarationText(snapshot: Snapshot, root: string, text: string): Snapshot {
  if (snapshot.parsedAnchors.get(root)?.text === text) return snapshot;
  return buildSnapshot(snapshot.revision, crawlWith(snapshot.crawl, root, text), registryOf(snapshot), {
    quarantine: snapshot.quarantine,
    previous: snapshot,
  });
}

/** The snapshot as it would be with `text` as `index.json`. */
export function withRegistryText(snapshot: Snapshot, text: string): Snapshot {
  return buildSnapshot(snapshot.revision, snapshot.crawl, parseRegistry(text), {
    quarantine: snapshot.quarantine,
    previous: snapshot,
  });
}
