// The asset navigator: built once from a whole `listAssets` answer, then kept current row by row from `snapshot.published`.
import type { AssetSummary, PackerEvent, ParamsOf, ResultOf, packerRequests } from '@prometeu/packer-protocol';
import type { Figure } from './figures.js';
import type {
  AssetRow,
  DivergedPath,
  DivergenceView,
  FolderChunks,
  FolderGroup,
  NavigatorBuild,
  NavigatorSource,
  NavigatorView,
} from './views.js';

type ListParams = ParamsOf<typeof packerRequests.listAssets>;
type ListResult = ResultOf<typeof packerRequests.listAssets>;
type PublishedBody = Extract<PackerEvent, { kind: 'snapshot.published' }>['body'];

/**
 * At most this many roots are read again one by one (each with a `listAssets` filtered by its root); a
 * snapshot that changed more is read whole, which then costs less than the separate reads.
 */
export const ROOT_READ_LIMIT = 32;
/** Folder groups per chunk of `NavigatorView.chunks` (a power of two). */
export const FOLDER_CHUNK = 64;
/** Patched rows are folded into a new base list once this many have accumulated since the last whole list. */
const OVERLAY_LIMIT = 256;

/** What the navigator part of the state holds, for the reducer. */
export interface NavigatorInput {
  readonly epochIndex: number;
  readonly revision: number | null;
  readonly listed: NavigatorSource | null;
  readonly divergedPaths: readonly DivergedPath[];
  readonly divergedRoots: readonly { readonly root: string; readonly revision: number }[];
}

/** A whole list answer: it replaces the rows, and settles every change it is at least as new as. */
export function wholeList(
  listed: NavigatorSource | null,
  epochIndex: number,
  result: ListResult,
): NavigatorSource | null {
  const sameEpoch = listed !== null && listed.epochIndex === epochIndex;
  if (sameEpoch && listed.revision > result.revision) return null;
  const revision = result.revision;
  const pending: Record<string, number> = {};
  if (sameEpoch)
    for (const [root, needed] of Object.entries(listed.pending)) if (needed > revision) pending[root] = needed;
  const wholeAt = sameEpoch && listed.wholeAt !== null && listed.wholeAt > revision ? listed.wholeAt : null;
  const through = sameEpoch ? Math.max(listed.through, revision) : revision;
  return settled({ epochIndex, revision, base: result.assets, overlay: {}, through, pending, wholeAt });
}

/**
 * A `snapshot.published` the navigator follows: the roots it names as `changed` are to be read again; roots
 * added, removed or moved (their places in the packer's order are the packer's to decide), a gap in the
 * published revisions, or more than {@link ROOT_READ_LIMIT} roots mean the whole list is to be read again.
 */
export function followPublished(
  listed: NavigatorSource | null,
  epochIndex: number,
  body: PublishedBody,
): NavigatorSource | null {
  if (listed === null || listed.epochIndex !== epochIndex || body.revision <= listed.through) return listed;
  const changes = body.assets;
  const chained = body.previousRevision !== null && body.previousRevision <= listed.through;
  let pending = listed.pending;
  let wholeAt = listed.wholeAt;
  if (
    !chained ||
    changes === undefined ||
    changes.added.length + changes.removed.length + changes.moved.length > 0 ||
    Object.keys(pending).length + changes.changed.length > ROOT_READ_LIMIT
  )
    wholeAt = Math.max(wholeAt ?? 0, body.revision);
  else if (changes.changed.length > 0) {
    const next: Record<string, number> = { ...pending };
    for (const asset of changes.changed) next[asset.root] = body.revision;
    pending = next;
  }
  return settled({ ...listed, through: body.revision, pending, wholeAt });
}

/**
 * A `listAssets` filtered by `rootPrefix` alone: the whole truth about the roots under that prefix at its
 * revision. It replaces the rows of the pending roots it answers for, in place; an asset whose registration
 * changed (so its place in the packer's order may have) or a pending root it does not list means the whole
 * list is to be read again.
 */
export function rootList(
  listed: NavigatorSource | null,
  navigator: NavigatorView | null,
  prefix: string,
  result: ListResult,
): NavigatorSource | null {
  if (listed === null || navigator === null) return listed;
  const asked = Object.keys(listed.pending).filter(
    (root) => listed.pending[root]! <= result.revision && (root === prefix || root.startsWith(`${prefix}/`)),
  );
  if (asked.length === 0) return listed;
  // A root read answers few assets (usually one): a scan costs less than a map.
  const answered = (root: string): AssetSummary | undefined => result.assets.find((asset) => asset.root === root);
  const overlay: Record<string, AssetSummary> = { ...listed.overlay };
  const read = new Set<string>();
  let wholeAt = listed.wholeAt;
  for (const root of asked) {
    const asset = answered(root);
    const place = placeOf(listed.base, navigator.chunks, root);
    const before = place === undefined ? undefined : groupAt(navigator.chunks, place[0]).rows[place[1]]!;
    if (asset === undefined || before === undefined || (asset.assetId ?? null) !== before.assetId) {
      wholeAt = Math.max(wholeAt ?? 0, result.revision);
      continue;
    }
    overlay[root] = asset;
    read.add(root);
  }
  // Built without the roots read rather than copied and deleted from (a deletion makes a slow object).
  const pending: Record<string, number> = {};
  for (const root in listed.pending) if (!read.has(root)) pending[root] = listed.pending[root]!;
  if (Object.keys(overlay).length > OVERLAY_LIMIT) {
    // Fold the patched rows into a base list of their own (the same summaries, in the same order): one
    // rebuild now rather than an overlay that grows with every change.
    const base = listed.base.map((asset) => overlay[asset.root] ?? asset);
    return settled({ ...listed, base, overlay: {}, pending, wholeAt });
  }
  return settled({ ...listed, overlay, pending, wholeAt });
}

/** The navigator's revision advances to `through` once nothing is pending and no whole list is awaited. */
function settled(listed: NavigatorSource): NavigatorSource {
  if (Object.keys(listed.pending).length > 0 || listed.wholeAt !== null || listed.revision === listed.through)
    return listed;
  return { ...listed, revision: listed.through };
}

/**
 * The `listAssets` params the navigator needs sent to be current: the whole list when it has none, when a
 * whole list is awaited, or when the packer reported a revision the navigator has not followed (a new server,
 * a revision heard of only in a read); else one read per pending root, filtered by that root. Empty when the
 * navigator is current.
 */
export function navigatorReads(state: NavigatorInput & { readonly projectId: string | null }): ListParams[] {
  const projectId = state.projectId;
  if (projectId === null) return [];
  const listed = state.listed;
  if (
    listed === null ||
    listed.epochIndex !== state.epochIndex ||
    listed.wholeAt !== null ||
    (state.revision !== null && state.revision > listed.through)
  )
    return [{ projectId }];
  return Object.keys(listed.pending)
    .sort()
    .map((root) => ({ projectId, filter: { rootPrefix: root } }));
}

/** The folder a root is in (`''` at the top of `assets/`). */
function folderOf(root: string): string {
  const slash = root.lastIndexOf('/');
  return slash < 0 ? '' : root.slice(0, slash);
}

/** The index of each folder group, per whole list (a patch never adds, removes or reorders groups). */
const folderIndexes = new WeakMap<readonly AssetSummary[], ReadonlyMap<string, number>>();

/** The folder group at index `index`. */
function groupAt(chunks: FolderChunks, index: number): FolderGroup {
  return chunks[index >> CHUNK_SHIFT]![index & (FOLDER_CHUNK - 1)]!;
}

const CHUNK_SHIFT = Math.log2(FOLDER_CHUNK);

/** The groups in chunks of {@link FOLDER_CHUNK}. */
function chunked(folders: readonly FolderGroup[]): FolderChunks {
  const chunks: (readonly FolderGroup[])[] = [];
  for (let start = 0; start < folders.length; start += FOLDER_CHUNK)
    chunks.push(folders.slice(start, start + FOLDER_CHUNK));
  return chunks;
}

/** Where a root's row is: its folder group and its place there. */
function placeOf(
  base: readonly AssetSummary[],
  chunks: FolderChunks,
  root: string,
): readonly [number, number] | undefined {
  let indexes = folderIndexes.get(base);
  if (indexes === undefined) {
    const map = new Map<string, number>();
    let index = 0;
    for (const chunk of chunks) for (const group of chunk) map.set(group.folder, index++);
    indexes = map;
    folderIndexes.set(base, indexes);
  }
  const group = indexes.get(folderOf(root));
  if (group === undefined) return undefined;
  const rows = groupAt(chunks, group).rows;
  for (let place = 0; place < rows.length; place++) if (rows[place]!.root === root) return [group, place];
  return undefined;
}

/**
 * The navigator view, built from the list and the divergence data, reusing `previous` (the build the state
 * before carried): events that touch neither cost nothing, and a patch of a few rows copies only the folder
 * groups holding them (the flat `rows` are materialised only when read). A pure function of its inputs: the
 * build travels in the state, so reducing an older state again gives the same view.
 */
export function navigatorOf(
  state: NavigatorInput,
  divergence: DivergenceView | null,
  previous: NavigatorBuild | null,
): NavigatorBuild | null {
  const listed = state.listed;
  if (listed === null) return null;
  const stale = state.revision !== null && state.revision > listed.revision;
  const usable =
    previous !== null &&
    previous.base === listed.base &&
    previous.paths === state.divergedPaths &&
    previous.roots === state.divergedRoots;
  let next: NavigatorBuild;
  if (usable && previous.overlay === listed.overlay) next = previous;
  else if (usable) next = patchRows(previous, listed, divergence);
  else next = buildWhole(listed, state, divergence);
  if (next.view.revision !== listed.revision || next.view.stale !== stale)
    next = {
      ...next,
      view: viewOf(listed.base, next.chunks, next.total, listed.revision, stale, next.view.replaced),
    };
  return next;
}

/** Whether a divergence the packer reported touches a root; null when there is none. */
function touchesOf(divergence: DivergenceView | null): ((root: string) => boolean) | null {
  if (divergence === null) return null;
  const divergedRoots = new Set(divergence.roots);
  const changedPaths = divergence.changes.map((change) => change.path);
  return (root) => divergedRoots.has(root) || changedPaths.some((path) => path === root || path.startsWith(`${root}/`));
}

function buildWhole(listed: NavigatorSource, state: NavigatorInput, divergence: DivergenceView | null): NavigatorBuild {
  const touches = touchesOf(divergence);
  const overlay = Object.keys(listed.overlay).length === 0 ? null : listed.overlay;
  // Each folder's name is kept once, shared by its rows (a row's own slice of its root dies young).
  const groups = new Map<string, { folder: string; rows: AssetRow[] }>();
  for (const asset of listed.base) {
    const name = folderOf(asset.root);
    let group = groups.get(name);
    if (group === undefined) {
      group = { folder: name, rows: [] };
      groups.set(name, group);
    }
    group.rows.push(rowOf(overlay?.[asset.root] ?? asset, touches !== null && touches(asset.root), group.folder));
  }
  const names = [...groups.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const chunks = chunked(names.map((folder) => groups.get(folder)!));
  const total: Figure = {
    label: 'Assets',
    value: listed.base.length,
    source: { from: 'listAssets', path: 'result.assets.length' },
  };
  const stale = state.revision !== null && state.revision > listed.revision;
  return {
    base: listed.base,
    overlay: listed.overlay,
    paths: state.divergedPaths,
    roots: state.divergedRoots,
    chunks,
    total,
    view: viewOf(listed.base, chunks, total, listed.revision, stale, null),
  };
}

/** Rebuilds the rows whose overlay entry differs between `previous` and `listed` (added, replaced or dropped). */
function patchRows(
  previous: NavigatorBuild,
  listed: NavigatorSource,
  divergence: DivergenceView | null,
): NavigatorBuild {
  const touches = touchesOf(divergence);
  const before = previous.chunks;
  const copied = new Map<number, AssetRow[]>();
  const changed: string[] = [];
  for (const root in listed.overlay) if (previous.overlay[root] !== listed.overlay[root]) changed.push(root);
  for (const root in previous.overlay) if (!(root in listed.overlay)) changed.push(root);
  for (const root of changed) {
    // A row dropped from the overlay (an older state reduced again) goes back to its whole-list summary.
    const asset = listed.overlay[root] ?? listed.base.find((candidate) => candidate.root === root)!;
    const [group, place] = placeOf(listed.base, before, root)!;
    const folder = groupAt(before, group);
    let rows = copied.get(group);
    if (rows === undefined) {
      rows = folder.rows.slice();
      copied.set(group, rows);
    }
    rows[place] = rowOf(asset, touches !== null && touches(root), folder.folder);
  }
  // Only the chunks holding a replaced group are copied (and the short list of chunks).
  const chunks = before.slice();
  const copiedChunks = new Set<number>();
  for (const [group, rows] of copied) {
    const index = group >> CHUNK_SHIFT;
    if (!copiedChunks.has(index)) {
      chunks[index] = chunks[index]!.slice();
      copiedChunks.add(index);
    }
    (chunks[index] as FolderGroup[])[group & (FOLDER_CHUNK - 1)] = { folder: groupAt(before, group).folder, rows };
  }
  const view = previous.view;
  return {
    ...previous,
    overlay: listed.overlay,
    chunks,
    view: viewOf(listed.base, chunks, previous.total, view.revision, view.stale, {
      from: before,
      groups: [...copied.keys()],
    }),
  };
}

/**
 * The view object: plain fields, and the flat `rows` (in the packer's order) looked up in the folder groups
 * when first read (a getter on the prototype, so building a view copies nothing per row).
 */
class Navigator implements NavigatorView {
  readonly revision: number;
  readonly chunks: FolderChunks;
  readonly total: Figure;
  readonly stale: boolean;
  readonly replaced: NavigatorView['replaced'];
  readonly #base: readonly AssetSummary[];
  /** Invariant: undefined until `rows` is first read, then the rows of `folders` in the order of `#base`. */
  #rows: readonly AssetRow[] | undefined;
  /** Invariant: undefined until `folders` is first read, then the groups of `chunks` in order. */
  #folders: readonly FolderGroup[] | undefined;

  constructor(
    base: readonly AssetSummary[],
    chunks: FolderChunks,
    total: Figure,
    revision: number,
    stale: boolean,
    replaced: NavigatorView['replaced'],
  ) {
    this.revision = revision;
    this.chunks = chunks;
    this.total = total;
    this.stale = stale;
    this.replaced = replaced;
    this.#base = base;
    this.#rows = undefined;
    this.#folders = undefined;
  }

  get folders(): readonly FolderGroup[] {
    this.#folders ??= this.chunks.flat();
    return this.#folders;
  }

  get rows(): readonly AssetRow[] {
    this.#rows ??= this.#base.map((asset) => {
      const [group, place] = placeOf(this.#base, this.chunks, asset.root)!;
      return groupAt(this.chunks, group).rows[place]!;
    });
    return this.#rows;
  }
}

function viewOf(
  base: readonly AssetSummary[],
  chunks: FolderChunks,
  total: Figure,
  revision: number,
  stale: boolean,
  replaced: NavigatorView['replaced'],
): NavigatorView {
  return new Navigator(base, chunks, total, revision, stale, replaced);
}

/** One navigator row: an `AssetSummary` as the packer sent it, plus the divergence mark. */
export function rowOf(asset: AssetSummary, diverged: boolean, folder = folderOf(asset.root)): AssetRow {
  return {
    key: asset.assetUuid ?? `root:${asset.root}`,
    root: asset.root,
    folder,
    name: asset.name,
    type: asset.type,
    assetId: asset.assetId ?? null,
    assetUuid: asset.assetUuid,
    registered: asset.registered,
    includedInBuild: asset.includedInBuild,
    state: asset.state,
    worstSeverity: asset.worstSeverity,
    diagnosticCount: asset.diagnosticCount,
    availableActions: asset.availableActions,
    diverged,
  };
}
