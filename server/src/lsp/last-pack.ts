/**
 * What the last pack left in a project's `build/`, for hovers: its asset table, read through `ProjectFs`
 * (bounded, confined) once per change of the files, checked field by field and never trusted blindly. A
 * `build/` that is absent, unreadable, hostile or inconsistent gives a plain answer, never a crash or a
 * wrong offset.
 */
import type { ProjectFs } from '../io/project-fs.js';
import { SIZE_LIMITS } from '../io/size-limits.js';
import type { AssetRecord } from '../domain/snapshot.js';
import { sha256Hex } from '../pack/assets-pa.js';

/** The companion files a hover reads, relative to the project root. */
export const ASSET_TABLE_PATH = 'build/asset_table.json';
export const ASSET_TABLE_METADATA_PATH = 'build/asset_table_metadata.json';

/** One asset of the last pack as both companion files agree on it. */
export interface PackedEntry {
  readonly assetId: number;
  /** Relative to the payload start of `assets.pa`. */
  readonly offset: number;
  readonly size: number;
  /** From `asset_table_metadata.json`; null when that file is absent or does not describe this entry. */
  readonly assetUuid: string | null;
  /** SHA-256 of the `asset.json` text that was packed, from the metadata; null when unknown. */
  readonly declarationSha256: string | null;
}

/** What `build/` holds, as far as a hover can tell. */
export type LastPack =
  | { readonly kind: 'none' }
  | { readonly kind: 'unusable'; readonly reason: string }
  | {
      readonly kind: 'table';
      /** `snapshot_revision` from the metadata, or null when it is absent or does not match the table. */
      readonly revision: number | null;
      /** Whether this server process wrote these very files (its revisions are then comparable). */
      readonly ownPack: boolean;
      readonly entries: ReadonlyMap<number, PackedEntry>;
    };

/** Identifies one version of the two files: device, inode, size and change time of each (absent as a dash). */
function signatureOf(fs: ProjectFs): string {
  const part = (stats: ReturnType<ProjectFs['bigStat']>): string =>
    stats === null ? '-' : `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.ctimeNs}:${stats.mode}`;
  return `${part(fs.bigStat(ASSET_TABLE_PATH))}|${part(fs.bigStat(ASSET_TABLE_METADATA_PATH))}`;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The reason a read of `path` failed, in a few words (an errno-like code where there is one). */
function readFailure(path: string, error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return `${path} could not be read (${typeof code === 'string' ? code : 'error'})`;
}

/** Reads and checks both files; never throws for anything the files hold. */
function readLastPack(fs: ProjectFs, ownSignature: string | undefined, signature: string): LastPack {
  let tableText: string;
  try {
    if (fs.kind(ASSET_TABLE_PATH) === 'absent') return { kind: 'none' };
    tableText = fs.readText(ASSET_TABLE_PATH, SIZE_LIMITS.buildTable);
  } catch (error) {
    return { kind: 'unusable', reason: readFailure(ASSET_TABLE_PATH, error) };
  }
  let table: unknown;
  try {
    table = JSON.parse(tableText);
  } catch {
    return { kind: 'unusable', reason: `${ASSET_TABLE_PATH} is not valid JSON` };
  }
  if (!Array.isArray(table)) return { kind: 'unusable', reason: `${ASSET_TABLE_PATH} is not a list of entries` };
  const offsets = new Map<number, { offset: number; size: number }>();
  for (const item of table as unknown[]) {
    if (!isObject(item) || !isCount(item['asset_id']) || !isCount(item['offset']) || !isCount(item['size']))
      return { kind: 'unusable', reason: `${ASSET_TABLE_PATH} has an entry without a valid asset_id, offset and size` };
    if (offsets.has(item['asset_id']))
      return { kind: 'unusable', reason: `${ASSET_TABLE_PATH} lists asset_id ${item['asset_id']} twice` };
    offsets.set(item['asset_id'], { offset: item['offset'], size: item['size'] });
  }

  // The metadata adds identity and revision; it counts only where it agrees with the table entry for entry.
  let metadata: Record<string, unknown> | null = null;
  try {
    if (fs.kind(ASSET_TABLE_METADATA_PATH) !== 'absent') {
      const parsed: unknown = JSON.parse(fs.readText(ASSET_TABLE_METADATA_PATH, SIZE_LIMITS.buildTable));
      if (isObject(parsed)) metadata = parsed;
    }
  } catch {
    metadata = null;
  }
  const described = new Map<number, { assetUuid: string; declarationSha256: string | null }>();
  const listed = metadata !== null && Array.isArray(metadata['assets']) ? (metadata['assets'] as unknown[]) : [];
  let agrees = metadata !== null && listed.length === offsets.size;
  for (const item of listed) {
    if (!isObject(item) || !isCount(item['asset_id'])) {
      agrees = false;
      continue;
    }
    const entry = offsets.get(item['asset_id']);
    const uuid = item['asset_uuid'];
    if (
      entry === undefined ||
      entry.offset !== item['offset'] ||
      entry.size !== item['size'] ||
      typeof uuid !== 'string'
    ) {
      agrees = false;
      continue;
    }
    const sha = item['declaration_sha256'];
    described.set(item['asset_id'], {
      assetUuid: uuid,
      declarationSha256: typeof sha === 'string' && /^[0-9a-f]{64}$/.test(sha) ? sha : null,
    });
  }
  const revision = metadata?.['snapshot_revision'];
  const entries = new Map<number, PackedEntry>();
  for (const [assetId, { offset, size }] of offsets) {
    const facts = described.get(assetId);
    entries.set(assetId, {
      assetId,
      offset,
      size,
      assetUuid: facts?.assetUuid ?? null,
      declarationSha256: facts?.declarationSha256 ?? null,
    });
  }
  return {
    kind: 'table',
    revision: agrees && isCount(revision) ? revision : null,
    ownPack: ownSignature === signature,
    entries,
  };
}

/**
 * The last pack of each project as this server knows it. A lookup costs two `lstat`s when nothing
 * changed; the files are read again only when their signature changed (a pack, or anyone writing
 * `build/`).
 */
export class LastPacks {
  /** Invariant: by project root, the files' signature and what was read for that signature. */
  private readonly known = new Map<string, { readonly signature: string; readonly pack: LastPack }>();
  /** By project root, the signature of the files this process's last pack wrote, taken when it finished. */
  private readonly own = new Map<string, string>();

  /** What `build/` of the project at `fs` holds now. */
  get(fs: ProjectFs): LastPack {
    let signature: string;
    try {
      signature = signatureOf(fs);
    } catch (error) {
      // A link or a non-folder where build/ should be: nothing there can be trusted.
      return { kind: 'unusable', reason: readFailure('build/', error) };
    }
    const known = this.known.get(fs.root);
    if (known?.signature === signature) return known.pack;
    const pack = readLastPack(fs, this.own.get(fs.root), signature);
    this.known.set(fs.root, { signature, pack });
    return pack;
  }

  /** Notes that this process just finished a pack of the project at `fs` (its files are now this run's). */
  packed(fs: ProjectFs): void {
    try {
      this.own.set(fs.root, signatureOf(fs));
    } catch {
      this.own.delete(fs.root);
    }
    this.known.delete(fs.root);
  }
}

/**
 * The hover lines about a record's last packed entry: its offset and size where `build/` has one that is
 * this asset's, and what makes it possibly out of date (an older revision, a pack this process did not
 * make, a declaration changed since). Nothing for an unregistered asset or a project never packed.
 * `diskText` is the `asset.json` text of the current snapshot.
 */
export function lastPackLines(
  record: AssetRecord,
  pack: LastPack,
  currentRevision: number,
  diskText: string | null | undefined,
): string[] {
  if (record.entry === null || pack.kind === 'none') return [];
  if (pack.kind === 'unusable') return [`- last pack: unknown, ${pack.reason}`];
  const assetId = record.entry.asset_id;
  const entry = pack.entries.get(assetId);
  if (entry === undefined) return [`- last pack: build/ has no entry for asset #${assetId}`];
  if (entry.assetUuid !== null && entry.assetUuid !== record.assetUuid)
    return [`- last pack: the entry for #${assetId} in build/ belongs to another asset (uuid \`${entry.assetUuid}\`)`];
  const notes: string[] = [];
  if (pack.revision === null) notes.push('its revision is unknown (asset_table_metadata.json is missing or disagrees)');
  else if (!pack.ownPack)
    notes.push(
      `from revision ${pack.revision} of a pack this server did not make (revisions count per server run), so it may be out of date`,
    );
  else if (pack.revision < currentRevision)
    notes.push(`from revision ${pack.revision}, older than the current revision ${currentRevision}`);
  if (entry.assetUuid === null) notes.push('its identity is not confirmed by the metadata');
  if (
    entry.declarationSha256 !== null &&
    typeof diskText === 'string' &&
    sha256Hex(diskText) !== entry.declarationSha256
  )
    notes.push('asset.json has changed since');
  const head = `- last pack: offset ${entry.offset}, size ${entry.size} bytes`;
  return [notes.length === 0 ? `${head} (current revision ${currentRevision})` : `${head}; ${notes.join('; ')}`];
}
