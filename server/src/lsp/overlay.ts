/**
 * A project's snapshot as it would be if one file had the text of an editor's unsaved buffer: the same
 * declaration parser and the same join (`buildSnapshot`) the project uses, over its crawl with that one
 * file's text replaced. Pure; nothing here touches the disk.
 */
import type { RegistryEntry } from '@prometeu/packer-protocol';
import { compareStrings, lowerBound, type CrawledAnchor, type CrawlResult } from '../domain/crawl.js';
import { parseDeclaration } from '../domain/declaration.js';
import { checkAssetsPath, parentOf } from '../domain/paths.js';
import { checkRegistry, parseRegistry, REGISTRY_PATH, type ParsedRegistry } from '../domain/registry.js';
import { buildSnapshot, type AssetRecord, type ParsedAnchor, type Snapshot } from '../domain/snapshot.js';
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

/** The raw registry entries of a snapshot by canonical root, id and uuid; computed once per snapshot. */
interface EntryIndex {
  readonly rootOf: ReadonlyMap<RegistryEntry, string>;
  /** The place of each entry in the registry's list, so a subset keeps the file's order without a scan. */
  readonly position: ReadonlyMap<RegistryEntry, number>;
  readonly byRoot: ReadonlyMap<string, readonly RegistryEntry[]>;
  readonly byId: ReadonlyMap<number, readonly RegistryEntry[]>;
  readonly byUuid: ReadonlyMap<string, readonly RegistryEntry[]>;
}

const entryIndexes = new WeakMap<Snapshot, EntryIndex>();

function entryIndex(snapshot: Snapshot): EntryIndex {
  const cached = entryIndexes.get(snapshot);
  if (cached !== undefined) return cached;
  const rootOf = new Map<RegistryEntry, string>();
  const position = new Map<RegistryEntry, number>();
  const byRoot = new Map<string, RegistryEntry[]>();
  const byId = new Map<number, RegistryEntry[]>();
  const byUuid = new Map<string, RegistryEntry[]>();
  const add = <K>(map: Map<K, RegistryEntry[]>, key: K, entry: RegistryEntry): void => {
    const list = map.get(key);
    if (list) list.push(entry);
    else map.set(key, [entry]);
  };
  for (const entry of registryOf(snapshot).registry?.assets ?? []) {
    position.set(entry, position.size);
    const checked = checkAssetsPath(entry.root);
    const root = checked.ok ? checked.path : entry.root;
    rootOf.set(entry, root);
    add(byRoot, root, entry);
    add(byId, entry.asset_id, entry);
    add(byUuid, entry.asset_uuid, entry);
  }
  const index = { rootOf, position, byRoot, byId, byUuid };
  entryIndexes.set(snapshot, index);
  return index;
}

/** The roots of every anchor by the `asset_uuid` it declares; computed once per snapshot. */
const anchorsByUuid = new WeakMap<Snapshot, ReadonlyMap<string, readonly string[]>>();

function rootsByUuid(snapshot: Snapshot): ReadonlyMap<string, readonly string[]> {
  const cached = anchorsByUuid.get(snapshot);
  if (cached !== undefined) return cached;
  const byUuid = new Map<string, string[]>();
  for (const [root, anchor] of snapshot.parsedAnchors) {
    const uuid = anchor.parsed.assetUuid;
    if (uuid === null) continue;
    const roots = byUuid.get(uuid);
    if (roots) roots.push(root);
    else byUuid.set(uuid, [root]);
  }
  anchorsByUuid.set(snapshot, byUuid);
  return byUuid;
}

/**
 * The records of `root` as the snapshot would have them with `text` as its `asset.json`, at the cost of
 * one asset: the same join (`buildSnapshot`) over only what can bear on this root's diagnostics. That is
 * the anchors that enclose it (nested roots) and those declaring the same `asset_uuid` as the buffer or
 * as the disk (duplicates), the files below it (inputs), and the registry entries naming it or sharing an
 * id or uuid with those (conflicts among entries), with the registry's own `next_asset_id`.
 * `test/lsp/overlay.test.ts` pins that it equals the whole-project overlay.
 */
export function declarationRecords(snapshot: Snapshot, root: string, text: string): AssetRecord[] {
  const registry = registryOf(snapshot);
  // Parsed once, here, and handed to the join below; the disk's own parse when the buffer is unchanged.
  const disk = snapshot.parsedAnchors.get(root);
  const parsed = disk !== undefined && disk.text === text ? disk.parsed : parseDeclaration(root, text);
  const bufferUuid = parsed.assetUuid;
  const diskUuid = disk?.parsed.assetUuid ?? null;
  const byUuid = rootsByUuid(snapshot);
  const roots = new Set<string>([root]);
  for (const uuid of [bufferUuid, diskUuid])
    if (uuid !== null) for (const other of byUuid.get(uuid) ?? []) roots.add(other);
  for (let parent = parentOf(root); parent !== ''; parent = parentOf(parent))
    if (snapshot.parsedAnchors.has(parent)) roots.add(parent);

  // Registry entries by their canonical root (as the join sees them): those of this root, then every entry
  // sharing an id or uuid with them (or the buffer's uuid), or naming an anchor already kept.
  const index = entryIndex(snapshot);
  const selected = new Set<RegistryEntry>(index.byRoot.get(root) ?? []);
  const uuids = new Set([...selected].map((entry) => entry.asset_uuid));
  if (bufferUuid !== null) uuids.add(bufferUuid);
  for (const entry of [...selected]) for (const other of index.byId.get(entry.asset_id) ?? []) selected.add(other);
  for (const uuid of uuids) for (const other of index.byUuid.get(uuid) ?? []) selected.add(other);
  for (const other of roots) for (const entry of index.byRoot.get(other) ?? []) selected.add(entry);
  for (const entry of selected) {
    const canonical = index.rootOf.get(entry)!;
    if (snapshot.parsedAnchors.has(canonical)) roots.add(canonical);
  }

  const anchors: CrawledAnchor[] = [...roots]
    .sort(compareStrings)
    .map((other) => (other === root ? { root, text } : { root: other, text: snapshot.parsedAnchors.get(other)!.text }));
  const files = snapshot.crawl.files;
  const below: string[] = [];
  for (const other of roots) {
    const prefix = `${other}/`;
    for (let index = lowerBound(files, prefix); index < files.length && files[index]!.startsWith(prefix); index++)
      below.push(files[index]!);
  }
  const crawl: CrawlResult = {
    anchors,
    files: [...new Set([...below, anchorPath(root)])].sort(compareStrings),
    symlinks: [],
    problems: [],
  };
  const subset: ParsedRegistry =
    registry.registry === null
      ? registry
      : checkRegistry({
          ...registry.registry,
          // In the file's order (sorted by asset_id), as checkRegistry expects; a few entries, never a scan
          // of the whole registry (this runs at every keystroke).
          assets: [...selected].sort((a, b) => index.position.get(a)! - index.position.get(b)!),
        });
  // The join reuses these parses (the buffer's above, the snapshot's for the others) instead of parsing again,
  // and the snapshot's records and format results where their parsed anchor is the very same.
  const parsedAnchors = new Map<string, ParsedAnchor>();
  for (const other of roots)
    parsedAnchors.set(other, other === root ? { text, parsed } : snapshot.parsedAnchors.get(other)!);
  const small = buildSnapshot(snapshot.revision, crawl, subset, {
    quarantine: snapshot.quarantine,
    previous: { ...snapshot, parsedAnchors },
  });
  return small.assets.filter((record) => record.root === root);
}
