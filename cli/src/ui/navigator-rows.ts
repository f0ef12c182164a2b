/**
 * The panel's display rows for the asset navigator: the text and badges each row shows,
 * built from the adapter's navigator view without the DOM (the page turns them into elements, and the bench
 * measures them). A folder group or row the view kept from its previous version keeps its display row too.
 */
import { FOLDER_CHUNK } from '@prometeu/packer-studio-adapter';
import type { AssetRow, FolderChunks, FolderGroup, NavigatorView } from '@prometeu/packer-studio-adapter';

/** A badge: its text and its style class. */
export interface DisplayBadge {
  readonly text: string;
  readonly kind: string;
}

/** One asset as the page shows it: its text and badges, next to the adapter's row they were read from. */
export interface DisplayRow {
  readonly row: AssetRow;
  /** The name, or the last segment of the root when the asset has none. */
  readonly label: string;
  readonly badges: readonly DisplayBadge[];
}

/** One folder as the page shows it. */
export interface DisplayFolder {
  readonly heading: string;
  readonly rows: readonly DisplayRow[];
}

/** The navigator as the page shows it. */
export interface DisplayNavigator {
  readonly heading: string;
  readonly updating: boolean;
  /** Every folder, in order (joined from `chunks` when first read). */
  readonly folders: readonly DisplayFolder[];
  /** The same folders in the chunks of the view's `chunks`. */
  readonly chunks: readonly (readonly DisplayFolder[])[];
}

/** The last folder chunks turned into display folders (in the same chunks), to reuse what did not change. */
let last: { readonly chunks: FolderChunks; readonly display: readonly (readonly DisplayFolder[])[] } | null = null;

/** The display form: plain fields, and the flat `folders` joined from the chunks when first read. */
class Display implements DisplayNavigator {
  readonly heading: string;
  readonly updating: boolean;
  readonly chunks: readonly (readonly DisplayFolder[])[];
  /** Invariant: undefined until `folders` is first read, then the folders of `chunks` in order. */
  #folders: readonly DisplayFolder[] | undefined;

  constructor(heading: string, updating: boolean, chunks: readonly (readonly DisplayFolder[])[]) {
    this.heading = heading;
    this.updating = updating;
    this.chunks = chunks;
    this.#folders = undefined;
  }

  get folders(): readonly DisplayFolder[] {
    this.#folders ??= this.chunks.flat();
    return this.#folders;
  }
}

/**
 * The display form of a navigator view. A folder group the view shares with the previous call's (the same
 * object at the same place) keeps its display folder; a group replaced at its place (a patched row) keeps
 * the display rows of the rows it shares with the one it replaced. Display folders are kept in the view's
 * chunks, so an update copies the chunks it changes, not the list of every folder.
 */
export function displayNavigator(navigator: NavigatorView): DisplayNavigator {
  const chunks = navigator.chunks;
  const previous = last;
  let display: readonly (readonly DisplayFolder[])[];
  const replaced = navigator.replaced;
  if (previous !== null && previous.chunks === chunks) display = previous.display;
  else if (previous !== null && replaced !== null && replaced.from === previous.chunks) {
    // The usual update: the adapter says which groups it replaced since the view last shown.
    const copy = previous.display.slice();
    const copied = new Set<number>();
    for (const index of replaced.groups) {
      const chunk = Math.floor(index / FOLDER_CHUNK);
      const place = index % FOLDER_CHUNK;
      if (!copied.has(chunk)) {
        copy[chunk] = copy[chunk]!.slice();
        copied.add(chunk);
      }
      (copy[chunk] as DisplayFolder[])[place] = displayFolder(
        chunks[chunk]![place]!,
        previous.chunks[chunk]![place],
        previous.display[chunk]![place],
      );
    }
    display = copy;
  } else if (
    previous !== null &&
    previous.chunks.length === chunks.length &&
    chunks.every((chunk, index) => chunk.length === previous.chunks[index]!.length)
  ) {
    // Another view of the same groups: keep every chunk, then every group, that is the same object at the same place.
    display = chunks.map((chunk, index) => {
      const before = previous.chunks[index]!;
      const shown = previous.display[index]!;
      if (before === chunk) return shown;
      return chunk.map((group, place) =>
        before[place] === group ? shown[place]! : displayFolder(group, before[place], shown[place]),
      );
    });
  } else display = chunks.map((chunk) => chunk.map((group) => displayFolder(group)));
  last = { chunks, display };
  return new Display(`Assets (${String(navigator.total.value)})`, navigator.stale, display);
}

function displayFolder(group: FolderGroup, before?: FolderGroup, shown?: DisplayFolder): DisplayFolder {
  const rows = group.rows;
  // Rows are reused by place only from the group this one replaced (same folder, same length).
  if (before !== undefined && (before.folder !== group.folder || before.rows.length !== rows.length))
    before = undefined;
  const display: DisplayRow[] = new Array<DisplayRow>(rows.length);
  for (let index = 0; index < rows.length; index++)
    display[index] =
      before !== undefined && before.rows[index] === rows[index] ? shown!.rows[index]! : displayRow(rows[index]!);
  return { heading: group.folder === '' ? 'assets/' : `${group.folder}/`, rows: display };
}

const IN_BUILD: DisplayBadge = { text: 'in build', kind: '' };
const UNREGISTERED: DisplayBadge = { text: 'unregistered', kind: 'warning' };
const DIVERGED: DisplayBadge = { text: 'diverged', kind: 'diverged-mark' };
/** One badge per asset type (there are few), shared by every row of that type. */
const typeBadges = new Map<string, DisplayBadge>();

function typeBadge(type: string | null): DisplayBadge {
  const text = type ?? '?';
  let badge = typeBadges.get(text);
  if (badge === undefined) {
    badge = { text, kind: '' };
    typeBadges.set(text, badge);
  }
  return badge;
}

/** One row's text and badges, each read from a field of the row. */
export function displayRow(row: AssetRow): DisplayRow {
  // Sized once: pushing onto a short literal would allocate a much larger backing store for every row.
  const count = 2 + (row.includedInBuild ? 1 : 0) + (row.worstSeverity !== null ? 1 : 0) + (row.diverged ? 1 : 0);
  const badges = new Array<DisplayBadge>(count);
  badges[0] = typeBadge(row.type);
  badges[1] = row.registered ? { text: `#${row.assetId ?? '?'}`, kind: '' } : UNREGISTERED;
  let next = 2;
  if (row.includedInBuild) badges[next++] = IN_BUILD;
  if (row.worstSeverity !== null)
    badges[next++] = { text: `${row.worstSeverity} (${row.diagnosticCount})`, kind: row.worstSeverity };
  if (row.diverged) badges[next] = DIVERGED;
  const slash = row.root.lastIndexOf('/');
  return { row, label: row.name ?? (slash < 0 ? row.root : row.root.slice(slash + 1)), badges };
}
