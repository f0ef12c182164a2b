/**
 * Mutation planning: a pure function from a snapshot and an intent to everything a preview shows and
 * the effect an apply performs. Nothing here touches the disk, so the same snapshot and intent always
 * give the same plan, which is how an apply re-checks a preview.
 */
import {
  AssetDeclarationFile,
  type AssetReference,
  type Diagnostic,
  type MutationIntent,
  type OperationClass,
  type RegistryEntry,
  type RegistryFile,
} from '@prometeu/packer-protocol';
import { ANCHOR_FILE, lowerBound } from '../domain/crawl.js';
import { describeIssues } from '../domain/diagnostics.js';
import { lowerBoundId, noteRegistryEdit, strictlySorted } from '../domain/registry.js';
import { jsonTextDepth, MAX_JSON_DEPTH, MAX_PATH_BYTES, nestsDeeperThan, utf8Length } from '../domain/limits.js';
import { checkAssetsPath, isWithin, joinAssetsPath, parentOf, type PathRefusal } from '../domain/paths.js';
import { hasAnchorBelow, type AssetRecord, type QuarantineEntry, type Snapshot } from '../domain/snapshot.js';
import { quarantinePaths, type FileAction, type MutationEffect } from './effects.js';

/** A blocker or warning, as previews show them. */
export interface PlanIssue {
  readonly code: string;
  readonly message: string;
  readonly path?: string;
}

/** A registry change, as previews show it. */
export interface PlannedRegistryChange {
  readonly change: 'add' | 'remove' | 'update';
  readonly assetId: number;
  readonly assetUuid: string;
  readonly root: string;
  readonly includedInBuild: boolean;
  readonly before?: { root: string; includedInBuild: boolean };
}

/** A filesystem change, as previews show it. */
export interface PlannedFilesystemChange {
  readonly change: 'create' | 'modify' | 'move' | 'delete';
  readonly path: string;
  readonly to?: string;
  readonly kind: 'file' | 'folder';
}

/** Values a plan allocates; an apply re-plans with the preview's allocations so the comparison is exact. */
export interface Allocations {
  /** The uuid a created or adopted asset receives. */
  readonly uuid: string;
  /** The time (ISO 8601) a quarantine records in its manifest as `quarantined_at`. */
  readonly time?: string;
}

/** Everything a mutation would do. */
export interface MutationPlan {
  readonly intent: MutationIntent;
  readonly baseRevision: number;
  readonly operationClass: OperationClass;
  readonly blockers: readonly PlanIssue[];
  readonly warnings: readonly PlanIssue[];
  readonly safeFixes: readonly NonNullable<Diagnostic['safeFix']>[];
  readonly registryChanges: readonly PlannedRegistryChange[];
  readonly filesystemChanges: readonly PlannedFilesystemChange[];
  readonly affectedAssets: readonly { assetId?: number; assetUuid: string | null; root: string }[];
  readonly requiresConsent: boolean;
  /** Why consent is needed, completing "This <kind> ...", for the rejection of an apply without it. */
  readonly consentReason: string;
  readonly effect: MutationEffect;
}

/** The blocker code for a path refused by a limit rather than by confinement. */
const LIMIT_BLOCKERS: Partial<Record<PathRefusal, string>> = {
  'component-too-long': 'nameTooLong',
  'path-too-long': 'pathTooLong',
  'invalid-character': 'invalidName',
};

/** The canonical form of an asset_uuid, as the packer writes it (quarantine folders are named by it). */
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The registry file, relative to `assets/`. */
const REGISTRY_FILE = '.prometeu/index.json';

/** The kinds that need explicit consent: they delete or move the user's files. */
const CONSENT_KINDS: ReadonlySet<MutationIntent['kind']> = new Set(['remove', 'quarantine', 'restore', 'relocate']);

class Planner {
  readonly blockers: PlanIssue[] = [];
  readonly warnings: PlanIssue[] = [];
  readonly registryChanges: PlannedRegistryChange[] = [];
  readonly filesystemChanges: PlannedFilesystemChange[] = [];
  readonly actions: FileAction[] = [];
  readonly affected: MutationPlan['affectedAssets'][number][] = [];
  readonly fixes: NonNullable<Diagnostic['safeFix']>[] = [];
  /** Invariant: the registry as the plan has changed it so far, or null when unchanged. */
  registry: RegistryFile | null = null;

  constructor(
    readonly snapshot: Snapshot,
    readonly allocations: Allocations,
  ) {}

  block(code: string, message: string, path?: string): void {
    this.blockers.push({ code, message, ...(path !== undefined ? { path } : {}) });
  }

  warn(code: string, message: string, path?: string): void {
    this.warnings.push({ code, message, ...(path !== undefined ? { path } : {}) });
  }

  affect(record: AssetRecord): void {
    this.affected.push({
      ...(record.entry ? { assetId: record.entry.asset_id } : {}),
      assetUuid: record.assetUuid,
      root: record.root,
    });
    for (const diagnostic of record.diagnostics) if (diagnostic.safeFix) this.fixes.push(diagnostic.safeFix);
  }

  /** The current registry, or a blocker when there is none to change. */
  baseRegistry(): RegistryFile | null {
    if (this.registry !== null) return this.registry;
    if (this.snapshot.registry === null) {
      this.block(
        'registryUnavailable',
        this.snapshot.workspaceInitialized
          ? 'assets/.prometeu/index.json is unreadable or invalid; fix it before changing the registry.'
          : 'The workspace is not initialised; run initWorkspace first.',
        '.prometeu/index.json',
      );
      return null;
    }
    return this.snapshot.registry;
  }

  addEntry(entry: RegistryEntry): void {
    const registry = this.baseRegistry();
    if (registry === null) return;
    // Placed by its asset_id in the sorted list (a stable sort of it otherwise): the kept entries keep their order.
    const at =
      registry.assets.length > 0 && strictlySorted(registry) ? lowerBoundId(registry.assets, entry.asset_id + 1) : -1;
    let assets: RegistryEntry[];
    if (at >= 0) {
      assets = [...registry.assets];
      assets.splice(at, 0, entry);
    } else assets = [...registry.assets, entry].sort((a, b) => a.asset_id - b.asset_id);
    this.registry = {
      ...registry,
      next_asset_id: Math.max(registry.next_asset_id, entry.asset_id + 1),
      assets,
    };
    noteRegistryEdit(registry, this.registry, [], [entry]);
    this.registryChanges.push({
      change: 'add',
      assetId: entry.asset_id,
      assetUuid: entry.asset_uuid,
      root: entry.root,
      includedInBuild: entry.included_in_build,
    });
  }

  removeEntry(entry: RegistryEntry): void {
    const registry = this.baseRegistry();
    if (registry === null) return;
    // One slot taken out (a filter calls back per entry); the edit is recorded only when the entry was there once.
    const sorted = strictlySorted(registry);
    const at = sorted ? lowerBoundId(registry.assets, entry.asset_id) : registry.assets.indexOf(entry);
    if (at >= 0 && registry.assets[at] === entry && (sorted || registry.assets.lastIndexOf(entry) === at)) {
      const assets = [...registry.assets];
      assets.splice(at, 1);
      this.registry = { ...registry, assets };
      noteRegistryEdit(registry, this.registry, [entry], []);
    } else this.registry = { ...registry, assets: registry.assets.filter((candidate) => candidate !== entry) };
    this.registryChanges.push({
      change: 'remove',
      assetId: entry.asset_id,
      assetUuid: entry.asset_uuid,
      root: entry.root,
      includedInBuild: entry.included_in_build,
    });
  }

  updateEntry(entry: RegistryEntry, changes: Partial<Pick<RegistryEntry, 'root' | 'included_in_build'>>): void {
    const registry = this.baseRegistry();
    if (registry === null) return;
    const updated = { ...entry, ...changes };
    // A copy of the list with one slot replaced: a callback per entry cost about a millisecond at 100k roots,
    // once when the request arrived and again in the lane.
    // In a list strictly sorted by asset_id the entry is found by search, and is there once.
    const sorted = strictlySorted(registry);
    const at = sorted ? lowerBoundId(registry.assets, entry.asset_id) : registry.assets.indexOf(entry);
    const once = at >= 0 && registry.assets[at] === entry && (sorted || registry.assets.lastIndexOf(entry) === at);
    let assets: RegistryEntry[];
    if (once) {
      assets = [...registry.assets];
      assets[at] = updated;
    } else assets = registry.assets.map((candidate) => (candidate === entry ? updated : candidate));
    this.registry = { ...registry, assets };
    if (once) noteRegistryEdit(registry, this.registry, [entry], [updated]);
    this.registryChanges.push({
      change: 'update',
      assetId: entry.asset_id,
      assetUuid: entry.asset_uuid,
      root: updated.root,
      includedInBuild: updated.included_in_build,
      before: { root: entry.root, includedInBuild: entry.included_in_build },
    });
  }

  /**
   * The asset_id the next registration receives. Blocks (and still returns a number, which the blocked plan
   * never writes) when allocating it would push `next_asset_id` past `Number.MAX_SAFE_INTEGER`: the
   * registry the packer writes must be one it accepts on the next start.
   */
  nextId(): number {
    const next = this.baseRegistry()?.next_asset_id ?? 0;
    if (next >= Number.MAX_SAFE_INTEGER) {
      this.block(
        'idSpaceExhausted',
        `next_asset_id is ${next}; allocating it would move next_asset_id past ${Number.MAX_SAFE_INTEGER} (Number.MAX_SAFE_INTEGER), which no registry may hold.`,
        '.prometeu/index.json',
      );
    }
    return next;
  }

  /**
   * Blocks when moving the folder `from` to `to` would give one of the files the snapshot knows under it
   * a path longer than {@link MAX_PATH_BYTES}: checked here, before anything moves, instead of failing with
   * ENAMETOOLONG halfway through.
   */
  checkMovedPaths(from: string, to: string): void {
    const extra = utf8Length(to) - utf8Length(from);
    if (extra <= 0) return;
    // The files within `from` are `from` itself and one run of the sorted list: the rest is never looked at.
    const files = this.snapshot.crawl.files;
    const within = [...(files[lowerBound(files, from)] === from ? [from] : []), ...runBelow(files, from)];
    for (const file of within) {
      if (utf8Length(file) + extra > MAX_PATH_BYTES) {
        const moved = to + file.slice(from.length);
        this.block(
          'pathTooLong',
          `Moving ${from} to ${to} would make ${moved} ${utf8Length(moved)} bytes long; paths are at most ${MAX_PATH_BYTES} bytes.`,
          file,
        );
        return;
      }
    }
  }

  writeFile(path: string, content: string, before: string | null): void {
    this.actions.push({ kind: 'writeFile', path, content, before });
    this.filesystemChanges.push({ change: before === null ? 'create' : 'modify', path, kind: 'file' });
  }

  moveFolder(from: string, to: string, shown = true): void {
    this.actions.push({ kind: 'moveFolder', from, to });
    if (shown) this.filesystemChanges.push({ change: 'move', path: from, to, kind: 'folder' });
  }

  deleteFolder(path: string): void {
    this.actions.push({ kind: 'deleteFolder', path });
    this.filesystemChanges.push({ change: 'delete', path, kind: 'folder' });
  }

  /** Checks a path from the request; returns its canonical form or null (with a blocker). */
  userPath(path: string, what: string): string | null {
    const checked = checkAssetsPath(path);
    if (!checked.ok && LIMIT_BLOCKERS[checked.reason] !== undefined) {
      this.block(
        LIMIT_BLOCKERS[checked.reason]!,
        `${what} ${JSON.stringify(path)} breaks a path limit (${checked.reason}): components are at most 255 bytes, paths at most ${MAX_PATH_BYTES} bytes (UTF-8), without control characters or backslashes.`,
        path,
      );
      return null;
    }
    if (!checked.ok) {
      this.block(
        'pathOutsideProject',
        `${what} ${JSON.stringify(path)} is not a folder inside assets/ (${checked.reason}).`,
        path,
      );
      return null;
    }
    for (const link of this.snapshot.crawl.symlinks) {
      if (isWithin(link, checked.path)) {
        this.block(
          'pathOutsideProject',
          `${what} ${checked.path} goes through the symbolic link ${link}; the packer does not write through links.`,
          checked.path,
        );
        return null;
      }
    }
    return checked.path;
  }

  /** Blocks when `folder` cannot become an asset root: it is, contains or lies inside a root, or holds files. */
  checkFreeRoot(folder: string, movingFrom?: string): void {
    // Most folders have no root around them: asked of the ancestors and of the sorted anchors first, the
    // roots are walked (for the first one in their order) only when one may be.
    if (!mayHaveRootAround(this.snapshot, folder)) return;
    for (const record of this.snapshot.assets) {
      if (record.root === movingFrom) continue;
      if (record.anchor === null && record.entry !== null && movingFrom === undefined) continue;
      if (isWithin(record.root, folder)) {
        this.block(
          record.root === folder ? 'targetExists' : 'nestedRoot',
          record.root === folder
            ? `${folder} is already an asset root.`
            : `${folder} would lie inside asset root ${record.root}.`,
          folder,
        );
        return;
      }
      if (isWithin(folder, record.root)) {
        this.block('nestedRoot', `${folder} would contain asset root ${record.root}.`, folder);
        return;
      }
    }
  }

  /** Blocks when `folder` already holds files in the snapshot (the executor re-checks the disk). */
  checkAbsent(folder: string): void {
    if (hasPathWithin(this.snapshot.crawl.files, folder) || hasPathWithin(this.snapshot.crawl.symlinks, folder)) {
      this.block('targetExists', `${folder} already exists and holds files; choose a new folder.`, folder);
    }
  }

  resolve(reference: AssetReference): AssetRecord | null {
    let record: AssetRecord | undefined;
    if ('assetId' in reference) record = this.snapshot.byId.get(reference.assetId);
    else if ('assetUuid' in reference) record = this.snapshot.byUuid.get(reference.assetUuid.toLowerCase());
    else {
      const path = this.userPath(reference.root, 'Root');
      if (path === null) return null;
      record = this.snapshot.byRoot.get(path);
    }
    if (record === undefined) {
      this.block(
        'assetNotFound',
        `No asset matches ${JSON.stringify(reference)} at revision ${this.snapshot.revision}.`,
      );
      return null;
    }
    this.affect(record);
    return record;
  }
}

/** The first root other than `root` whose record carries `uuid`, in the snapshot's order; null when none does. */
function rootsIdentityConflict(snapshot: Snapshot, uuid: string, root: string): string | null {
  // `byUuid` holds the first record carrying each uuid: none before it does, so the walk starts after it.
  const first = snapshot.byUuid.get(uuid);
  if (first === undefined) return null;
  if (first.root !== root) return first.root;
  const assets = snapshot.assets;
  for (let index = assets.indexOf(first) + 1; index < assets.length; index++) {
    const record = assets[index]!;
    if (record.assetUuid === uuid && record.root !== root) return record.root;
  }
  return null;
}

/** The paths of the run of `sorted` below `folder` (those starting with `folder/`), found by binary search. */
function runBelow(sorted: readonly string[], folder: string): string[] {
  const run: string[] = [];
  const prefix = `${folder}/`;
  for (let index = lowerBound(sorted, prefix); index < sorted.length && sorted[index]!.startsWith(prefix); index++)
    run.push(sorted[index]!);
  return run;
}

/** Whether a sorted list of paths holds `folder` or a path below it, by binary search. */
function hasPathWithin(sorted: readonly string[], folder: string): boolean {
  const prefix = `${folder}/`;
  const below = lowerBound(sorted, prefix);
  return sorted[lowerBound(sorted, folder)] === folder || (below < sorted.length && sorted[below]!.startsWith(prefix));
}

/**
 * Whether a record's root may be `folder`, enclose it or lie inside it: its ancestors are looked up, the
 * anchors below it found in their sorted list, and registered roots without an anchor walked (usually none).
 */
function mayHaveRootAround(snapshot: Snapshot, folder: string): boolean {
  for (let ancestor = folder; ancestor !== ''; ancestor = parentOf(ancestor))
    if (snapshot.byRoot.has(ancestor)) return true;
  if (hasAnchorBelow(snapshot.crawl.anchors, folder)) return true;
  return (
    snapshot.counts.missing > 0 &&
    snapshot.assets.some((record) => record.anchor === null && isWithin(folder, record.root))
  );
}

/**
 * The first other record whose root is `record`'s or lies inside it, in the snapshot's order. Walked only
 * when an anchor lies below the root, a registered root has no anchor, or the registry has diagnostics (two
 * entries on one root): otherwise there is none.
 */
function innerRecord(snapshot: Snapshot, record: AssetRecord): AssetRecord | undefined {
  if (
    !hasAnchorBelow(snapshot.crawl.anchors, record.root) &&
    snapshot.counts.missing === 0 &&
    snapshot.parsedRegistry.diagnostics.length === 0
  )
    return undefined;
  return snapshot.assets.find((other) => other !== record && isWithin(record.root, other.root));
}

/** Serialises a declaration the way the packer writes `asset.json`: two-space indentation, trailing newline. */
export function serializeDeclaration(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function planCreate(planner: Planner, intent: Extract<MutationIntent, { kind: 'createAsset' }>): void {
  const root = planner.userPath(intent.root, 'Root');
  if (root === null) return;
  if (nestsDeeperThan(intent.declaration, MAX_JSON_DEPTH)) {
    planner.block(
      'declarationTooDeep',
      `The declaration nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, the limit for asset.json.`,
      joinAssetsPath(root, ANCHOR_FILE),
    );
    return;
  }
  if (Object.prototype.hasOwnProperty.call(intent.declaration, 'asset_uuid')) {
    planner.block(
      'draftCarriesUuid',
      `The declaration carries asset_uuid ${JSON.stringify(intent.declaration['asset_uuid'])}; createAsset allocates the identity itself, so leave asset_uuid out (use adopt or register for a folder that already has one).`,
      joinAssetsPath(root, ANCHOR_FILE),
    );
    return;
  }
  const draft = { schema_version: 1, ...intent.declaration, asset_uuid: planner.allocations.uuid };
  const parsed = AssetDeclarationFile.safeParse(draft);
  if (!parsed.success) {
    planner.block(
      'invalidDeclaration',
      `The declaration does not match the asset.json schema: ${describeIssues(parsed.error.issues)}.`,
      joinAssetsPath(root, ANCHOR_FILE),
    );
    return;
  }
  planner.checkFreeRoot(root);
  if (planner.snapshot.crawl.files.includes(joinAssetsPath(root, ANCHOR_FILE)))
    planner.block('targetExists', `${root}/asset.json already exists.`, root);
  const files = new Set(planner.snapshot.crawl.files);
  for (const [role, inputs] of Object.entries(parsed.data.inputs)) {
    for (const input of inputs) {
      const path = joinAssetsPath(root, input);
      if (!files.has(path))
        planner.warn(
          'inputMissing',
          `Input ${input} (role ${role}) does not exist yet; the asset will report it until it does.`,
          path,
        );
    }
  }
  const ordered = { schema_version: 1, asset_uuid: planner.allocations.uuid, ...intent.declaration };
  planner.writeFile(joinAssetsPath(root, ANCHOR_FILE), serializeDeclaration(ordered), null);
  planner.affected.push({ assetUuid: planner.allocations.uuid, root });
  if (intent.register)
    planner.addEntry({
      asset_id: planner.nextId(),
      asset_uuid: planner.allocations.uuid,
      root,
      included_in_build: true,
    });
}

function planRegister(planner: Planner, intent: Extract<MutationIntent, { kind: 'register' | 'adopt' }>): void {
  const root = planner.userPath(intent.root, 'Root');
  if (root === null) return;
  const record = planner.snapshot.byRoot.get(root);
  if (record === undefined || record.anchor === null) {
    planner.block('assetNotFound', `${root} has no asset.json at revision ${planner.snapshot.revision}.`, root);
    return;
  }
  planner.affect(record);
  if (record.entry !== null) {
    planner.block('alreadyRegistered', `${root} is already registered as asset #${record.entry.asset_id}.`, root);
    return;
  }
  const nested = record.diagnostics.find((diagnostic) => diagnostic.code === 'nested-root');
  if (nested) planner.block('nestedRoot', nested.message, root);
  const anchorText = planner.snapshot.parsedAnchors.get(root)?.text ?? null;
  let uuid = record.anchor.assetUuid;
  const conflict = uuid !== null ? rootsIdentityConflict(planner.snapshot, uuid, root) : null;
  if (intent.kind === 'register') {
    if (record.anchor.declaration === null) {
      planner.block(
        'invalidDeclaration',
        `${root}/asset.json is not valid (${record.diagnostics[0]?.message ?? 'see diagnostics'}); fix it, or adopt the root if only its asset_uuid is wrong.`,
        root,
      );
      return;
    }
    if (conflict !== null) {
      planner.block(
        'identityConflict',
        `${root} carries asset_uuid ${uuid}, which ${conflict} also carries. Adopt it instead to give it a new identity.`,
        root,
      );
      return;
    }
  } else {
    // Adopt: keep the identity when it is sound, otherwise give the root a fresh uuid in its asset.json.
    if (uuid === null || conflict !== null) {
      let raw: Record<string, unknown> | null;
      if (anchorText !== null && jsonTextDepth(anchorText) > MAX_JSON_DEPTH) {
        planner.block(
          'declarationTooDeep',
          `${root}/asset.json nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, the limit; simplify it first.`,
          root,
        );
        return;
      }
      try {
        const value = anchorText === null ? null : (JSON.parse(anchorText) as unknown);
        raw =
          typeof value === 'object' && value !== null && !Array.isArray(value)
            ? (value as Record<string, unknown>)
            : null;
      } catch {
        raw = null;
      }
      if (raw === null) {
        planner.block('invalidDeclaration', `${root}/asset.json is not a JSON object, so it cannot be adopted.`, root);
        return;
      }
      const repaired = { ...raw, asset_uuid: planner.allocations.uuid };
      const parsed = AssetDeclarationFile.safeParse(repaired);
      if (!parsed.success) {
        planner.block(
          'invalidDeclaration',
          `${root}/asset.json has problems besides its asset_uuid: ${describeIssues(parsed.error.issues)}.`,
          root,
        );
        return;
      }
      planner.warn(
        'identityRepaired',
        conflict !== null
          ? `${root} shared asset_uuid ${uuid} with ${conflict}; it gets the new asset_uuid ${planner.allocations.uuid}.`
          : `${root} had no valid asset_uuid; it gets ${planner.allocations.uuid}.`,
        root,
      );
      planner.writeFile(joinAssetsPath(root, ANCHOR_FILE), serializeDeclaration(repaired), anchorText);
      uuid = planner.allocations.uuid;
    } else if (record.anchor.declaration === null) {
      planner.block(
        'invalidDeclaration',
        `${root}/asset.json is not valid: ${record.diagnostics[0]?.message ?? 'see diagnostics'}`,
        root,
      );
      return;
    }
  }
  planner.addEntry({ asset_id: planner.nextId(), asset_uuid: uuid!, root, included_in_build: true });
}

function planForget(planner: Planner, intent: Extract<MutationIntent, { kind: 'forget' }>): void {
  const record = planner.resolve(intent.asset);
  if (record === null) return;
  if (record.entry === null) {
    planner.block('notRegistered', `${record.root} is not registered; there is nothing to forget.`, record.root);
    return;
  }
  planner.warn(
    'idRetired',
    `asset_id ${record.entry.asset_id} is retired for good; registering the root again gives it a new id.`,
  );
  planner.removeEntry(record.entry);
}

function planRemove(planner: Planner, intent: Extract<MutationIntent, { kind: 'remove' }>): void {
  const record = planner.resolve(intent.asset);
  if (record === null) return;
  if (record.anchor === null) {
    planner.block(
      'missingAnchor',
      `${record.root} has no files to remove; forget the registry entry instead.`,
      record.root,
    );
    return;
  }
  const inner = innerRecord(planner.snapshot, record);
  if (inner) {
    planner.block(
      'nestedRoot',
      `${record.root} contains asset root ${inner.root}; removing it would delete that asset too.`,
      record.root,
    );
    return;
  }
  planner.deleteFolder(record.root);
  if (record.entry !== null) planner.removeEntry(record.entry);
}

function planQuarantine(planner: Planner, intent: Extract<MutationIntent, { kind: 'quarantine' }>): void {
  const record = planner.resolve(intent.asset);
  if (record === null) return;
  if (record.anchor === null || record.assetUuid === null) {
    planner.block(
      record.anchor === null ? 'missingAnchor' : 'invalidDeclaration',
      `${record.root} cannot be quarantined: it has no readable identity on disk.`,
      record.root,
    );
    return;
  }
  const inner = innerRecord(planner.snapshot, record);
  if (inner) planner.block('nestedRoot', `${record.root} contains asset root ${inner.root}.`, record.root);
  if (planner.snapshot.quarantine.some((entry) => entry.assetUuid === record.assetUuid)) {
    planner.block(
      'targetExists',
      `An asset with asset_uuid ${record.assetUuid} is already in quarantine; restore or remove it first.`,
    );
    return;
  }
  const paths = quarantinePaths(record.assetUuid);
  planner.checkMovedPaths(record.root, paths.root);
  const manifest = {
    asset_id: record.entry?.asset_id ?? null,
    asset_uuid: record.assetUuid,
    included_in_build: record.entry?.included_in_build ?? false,
    name: record.anchor.name,
    quarantined_at: planner.allocations.time ?? null,
    root: record.root,
    type: record.anchor.type,
  };
  planner.writeFile(paths.manifest, serializeDeclaration(manifest), null);
  planner.moveFolder(record.root, paths.root);
  if (record.entry !== null) planner.removeEntry(record.entry);
}

function planRestore(planner: Planner, intent: Extract<MutationIntent, { kind: 'restore' }>): void {
  const uuid = intent.asset.assetUuid.toLowerCase();
  const entry: QuarantineEntry | undefined = planner.snapshot.quarantine.find(
    (candidate) => candidate.assetUuid === uuid,
  );
  if (entry === undefined) {
    planner.block('assetNotFound', `No quarantined asset has asset_uuid ${uuid}.`);
    return;
  }
  // The manifest is a file in the repository like any other: untrusted until checked.
  const manifestPath = quarantinePaths(uuid).manifest;
  if (!CANONICAL_UUID.test(entry.assetUuid)) {
    planner.block(
      'invalidQuarantineManifest',
      `${manifestPath} names asset_uuid ${JSON.stringify(entry.assetUuid)}, which is not a lowercase UUID; the packer will not restore from it.`,
      manifestPath,
    );
    return;
  }
  if (entry.assetId !== null && !(Number.isSafeInteger(entry.assetId) && entry.assetId > 0)) {
    planner.block(
      'invalidQuarantineManifest',
      `${manifestPath} names asset_id ${entry.assetId}, which is not a positive safe integer; the packer will not register it.`,
      manifestPath,
    );
    return;
  }
  let target: string | null;
  if (intent.to !== undefined) target = planner.userPath(intent.to, 'Destination');
  else {
    const checked = checkAssetsPath(entry.root);
    target = checked.ok ? checked.path : null;
    if (!checked.ok)
      planner.block(
        'invalidQuarantineManifest',
        `${manifestPath} names root ${JSON.stringify(entry.root)}, which is not a folder inside assets/ (${checked.reason}); restore it with an explicit destination ("to").`,
        manifestPath,
      );
  }
  if (target === null) return;
  planner.affected.push({
    ...(entry.assetId !== null ? { assetId: entry.assetId } : {}),
    assetUuid: uuid,
    root: target,
  });
  planner.checkFreeRoot(target);
  planner.checkAbsent(target);
  if (rootsIdentityConflict(planner.snapshot, uuid, target) !== null) {
    planner.block('identityConflict', `Another root already carries asset_uuid ${uuid}.`, target);
  }
  const paths = quarantinePaths(uuid);
  planner.moveFolder(paths.root, target);
  planner.actions.push({ kind: 'deleteFolder', path: paths.folder });
  if (entry.assetId !== null) {
    const registry = planner.baseRegistry();
    if (registry !== null) {
      if (registry.assets.some((candidate) => candidate.asset_id === entry.assetId)) {
        planner.block(
          'identityConflict',
          `asset_id ${entry.assetId} is registered again meanwhile; restore is refused rather than give two assets one id.`,
        );
        return;
      }
      planner.addEntry({
        asset_id: entry.assetId,
        asset_uuid: uuid,
        root: target,
        included_in_build: entry.includedInBuild,
      });
    }
  }
}

function planRelocate(planner: Planner, intent: Extract<MutationIntent, { kind: 'relocate' }>): void {
  const record = planner.resolve(intent.asset);
  if (record === null) return;
  const target = planner.userPath(intent.to, 'Destination');
  if (target === null) return;
  if (target === record.root) {
    planner.block('noChange', `${record.root} is already there.`, target);
    return;
  }
  if (isWithin(record.root, target)) {
    planner.block('nestedRoot', `${target} lies inside ${record.root}; a folder cannot move into itself.`, target);
    return;
  }
  if (record.anchor === null) {
    // The folder vanished: the entry may follow a root that was moved outside the packer.
    const found = planner.snapshot.byRoot.get(target);
    if (
      found === undefined ||
      found.anchor === null ||
      found.entry !== null ||
      found.assetUuid !== record.entry?.asset_uuid
    ) {
      planner.block(
        'missingAnchor',
        `${record.root} has no files to move, and ${target} is not an unregistered root with asset_uuid ${record.entry?.asset_uuid}.`,
        target,
      );
      return;
    }
    planner.updateEntry(record.entry, { root: target });
    return;
  }
  planner.checkFreeRoot(target, record.root);
  planner.checkAbsent(target);
  planner.checkMovedPaths(record.root, target);
  const inner = innerRecord(planner.snapshot, record);
  if (inner)
    planner.block(
      'nestedRoot',
      `${record.root} contains asset root ${inner.root}; move that one separately.`,
      record.root,
    );
  planner.moveFolder(record.root, target);
  if (record.entry !== null) planner.updateEntry(record.entry, { root: target });
}

function planRename(planner: Planner, intent: Extract<MutationIntent, { kind: 'rename' }>): void {
  const record = planner.resolve(intent.asset);
  if (record === null) return;
  if (record.anchor === null || record.anchor.declaration === null) {
    planner.block(
      'invalidDeclaration',
      `${record.root}/asset.json is missing or invalid; fix it before renaming.`,
      record.root,
    );
    return;
  }
  if (record.anchor.name === intent.name) {
    planner.warn('noChange', `${record.root} is already named ${JSON.stringify(intent.name)}.`);
    return;
  }
  // By root in the snapshot's map: a scan of the crawl's anchors cost a rename time in proportion to the project.
  const text = planner.snapshot.parsedAnchors.get(record.root)?.text ?? null;
  const raw = JSON.parse(text!) as Record<string, unknown>;
  planner.writeFile(
    joinAssetsPath(record.root, ANCHOR_FILE),
    serializeDeclaration({ ...raw, name: intent.name }),
    text,
  );
}

function planInclusion(planner: Planner, intent: Extract<MutationIntent, { kind: 'setBuildInclusion' }>): void {
  const record = planner.resolve(intent.asset);
  if (record === null) return;
  if (record.entry === null) {
    planner.block('notRegistered', `${record.root} is not registered; register it first.`, record.root);
    return;
  }
  if (record.entry.included_in_build === intent.included) {
    planner.warn(
      'noChange',
      `${record.root} is already ${intent.included ? 'included in' : 'excluded from'} the build.`,
    );
    return;
  }
  planner.updateEntry(record.entry, { included_in_build: intent.included });
}

function planNormalizeRegistry(planner: Planner): void {
  const registry = planner.baseRegistry();
  if (registry === null) return;
  const layout = planner.snapshot.projectDiagnostics.find((diagnostic) => diagnostic.code === 'registry-not-canonical');
  if (layout === undefined) {
    planner.warn('noChange', 'assets/.prometeu/index.json is already canonical.', REGISTRY_FILE);
    return;
  }
  // A new object with the same entries: what is written is the canonical text, so the next snapshot no longer
  // reports the layout. No entry changes; the file does.
  planner.registry = { ...registry, assets: [...registry.assets] };
  planner.filesystemChanges.push({ change: 'modify', path: REGISTRY_FILE, kind: 'file' });
}

function planReassignId(planner: Planner, intent: Extract<MutationIntent, { kind: 'reassignAssetId' }>): void {
  const record = planner.resolve(intent.asset);
  if (record === null) return;
  const entry = record.entry;
  if (entry === null) {
    planner.block('notRegistered', `${record.root} is not registered; it has no asset_id to change.`, record.root);
    return;
  }
  const registry = planner.baseRegistry();
  if (registry === null) return;
  const own = registry.assets.find(
    (candidate) => candidate.asset_id === entry.asset_id && candidate.asset_uuid === entry.asset_uuid,
  );
  const shared = registry.assets.filter((candidate) => candidate.asset_id === entry.asset_id && candidate !== own);
  if (own === undefined || shared.length === 0) {
    planner.block(
      'noChange',
      `asset_id ${entry.asset_id} belongs to ${record.root} alone; the packer changes an id only when two entries share it, because the runtime refers to assets by id.`,
      REGISTRY_FILE,
    );
    return;
  }
  const id = planner.nextId();
  planner.warn(
    'idReassigned',
    `${record.root} gets asset_id ${id} instead of ${entry.asset_id}, which stays with ${shared.map((other) => other.root).join(', ')}; code and data that refer to ${record.root} by id ${entry.asset_id} must be updated.`,
    REGISTRY_FILE,
  );
  planner.removeEntry(own);
  planner.addEntry({ ...own, asset_id: id });
}

/**
 * The operation class of an intent whose kind always touches the same things, whatever the snapshot (the class
 * {@link planMutation} computes for it), or undefined when only a plan can tell. An apply announces its class
 * when it arrives: for these kinds it need not plan against the snapshot to know it (a plan cost about a
 * millisecond at 100k roots, and 1,000 applies sent at once held every read behind them).
 */
export function fixedOperationClass(kind: MutationIntent['kind']): OperationClass | undefined {
  switch (kind) {
    // Each changes registry entries only (or nothing, blocked), never a file but index.json.
    case 'setBuildInclusion':
    case 'forget':
    case 'reassignAssetId':
      return 'registry';
    // Writes the root's asset.json only (or nothing), never a registry entry.
    case 'rename':
      return 'workspace';
    default:
      return undefined;
  }
}

function classOf(
  plan: Pick<MutationPlan, 'registryChanges' | 'filesystemChanges'>,
  kind: MutationIntent['kind'],
): OperationClass {
  const registry = plan.registryChanges.length > 0 || kind === 'normalizeRegistry';
  // Rewriting index.json is a change of the registry only, though the preview lists the file.
  const workspace = plan.filesystemChanges.some((change) => change.path !== REGISTRY_FILE);
  if (registry && workspace) return 'workspace+registry';
  if (workspace) return 'workspace';
  if (registry) return 'registry';
  // Nothing changes (blocked or a no-op): say what the kind normally touches.
  switch (kind) {
    case 'register':
    case 'adopt':
    case 'forget':
    case 'setBuildInclusion':
    case 'reassignAssetId':
      return 'registry';
    case 'rename':
      return 'workspace';
    default:
      return 'workspace+registry';
  }
}

/** Finds the safe fix with `fixId` among the snapshot's diagnostics. */
export function findSafeFix(snapshot: Snapshot, fixId: string): MutationIntent | undefined {
  for (const record of snapshot.assets)
    for (const diagnostic of record.diagnostics)
      if (diagnostic.safeFix?.fixId === fixId) return diagnostic.safeFix.mutation;
  for (const diagnostic of snapshot.projectDiagnostics)
    if (diagnostic.safeFix?.fixId === fixId) return diagnostic.safeFix.mutation;
  return undefined;
}

/** Plans `intent` against `snapshot`. Pure: the same arguments give an equal plan. */
export function planMutation(snapshot: Snapshot, intent: MutationIntent, allocations: Allocations): MutationPlan {
  const planner = new Planner(snapshot, allocations);
  const kind = intent.kind;
  switch (intent.kind) {
    case 'createAsset':
      planCreate(planner, intent);
      break;
    case 'register':
    case 'adopt':
      planRegister(planner, intent);
      break;
    case 'forget':
      planForget(planner, intent);
      break;
    case 'remove':
      planRemove(planner, intent);
      break;
    case 'quarantine':
      planQuarantine(planner, intent);
      break;
    case 'restore':
      planRestore(planner, intent);
      break;
    case 'relocate':
      planRelocate(planner, intent);
      break;
    case 'rename':
      planRename(planner, intent);
      break;
    case 'setBuildInclusion':
      planInclusion(planner, intent);
      break;
    case 'normalizeRegistry':
      planNormalizeRegistry(planner);
      break;
    case 'reassignAssetId':
      planReassignId(planner, intent);
      break;
    case 'applySafeFix': {
      const fix = findSafeFix(snapshot, intent.fixId);
      if (fix === undefined || fix.kind === 'applySafeFix') {
        planner.block(
          'unknownFix',
          `No diagnostic at revision ${snapshot.revision} offers the fix ${JSON.stringify(intent.fixId)}.`,
        );
        break;
      }
      const inner = planMutation(snapshot, fix, allocations);
      return { ...inner, intent };
    }
  }
  const shape = { registryChanges: planner.registryChanges, filesystemChanges: planner.filesystemChanges };
  const requiresConsent =
    (CONSENT_KINDS.has(kind) &&
      planner.filesystemChanges.some((change) => change.change === 'move' || change.change === 'delete')) ||
    // The runtime refers to assets by id: changing one is never a side effect.
    (kind === 'reassignAssetId' && planner.registryChanges.length > 0);
  return {
    intent,
    baseRevision: snapshot.revision,
    operationClass: classOf(shape, kind),
    blockers: planner.blockers,
    warnings: planner.warnings,
    safeFixes: dedupeFixes(planner.fixes),
    registryChanges: planner.registryChanges,
    filesystemChanges: planner.filesystemChanges,
    affectedAssets: planner.affected,
    requiresConsent,
    consentReason:
      kind === 'reassignAssetId'
        ? 'changes an asset_id, which the runtime and game code refer to'
        : `${planner.filesystemChanges.some((change) => change.change === 'delete') ? 'deletes' : 'moves'} files in the workspace`,
    effect: { actions: planner.actions, registry: planner.registry },
  };
}

function dedupeFixes(fixes: NonNullable<Diagnostic['safeFix']>[]): NonNullable<Diagnostic['safeFix']>[] {
  const seen = new Set<string>();
  return fixes.filter((fix) => (seen.has(fix.fixId) ? false : (seen.add(fix.fixId), true)));
}

/** Whether two plans make the same changes: the test an apply uses to re-check a preview's premises. */
export function samePlannedChanges(a: MutationPlan, b: MutationPlan): boolean {
  return (
    JSON.stringify([a.blockers, a.registryChanges, a.filesystemChanges, a.effect.actions, a.requiresConsent]) ===
    JSON.stringify([b.blockers, b.registryChanges, b.filesystemChanges, b.effect.actions, b.requiresConsent])
  );
}

/** The parent folders a plan's file actions touch, for the partial re-crawl after commit. */
export function touchedFolders(actions: readonly FileAction[]): string[] {
  const folders = new Set<string>();
  for (const action of actions) {
    if (action.kind === 'writeFile') folders.add(parentOf(action.path));
    else if (action.kind === 'moveFolder') {
      folders.add(action.from);
      folders.add(action.to);
    } else folders.add(action.path);
  }
  return [...folders].filter((folder) => !folder.startsWith('.prometeu'));
}
