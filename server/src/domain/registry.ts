/**
 * The registry (`assets/.prometeu/index.json`): parsing with every integrity check, and the canonical
 * serialisation that keeps it diffable in git.
 */
import { Buffer } from 'node:buffer';
import { jsonTextDepth, MAX_JSON_DEPTH } from './limits.js';
import { REGISTRY_SCHEMA_VERSION, RegistryFile, type Diagnostic, type RegistryEntry } from '@prometeu/packer-protocol';
import { describeIssues, makeDiagnostic } from './diagnostics.js';
import { checkAssetsPath, type CheckedPath } from './paths.js';
import { isNonEmptyString, isObject, isPositiveInteger, LOWERCASE_UUID } from './plain-values.js';
import { DELETED, patchMap } from './shared-map.js';

/** The registry path relative to `assets/`. */
export const REGISTRY_PATH = '.prometeu/index.json';

/** The registry path as people see it, relative to the project. */
const SHOWN_PATH = `assets/${REGISTRY_PATH}`;

/** What the registry file says, as far as it can be trusted. */
export interface ParsedRegistry {
  /** Whether the file exists. */
  readonly exists: boolean;
  /** The registry when it parses and validates; null when absent or untrustworthy. */
  readonly registry: RegistryFile | null;
  /** Entries usable for the join, with canonical roots; empty when the file is untrustworthy. */
  readonly entries: readonly RegistryEntry[];
  /** Problems of the file itself and of its entries among themselves. */
  readonly diagnostics: readonly Diagnostic[];
}

/** The registry of a freshly initialised workspace. */
export function emptyRegistry(): RegistryFile {
  return { schema_version: REGISTRY_SCHEMA_VERSION, next_asset_id: 1, assets: [] };
}

/**
 * Parses the registry text. `text` is null when the file does not exist; `readError` is set when it
 * exists but could not be read.
 */
export function parseRegistry(text: string | null, readError?: string): ParsedRegistry {
  const base = { path: REGISTRY_PATH, severity: 'error' as const, blocking: true };
  const untrusted = (diagnostic: Diagnostic): ParsedRegistry => ({
    exists: true,
    registry: null,
    entries: [],
    diagnostics: [diagnostic],
  });
  if (readError !== undefined) {
    return untrusted(
      makeDiagnostic('registry-unreadable', {
        ...base,
        message: `${SHOWN_PATH} could not be read (${readError}); nothing is treated as registered until it can be.`,
      }),
    );
  }
  if (text === null) {
    return {
      exists: false,
      registry: null,
      entries: [],
      diagnostics: [
        makeDiagnostic('registry-missing', {
          ...base,
          message: `The workspace is not initialised: ${SHOWN_PATH} does not exist, so nothing is registered. Run "packer init" (packer/initWorkspace) to create it.`,
        }),
      ],
    };
  }
  const markers = conflictMarkers(text);
  if (markers.length > 0) {
    return {
      exists: true,
      registry: null,
      entries: [],
      diagnostics: [
        makeDiagnostic('registry-merge-conflict', {
          ...base,
          message: `${SHOWN_PATH} holds unresolved merge-conflict markers at line${markers.length === 1 ? '' : 's'} ${markers.map((marker) => marker.line).join(', ')}; nothing is treated as registered until the conflict is resolved. Keep every entry of both sides (each one whole, from \`{\` to \`}\`), remove the markers, and the packer offers fixes for what the merge left (ids given twice, order).`,
          related: markers.map((marker) => ({ path: REGISTRY_PATH, message: `line ${marker.line}: ${marker.text}` })),
        }),
      ],
    };
  }
  const tooDeep = (): ParsedRegistry =>
    untrusted(
      makeDiagnostic('json-too-deep', {
        ...base,
        message: `${SHOWN_PATH} nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels, the limit; it is not read. Restore it from version control; the packer will not rewrite it.`,
      }),
    );
  let raw: unknown;
  try {
    // Editors that add a byte-order mark must not make the registry unreadable. V8's JSON.parse does not
    // recurse, so the depth limit is applied after it, and only to a file that is not plainly valid: one that
    // is has a depth of three, and a scan of every character costs as much as the parse at 100k entries.
    raw = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    if (jsonTextDepth(text) > MAX_JSON_DEPTH) return tooDeep();
    const reason = error instanceof Error ? error.message : String(error);
    return untrusted(
      makeDiagnostic('registry-unreadable', {
        ...base,
        message: `${SHOWN_PATH} is not valid JSON: ${reason}. Restore it from version control; the packer will not rewrite it.`,
      }),
    );
  }
  let valid = plainlyValidRegistry(raw);
  if (valid === null) {
    // Not plainly valid: the checks in the order they always ran, then the schema decides and words what is wrong.
    if (jsonTextDepth(text) > MAX_JSON_DEPTH) return tooDeep();
    const version =
      typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['schema_version'] : undefined;
    if (version !== undefined && version !== REGISTRY_SCHEMA_VERSION) {
      return untrusted(
        makeDiagnostic('registry-unsupported-version', {
          ...base,
          message: `${SHOWN_PATH} has schema_version ${JSON.stringify(version)}; this packer understands ${REGISTRY_SCHEMA_VERSION} only.`,
        }),
      );
    }
    const parsed = RegistryFile.safeParse(raw);
    if (!parsed.success) {
      return untrusted(
        makeDiagnostic('registry-invalid', {
          ...base,
          message: `${SHOWN_PATH} does not match the registry schema: ${describeIssues(parsed.error.issues)}.`,
        }),
      );
    }
    valid = parsed.data;
  }
  // Order and layout carry no meaning: a registry that is valid except for them (as a merge leaves it) is
  // trusted, sorted in memory, and reported with a fix that rewrites the file; it is never rewritten silently.
  const registry = sortedRegistry(valid);
  const canonical = serializeRegistry(registry);
  if (canonical !== text) {
    const reasons: string[] = [];
    const unsorted = firstOutOfOrder(valid);
    if (unsorted !== null)
      reasons.push(
        `its entries are not sorted by asset_id (entry ${unsorted.index} has asset_id ${unsorted.current} after ${unsorted.previous})`,
      );
    else reasons.push(`its layout is not the canonical one (${layoutDifference(text, canonical)})`);
    notCanonical.set(
      registry,
      makeDiagnostic('registry-not-canonical', {
        path: REGISTRY_PATH,
        severity: 'warning',
        blocking: false,
        message: `${SHOWN_PATH} is valid, but ${reasons.join(', and ')}, as a merge or another tool can leave it. The packer reads it as it is; rewrite it canonically (sorted keys and entries, two-space indentation, trailing newline) so that it diffs well again.`,
        safeFix: {
          fixId: 'registry-not-canonical',
          title: `Rewrite ${SHOWN_PATH} canonically`,
          mutation: { kind: 'normalizeRegistry' },
        },
      }),
    );
  }
  return checkRegistry(registry);
}

/** The keys of a registry entry, as the schema declares them (a strict object: no others). */
const ENTRY_KEYS = new Set(['asset_id', 'asset_uuid', 'root', 'included_in_build']);

/**
 * The registry that `RegistryFile.parse(raw)` would return, checked without the schema, when `raw` plainly
 * has the schema's shape (every well-formed file): the same values, fresh objects with their keys in the
 * schema's order, `$schema` only where the file has it. Null for anything else, however small the
 * difference; the schema then decides and words the problem. At 100k entries the schema took a third of the
 * registry's parse, the larger part of it in collecting its intermediate results
 * (`test/domain/registry-fast-path.test.ts` pins that both give the same registry over random and hostile files).
 */
export function plainlyValidRegistry(raw: unknown): RegistryFile | null {
  if (!isObject(raw)) return null;
  for (const key in raw)
    if (key !== '$schema' && key !== 'schema_version' && key !== 'next_asset_id' && key !== 'assets') return null;
  const { $schema: schema, next_asset_id: nextId, assets } = raw;
  if (raw['schema_version'] !== REGISTRY_SCHEMA_VERSION) return null;
  if (schema !== undefined && typeof schema !== 'string') return null;
  if (!isPositiveInteger(nextId) || !Array.isArray(assets)) return null;
  const entries: RegistryEntry[] = new Array<RegistryEntry>(assets.length);
  for (let index = 0; index < assets.length; index++) {
    const entry: unknown = assets[index];
    if (!isObject(entry)) return null;
    let keys = 0;
    for (const key in entry) {
      if (!ENTRY_KEYS.has(key)) return null;
      keys++;
    }
    const { asset_id: id, asset_uuid: uuid, root, included_in_build: included } = entry;
    if (keys !== 4 || !isPositiveInteger(id) || typeof uuid !== 'string' || !LOWERCASE_UUID.test(uuid)) return null;
    if (!isNonEmptyString(root) || typeof included !== 'boolean') return null;
    entries[index] = { asset_id: id, asset_uuid: uuid, root, included_in_build: included };
  }
  return '$schema' in raw
    ? { $schema: schema, schema_version: REGISTRY_SCHEMA_VERSION, next_asset_id: nextId, assets: entries }
    : { schema_version: REGISTRY_SCHEMA_VERSION, next_asset_id: nextId, assets: entries };
}

/** A merge-conflict marker line of a file. */
export interface ConflictMarker {
  /** 1-based line number. */
  readonly line: number;
  /** The marker line as written (without its line break). */
  readonly text: string;
}

/**
 * The lines of `text` that are merge-conflict markers as git writes them (`<<<<<<< ours`, `||||||| base`,
 * `=======`, `>>>>>>> theirs`). No valid JSON has such a line: JSON strings cannot span lines.
 */
export function conflictMarkers(text: string): ConflictMarker[] {
  const markers: ConflictMarker[] = [];
  // A cheap test first: almost every file has no marker at all.
  if (!/^(?:<{7}|={7}|>{7}|\|{7})/m.test(text)) return markers;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!.replace(/\r$/, '');
    if (/^(?:<{7}|>{7}|\|{7})(?: |$)/.test(line) || /^={7}\s*$/.test(line))
      markers.push({ line: index + 1, text: line.length > 80 ? `${line.slice(0, 80)}...` : line });
  }
  return markers;
}

/** The registry with its entries sorted by `asset_id` (the same object when they already are). */
function sortedRegistry(registry: RegistryFile): RegistryFile {
  return firstOutOfOrder(registry) === null
    ? registry
    : { ...registry, assets: [...registry.assets].sort((a, b) => a.asset_id - b.asset_id) };
}

function firstOutOfOrder(registry: RegistryFile): { index: number; previous: number; current: number } | null {
  for (let index = 1; index < registry.assets.length; index++) {
    const previous = registry.assets[index - 1]!.asset_id;
    const current = registry.assets[index]!.asset_id;
    if (previous > current) return { index, previous, current };
  }
  return null;
}

/** Says, for a person, how a registry text differs in layout from its canonical form. */
function layoutDifference(text: string, canonical: string): string {
  if (text.charCodeAt(0) === 0xfeff) return 'it starts with a byte-order mark';
  if (text.includes('\r\n')) return 'it has Windows line endings';
  if (!text.endsWith('\n')) return 'it has no trailing newline';
  const lines = text.split('\n');
  const expected = canonical.split('\n');
  for (let index = 0; index < Math.min(lines.length, expected.length); index++) {
    if (lines[index] !== expected[index])
      return `line ${index + 1} is ${JSON.stringify(lines[index]!.slice(0, 60))} where the canonical form has ${JSON.stringify(expected[index]!.slice(0, 60))}`;
  }
  return `it has ${lines.length} lines where the canonical form has ${expected.length}`;
}

/** Registries read from a file that is not in canonical form, with the diagnostic that says so. */
const notCanonical = new WeakMap<RegistryFile, Diagnostic>();

/**
 * Takes a {@link ParsedRegistry} that {@link parseRegistry} made in another thread (it arrives as a copy):
 * records its layout diagnostic again for this thread's {@link checkRegistry}, which every later commit
 * calls, so those snapshots say what they would have said had the registry been parsed here.
 */
export function adoptParsedRegistry(parsed: ParsedRegistry): ParsedRegistry {
  const layout = parsed.diagnostics.find((diagnostic) => diagnostic.code === 'registry-not-canonical');
  if (parsed.registry !== null && layout !== undefined) notCanonical.set(parsed.registry, layout);
  return parsed;
}

/** Entries are immutable: the check of each entry's root is done once. */
const rootChecks = new WeakMap<RegistryEntry, CheckedPath>();

/**
 * Checks a schema-valid registry for what the schema cannot say: order, root paths, id allocation and
 * identity conflicts. Used by {@link parseRegistry} and, without re-parsing, on every commit.
 */
export function checkRegistry(checked: RegistryFile): ParsedRegistry {
  const registry = sortedRegistry(checked);
  const base = { path: REGISTRY_PATH, severity: 'error' as const, blocking: true };
  const diagnostics: Diagnostic[] = [];
  const layout = notCanonical.get(checked);
  if (layout !== undefined) diagnostics.push(layout);
  const entries: RegistryEntry[] = [];
  for (const entry of registry.assets) {
    let checked = rootChecks.get(entry);
    if (checked === undefined) {
      checked = checkAssetsPath(entry.root);
      rootChecks.set(entry, checked);
    }
    if (!checked.ok) {
      diagnostics.push(
        makeDiagnostic('root-path-invalid', {
          ...base,
          assetId: entry.asset_id,
          assetUuid: entry.asset_uuid,
          message: `Registry entry ${entry.asset_id} names root ${JSON.stringify(entry.root)}, which is not a folder inside assets/ (${checked.reason}).`,
        }),
      );
      continue;
    }
    entries.push(checked.path === entry.root ? entry : { ...entry, root: checked.path });
    if (entry.asset_id >= registry.next_asset_id) {
      diagnostics.push(
        makeDiagnostic('identity-id-not-allocated', {
          ...base,
          assetId: entry.asset_id,
          assetUuid: entry.asset_uuid,
          root: checked.path,
          message: `Registry entry ${entry.asset_id} (${checked.path}) is not below next_asset_id ${registry.next_asset_id}, so its id could be handed out again.`,
        }),
      );
    }
  }
  diagnostics.push(
    ...duplicates(
      entries,
      (entry) => String(entry.asset_id),
      'identity-duplicate-id',
      (key) => `asset_id ${key}`,
      registry.next_asset_id,
    ),
  );
  diagnostics.push(
    ...duplicates(
      entries,
      (entry) => entry.root,
      'identity-duplicate-root',
      (key) => `root ${key}`,
    ),
  );
  diagnostics.push(
    ...duplicates(
      entries,
      (entry) => entry.asset_uuid,
      'identity-duplicate-uuid',
      (key) => `asset_uuid ${key}`,
    ),
  );
  // Every entry kept as it is (the usual case): the registry's own list, so that a commit's patch can take the
  // planner's record of its edit (`registryEdit`) instead of walking every entry, from the very first commit.
  const same =
    entries.length === registry.assets.length && entries.every((entry, index) => entry === registry.assets[index]);
  return { exists: true, registry, entries: same ? registry.assets : entries, diagnostics };
}

function duplicates(
  entries: readonly RegistryEntry[],
  keyOf: (entry: RegistryEntry) => string,
  code: 'identity-duplicate-id' | 'identity-duplicate-root' | 'identity-duplicate-uuid',
  label: (key: string) => string,
  nextId?: number,
): Diagnostic[] {
  // One cheap pass to find the keys that repeat; groups are built only for those (usually none).
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const entry of entries) {
    const key = keyOf(entry);
    if (seen.has(key)) repeated.add(key);
    else seen.add(key);
  }
  if (repeated.size === 0) return [];
  const groups = new Map<string, RegistryEntry[]>();
  for (const entry of entries) {
    const key = keyOf(entry);
    if (!repeated.has(key)) continue;
    const group = groups.get(key);
    if (group) group.push(entry);
    else groups.set(key, [entry]);
  }
  const found: Diagnostic[] = [];
  for (const [key, group] of groups) {
    for (const entry of group) {
      found.push(
        makeDiagnostic(code, {
          severity: 'error',
          blocking: true,
          assetId: entry.asset_id,
          assetUuid: entry.asset_uuid,
          root: entry.root,
          path: REGISTRY_PATH,
          message:
            code === 'identity-duplicate-id'
              ? `${group.length} registry entries share ${label(key)}: ${group.map((other) => `${other.root} (${other.asset_uuid})`).join(', ')}, as when two branches each registered an asset. Keep the id on the asset the runtime already knows by it, and give the other ones new ids.`
              : `${group.length} registry entries share ${label(key)}: ${group.map((other) => `#${other.asset_id} at ${other.root}`).join(', ')}. Forget all but one.`,
          related: group
            .filter((other) => other !== entry)
            .map((other) => ({ path: other.root, message: `entry #${other.asset_id}` })),
          // Either entry may be the one to renumber (the one the runtime does not know yet): each offers it.
          ...(code === 'identity-duplicate-id' && nextId !== undefined
            ? {
                safeFix: {
                  fixId: `duplicate-id:${entry.asset_id}:${entry.asset_uuid}`,
                  title: `Give ${entry.root} a new asset_id (${nextId}) and keep #${entry.asset_id} for the other entry`,
                  mutation: { kind: 'reassignAssetId' as const, asset: { assetUuid: entry.asset_uuid } },
                },
              }
            : {}),
        }),
      );
    }
  }
  return found;
}

/** Canonical text of each entry, indented for its place in the file; entries are immutable, so this never goes stale. */
const entryText = new WeakMap<RegistryEntry, string>();

/** How many consecutive asset_ids share one cached run of registry text. */
const CHUNK = 64;

/** What a run of entries (all of one {@link CHUNK} of asset_ids) was made into, with the entries it was built from. */
interface CachedRun<T> {
  readonly entries: readonly RegistryEntry[];
  readonly value: T;
}

/** The text of each run, keyed by its first entry: reused only while its entries are the very same (immutable) objects. */
const chunkText = new WeakMap<RegistryEntry, CachedRun<string>>();

/**
 * The UTF-8 bytes of each run, keyed the same way. A commit writes the registry as these pieces: joining 16 MiB
 * of text and encoding it again cost a 100k-root project tens of milliseconds of the main thread per commit.
 */
const chunkBytes = new WeakMap<RegistryEntry, CachedRun<Buffer>>();

const LIST_SEPARATOR = Buffer.from(',\n');

function textOfEntry(entry: RegistryEntry): string {
  let text = entryText.get(entry);
  if (text === undefined) {
    // The four keys of an entry (the schema allows no others), in sorted order, laid out exactly as
    // JSON.stringify(sortKeys(entry), null, 2) indented by four spaces would: built directly, because every
    // open serialises the whole registry once to tell whether the file is canonical. A schema-valid entry's
    // id is a safe integer and its uuid lowercase hex and dashes, which JSON writes as they are; only the root
    // can need escapes.
    text =
      `    {\n      "asset_id": ${entry.asset_id},\n      "asset_uuid": "${entry.asset_uuid}",\n` +
      `      "included_in_build": ${entry.included_in_build},\n      "root": ${JSON.stringify(entry.root)}\n    }`;
    entryText.set(entry, text);
  }
  return text;
}

/** The registry's entries by `asset_id`: its own list when it is sorted already, as it nearly always is. */
function entriesById(registry: RegistryFile): readonly RegistryEntry[] {
  if (strictlySorted(registry)) return registry.assets;
  let sorted = true;
  for (let index = 1; index < registry.assets.length && sorted; index++)
    sorted = registry.assets[index - 1]!.asset_id <= registry.assets[index]!.asset_id;
  return sorted ? registry.assets : [...registry.assets].sort((a, b) => a.asset_id - b.asset_id);
}

/**
 * The runs of `assets` (sorted by asset_id) as `[start, end)` index pairs: entries are grouped by asset_id,
 * CHUNK ids to a run, so a run keeps its members when entries are added or removed elsewhere.
 */
function* runsOf(assets: readonly RegistryEntry[]): Generator<readonly [number, number]> {
  for (let start = 0; start < assets.length;) {
    const chunk = Math.floor(assets[start]!.asset_id / CHUNK);
    let end = start + 1;
    while (end < assets.length && Math.floor(assets[end]!.asset_id / CHUNK) === chunk) end++;
    yield [start, end];
    start = end;
  }
}

/** What `cache` holds for the run `assets[start, end)`, if it was built from these very entries. */
function cachedRun<T>(
  cache: WeakMap<RegistryEntry, CachedRun<T>>,
  assets: readonly RegistryEntry[],
  start: number,
  end: number,
): T | undefined {
  const cached = cache.get(assets[start]!);
  if (cached === undefined || cached.entries.length !== end - start) return undefined;
  for (let index = start; index < end; index++) if (cached.entries[index - start] !== assets[index]) return undefined;
  return cached.value;
}

/** The canonical text before the first entry (an editor's `$schema` key is kept, it sorts first; the packer never adds one). */
function registryHead(registry: RegistryFile, empty: boolean): string {
  const schema = registry.$schema !== undefined ? `  "$schema": ${JSON.stringify(registry.$schema)},\n` : '';
  return `{\n${schema}  "assets": ${empty ? '[]' : '[\n'}`;
}

/** The canonical text after the last entry. */
function registryTail(registry: RegistryFile, empty: boolean): string {
  return `${empty ? '' : '\n  ]'},\n  "next_asset_id": ${registry.next_asset_id},\n  "schema_version": ${registry.schema_version}\n}\n`;
}

/**
 * Serialises a registry canonically: keys sorted, two-space indentation, entries sorted by `asset_id`,
 * trailing newline. The same registry always gives the same bytes: exactly those of
 * `JSON.stringify(sortKeys(registry), null, 2)`, built from cached text per run of entries, so that a commit
 * that changes one entry rebuilds one run's text and joins a few hundred pieces, not 10,000.
 */
export function serializeRegistry(registry: RegistryFile): string {
  const assets = entriesById(registry);
  const parts: string[] = [];
  for (const [start, end] of runsOf(assets)) {
    let text = cachedRun(chunkText, assets, start, end);
    if (text === undefined) {
      const entries = assets.slice(start, end);
      text = entries.map(textOfEntry).join(',\n');
      chunkText.set(assets[start]!, { entries, value: text });
    }
    parts.push(text);
  }
  const empty = assets.length === 0;
  return registryHead(registry, empty) + parts.join(',\n') + registryTail(registry, empty);
}

/**
 * The UTF-8 bytes of {@link serializeRegistry}'s text for `registry`, as pieces to write in order, built from
 * cached bytes per run of entries so that a commit that changes one entry encodes one run and copies nothing
 * else. Their concatenation equals, byte for byte, `Buffer.from(serializeRegistry(registry))`. With
 * `pause`, runs are encoded in slices of at most about `sliceMs` between which it awaits `pause()`: the first
 * commit after an open encodes every run (about a hundred milliseconds at 100k roots), and reads are
 * answered between the slices.
 */
export async function serializeRegistryPieces(
  registry: RegistryFile,
  pause?: () => Promise<void>,
  sliceMs = 4,
): Promise<Buffer[]> {
  const edited = piecesAfterEdit(registry);
  if (edited !== undefined) return edited;
  const assets = entriesById(registry);
  const empty = assets.length === 0;
  const pieces: Buffer[] = [Buffer.from(registryHead(registry, empty))];
  const chunks: number[] = [];
  const runs: Buffer[] = [];
  let sliceStart = performance.now();
  for (const [start, end] of runsOf(assets)) {
    if (start > 0) pieces.push(LIST_SEPARATOR);
    let bytes = cachedRun(chunkBytes, assets, start, end);
    if (bytes === undefined) {
      if (pause !== undefined && performance.now() - sliceStart > sliceMs) {
        await pause();
        sliceStart = performance.now();
      }
      const entries = assets.slice(start, end);
      bytes = Buffer.from(entries.map(textOfEntry).join(',\n'));
      chunkBytes.set(assets[start]!, { entries, value: bytes });
      // The text of the run is not kept beside its bytes: one copy of a 100k-root registry is enough.
      chunkText.delete(assets[start]!);
    }
    pieces.push(bytes);
    chunks.push(Math.floor(assets[start]!.asset_id / CHUNK));
    runs.push(bytes);
  }
  pieces.push(Buffer.from(registryTail(registry, empty)));
  // Kept for the next commit's edit of this registry, when the runs are those of its own (sorted) list.
  if (assets === registry.assets && strictlySorted(registry)) serializedRuns.set(registry, { chunks, runs });
  return pieces;
}

/** Per registry whose pieces were made: the chunk (`asset_id / CHUNK`) of each run and the run's bytes, in order. */
interface SerializedRuns {
  readonly chunks: readonly number[];
  readonly runs: readonly Buffer[];
}

const serializedRuns = new WeakMap<RegistryFile, SerializedRuns>();

/**
 * {@link serializeRegistryPieces} of a registry the planner made by a recorded edit ({@link registryEdit})
 * from one whose runs are known: the runs of the chunks the edit touched are encoded (or found cached), every
 * other run is the base's, and no entry list is walked. Undefined when there is no such base.
 */
function piecesAfterEdit(registry: RegistryFile): Buffer[] | undefined {
  let base: RegistryFile | undefined = registry;
  for (let steps = 0; base !== undefined && !serializedRuns.has(base); steps++)
    base = steps < MAX_EDIT_STEPS ? editSteps.get(base)?.base : undefined;
  if (base === undefined || base === registry) return undefined;
  const known = serializedRuns.get(base)!;
  const edit = registryEdit(base, registry);
  if (edit === undefined || !strictlySorted(registry)) return undefined;
  const changed = [
    ...new Set([...edit.removed, ...edit.added].map((entry) => Math.floor(entry.asset_id / CHUNK))),
  ].sort((a, b) => a - b);
  const assets = registry.assets;
  const chunks: number[] = [];
  const runs: Buffer[] = [];
  let next = 0;
  const rebuild = (chunk: number): void => {
    const start = lowerBoundId(assets, chunk * CHUNK);
    const end = lowerBoundId(assets, (chunk + 1) * CHUNK);
    if (start === end) return;
    let bytes = cachedRun(chunkBytes, assets, start, end);
    if (bytes === undefined) {
      const entries = assets.slice(start, end);
      bytes = Buffer.from(entries.map(textOfEntry).join(',\n'));
      chunkBytes.set(assets[start]!, { entries, value: bytes });
      chunkText.delete(assets[start]!);
    }
    chunks.push(chunk);
    runs.push(bytes);
  };
  for (let index = 0; index < known.chunks.length; index++) {
    const chunk = known.chunks[index]!;
    while (next < changed.length && changed[next]! < chunk) rebuild(changed[next++]!);
    if (next < changed.length && changed[next] === chunk) rebuild(changed[next++]!);
    else {
      chunks.push(chunk);
      runs.push(known.runs[index]!);
    }
  }
  while (next < changed.length) rebuild(changed[next++]!);
  serializedRuns.set(registry, { chunks, runs });
  const empty = assets.length === 0;
  const pieces: Buffer[] = [Buffer.from(registryHead(registry, empty))];
  for (let index = 0; index < runs.length; index++) {
    if (index > 0) pieces.push(LIST_SEPARATOR);
    pieces.push(runs[index]!);
  }
  pieces.push(Buffer.from(registryTail(registry, empty)));
  return pieces;
}

/** Returns a copy of a JSON value with object keys sorted recursively. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/** The keys of a trusted registry without diagnostics: each id, root and asset_uuid is held by one entry. */
interface RegistryKeys {
  readonly ids: ReadonlyMap<number, RegistryEntry>;
  readonly roots: ReadonlyMap<string, RegistryEntry>;
  readonly uuids: ReadonlyMap<string, RegistryEntry>;
}

/** Per checked registry without diagnostics whose entries are its file's entries: its keys, built on first use. */
const registryKeys = new WeakMap<ParsedRegistry, RegistryKeys>();

function keysOf(parsed: ParsedRegistry): RegistryKeys {
  let keys = registryKeys.get(parsed);
  if (keys === undefined) {
    keys = {
      ids: new Map(parsed.entries.map((entry) => [entry.asset_id, entry])),
      roots: new Map(parsed.entries.map((entry) => [entry.root, entry])),
      uuids: new Map(parsed.entries.map((entry) => [entry.asset_uuid, entry])),
    };
    registryKeys.set(parsed, keys);
  }
  return keys;
}

/**
 * {@link checkRegistry} of `registry`, a commit's change of the registry `previous` was checked from: when
 * `previous` had no diagnostics and `registry` keeps the entries it did not change (the same objects, sorted
 * by asset_id), only the changed entries are checked, against keys shared with `previous` (see
 * shared-map.ts); anything else is checked whole. `test/domain/registry.test.ts` pins the equality.
 */
export function checkRegistryAfter(previous: ParsedRegistry, registry: RegistryFile): ParsedRegistry {
  const before = previous.registry;
  if (
    before === null ||
    previous.diagnostics.length > 0 ||
    previous.entries.length !== before.assets.length ||
    notCanonical.has(registry) ||
    registry.next_asset_id < before.next_asset_id
  )
    return checkRegistry(registry);
  if (!strictlySorted(registry)) return checkRegistry(registry);
  const keys = keysOf(previous);
  const idPatch = new Map<number, RegistryEntry | typeof DELETED>();
  const rootPatch = new Map<string, RegistryEntry | typeof DELETED>();
  const uuidPatch = new Map<string, RegistryEntry | typeof DELETED>();
  // The planner's record of what changed, when it has one: then nothing walks the entry lists.
  const edit = previous.entries === before.assets ? registryEdit(before, registry) : undefined;
  const removed: RegistryEntry[] = [];
  let added: readonly RegistryEntry[];
  if (edit !== undefined) {
    // Every entry the edit did not touch is one of `previous`'s checked entries (its entries are its file's).
    for (const was of edit.removed) if (keys.ids.get(was.asset_id) !== was) return checkRegistry(registry);
    removed.push(...edit.removed);
    added = edit.added;
  } else {
    const walked: RegistryEntry[] = [];
    const old = before.assets;
    const now = registry.assets;
    for (let i = 0, j = 0; i < old.length || j < now.length;) {
      const was = old[i];
      const is = now[j];
      if (was !== undefined && was === is) {
        // An entry kept from `previous` must be its checked entry: a canonical root.
        if (previous.entries[i] !== was) return checkRegistry(registry);
        i++;
        j++;
      } else if (is === undefined || (was !== undefined && was.asset_id <= is.asset_id)) {
        removed.push(was!);
        i++;
      } else {
        walked.push(is);
        j++;
      }
    }
    added = walked;
  }
  for (const was of removed) {
    idPatch.set(was.asset_id, DELETED);
    rootPatch.set(was.root, DELETED);
    uuidPatch.set(was.asset_uuid, DELETED);
  }
  const claim = <K>(
    index: ReadonlyMap<K, RegistryEntry>,
    patch: Map<K, RegistryEntry | typeof DELETED>,
    key: K,
    entry: RegistryEntry,
  ): boolean => {
    const held = patch.has(key) ? patch.get(key) : index.get(key);
    if (held !== undefined && held !== DELETED) return false;
    patch.set(key, entry);
    return true;
  };
  for (const entry of added) {
    let checked = rootChecks.get(entry);
    if (checked === undefined) {
      checked = checkAssetsPath(entry.root);
      rootChecks.set(entry, checked);
    }
    if (
      !checked.ok ||
      checked.path !== entry.root ||
      entry.asset_id >= registry.next_asset_id ||
      !claim(keys.ids, idPatch, entry.asset_id, entry) ||
      !claim(keys.roots, rootPatch, entry.root, entry) ||
      !claim(keys.uuids, uuidPatch, entry.asset_uuid, entry)
    )
      return checkRegistry(registry);
  }
  const parsed: ParsedRegistry = { exists: true, registry, entries: registry.assets, diagnostics: [] };
  registryKeys.set(parsed, {
    ids: patchMap(keys.ids, idPatch),
    roots: patchMap(keys.roots, rootPatch),
    uuids: patchMap(keys.uuids, uuidPatch),
  });
  return parsed;
}

/**
 * How a commit changes the registry, entry by entry: what a journal records instead of the whole text
 * before and after (see mutations/execute.ts). `removed` holds the entries of "before" that "after" lacks
 * or holds changed, `added` those of "after" that "before" lacks or holds changed; an entry changed in
 * place is in both, under the same `asset_id`.
 */
export interface RegistryPatch {
  readonly removed: readonly RegistryEntry[];
  readonly added: readonly RegistryEntry[];
  readonly nextAssetId: { readonly before: number; readonly after: number };
}

function sameEntry(a: RegistryEntry, b: RegistryEntry): boolean {
  return (
    a === b ||
    (a.asset_id === b.asset_id &&
      a.asset_uuid === b.asset_uuid &&
      a.included_in_build === b.included_in_build &&
      a.root === b.root)
  );
}

/** The entries of `registry` sorted by `asset_id`, or null when two share an id (an order a patch cannot rebuild). */
function uniquelySorted(registry: RegistryFile): readonly RegistryEntry[] | null {
  const assets = sortedRegistry(registry).assets;
  for (let index = 1; index < assets.length; index++)
    if (assets[index - 1]!.asset_id === assets[index]!.asset_id) return null;
  return assets;
}

/**
 * The patch that turns `before` into `after`, or null when a patch cannot say it: the two differ in more
 * than their entries and `next_asset_id` (`$schema`, `schema_version`), or either gives one id to two
 * entries. One pass over both sorted entry lists; kept entries are usually the very same objects.
 */
export function registryPatch(before: RegistryFile, after: RegistryFile): RegistryPatch | null {
  if (before.$schema !== after.$schema || before.schema_version !== after.schema_version) return null;
  // The planner's record of the edit, when both lists are known strictly sorted: no walk at all.
  const edit = registryEdit(before, after);
  if (edit !== undefined && strictlySorted(before) && strictlySorted(after)) {
    const byId = (a: RegistryEntry, b: RegistryEntry): number => a.asset_id - b.asset_id;
    // An entry replaced by an equal one is no change, as the walk below finds.
    const same = new Set<number>();
    for (const was of edit.removed)
      for (const is of edit.added) if (is.asset_id === was.asset_id && sameEntry(was, is)) same.add(was.asset_id);
    return {
      removed: edit.removed.filter((entry) => !same.has(entry.asset_id)).sort(byId),
      added: edit.added.filter((entry) => !same.has(entry.asset_id)).sort(byId),
      nextAssetId: { before: before.next_asset_id, after: after.next_asset_id },
    };
  }
  // Registries of commits are sorted with unique ids: the walk checks that as it goes, and sorts only if not.
  const patch = patchOfSorted(before.assets, after.assets, before, after);
  if (patch !== null) return patch;
  const old = uniquelySorted(before);
  const now = uniquelySorted(after);
  if (old === null || now === null) return null;
  return patchOfSorted(old, now, before, after);
}

/**
 * {@link registryPatch} of two entry lists, or null when either is not strictly increasing by `asset_id`:
 * one merge walk that checks each list's order as it goes; the kept entries are usually the very same
 * objects, compared first.
 */
function patchOfSorted(
  old: readonly RegistryEntry[],
  now: readonly RegistryEntry[],
  before: RegistryFile,
  after: RegistryFile,
): RegistryPatch | null {
  const removed: RegistryEntry[] = [];
  const added: RegistryEntry[] = [];
  // Invariant: the last asset_id taken from each list; every next one must be larger.
  let lastOld = -1;
  let lastNow = -1;
  for (let i = 0, j = 0; i < old.length || j < now.length;) {
    const was = old[i];
    const is = now[j];
    if (was !== undefined && is !== undefined && (was === is || was.asset_id === is.asset_id)) {
      const id = was.asset_id;
      if (id <= lastOld || is.asset_id <= lastNow) return null;
      lastOld = id;
      lastNow = is.asset_id;
      if (was !== is && !sameEntry(was, is)) {
        removed.push(was);
        added.push(is);
      }
      i++;
      j++;
    } else if (is === undefined || (was !== undefined && was.asset_id < is.asset_id)) {
      if (was!.asset_id <= lastOld) return null;
      lastOld = was!.asset_id;
      removed.push(was!);
      i++;
    } else {
      if (is.asset_id <= lastNow) return null;
      lastNow = is.asset_id;
      added.push(is);
      j++;
    }
  }
  return { removed, added, nextAssetId: { before: before.next_asset_id, after: after.next_asset_id } };
}

/** Whether a patch changes nothing (then a journal cannot tell the two sides apart by the registry). */
export function isEmptyPatch(patch: RegistryPatch): boolean {
  return patch.removed.length === 0 && patch.added.length === 0 && patch.nextAssetId.before === patch.nextAssetId.after;
}

/**
 * Which side of `patch` `registry` is on, judged by the entries the patch changes and `next_asset_id`:
 * `after` when it holds every added entry, none of the removed ones that no added entry replaces, and the
 * later `next_asset_id`; `before` the other way round; `neither` otherwise (or when it gives one id to two
 * entries). The entries the patch does not name are not compared: the patch does not know them.
 */
export function patchSideOf(registry: RegistryFile, patch: RegistryPatch): 'before' | 'after' | 'neither' {
  const assets = uniquelySorted(registry);
  if (assets === null) return 'neither';
  const byId = new Map<number, RegistryEntry>();
  for (const entry of assets) byId.set(entry.asset_id, entry);
  const holds = (present: readonly RegistryEntry[], absent: readonly RegistryEntry[], next: number): boolean => {
    if (registry.next_asset_id !== next) return false;
    const presentIds = new Set<number>();
    for (const entry of present) {
      const held = byId.get(entry.asset_id);
      if (held === undefined || !sameEntry(held, entry)) return false;
      presentIds.add(entry.asset_id);
    }
    for (const entry of absent) if (!presentIds.has(entry.asset_id) && byId.has(entry.asset_id)) return false;
    return true;
  };
  if (isEmptyPatch(patch)) return 'neither';
  if (holds(patch.added, patch.removed, patch.nextAssetId.after)) return 'after';
  if (holds(patch.removed, patch.added, patch.nextAssetId.before)) return 'before';
  return 'neither';
}

/**
 * `registry` (on the side `side` of `patch`, see {@link patchSideOf}) taken to the other side: the entries the
 * patch names swapped, `next_asset_id` set, everything else kept, entries sorted by `asset_id`. Serialised
 * with {@link serializeRegistry}, a registry whose text was canonical gives exactly the text of the other side.
 */
export function applyRegistryPatch(
  registry: RegistryFile,
  patch: RegistryPatch,
  side: 'before' | 'after',
): RegistryFile {
  const drop = side === 'before' ? patch.removed : patch.added;
  const put = side === 'before' ? patch.added : patch.removed;
  const dropped = new Set(drop.map((entry) => entry.asset_id));
  const assets = registry.assets.filter((entry) => !dropped.has(entry.asset_id));
  assets.push(...put);
  assets.sort((a, b) => a.asset_id - b.asset_id);
  return {
    ...registry,
    assets,
    next_asset_id: side === 'before' ? patch.nextAssetId.after : patch.nextAssetId.before,
  };
}

/**
 * How a registry a plan made differs from the registry it was made from: the entries it removed and those it
 * added (an entry changed in place is in both, under the same `asset_id`). Recorded by the planner
 * ({@link noteRegistryEdit}), so that a commit's consumers (the registry check, the serialisation, the
 * snapshot's patch) look at what changed instead of walking both entry lists.
 */
export interface RegistryEdit {
  readonly removed: readonly RegistryEntry[];
  readonly added: readonly RegistryEntry[];
}

/** One recorded step: the registry it was made from and what changed. Registries are immutable, so it never goes stale. */
interface EditStep extends RegistryEdit {
  readonly base: RegistryFile;
}

const editSteps = new WeakMap<RegistryFile, EditStep>();

/** The most steps {@link registryEdit} follows back (a plan records one per entry it changes). */
const MAX_EDIT_STEPS = 64;

/**
 * Records that `registry` is `base` with `removed` taken out and `added` put in, every other entry the very
 * same object in the same relative order (and `added` placed by `asset_id` when `base` is sorted by it).
 * The caller guarantees that; nothing here checks it, so only the planner's own edits are recorded.
 */
export function noteRegistryEdit(
  base: RegistryFile,
  registry: RegistryFile,
  removed: readonly RegistryEntry[],
  added: readonly RegistryEntry[],
): void {
  editSteps.set(registry, { base, removed, added });
}

/**
 * What changed from `before` to `after`, when `after` was made from `before` by recorded edits
 * ({@link noteRegistryEdit}), composed; an empty edit when they are the same object; undefined otherwise
 * (then a caller walks both lists).
 */
export function registryEdit(before: RegistryFile, after: RegistryFile): RegistryEdit | undefined {
  if (before === after) return { removed: [], added: [] };
  const steps: EditStep[] = [];
  for (let at: RegistryFile = after; at !== before;) {
    const step = editSteps.get(at);
    if (step === undefined || steps.length >= MAX_EDIT_STEPS) return undefined;
    steps.push(step);
    at = step.base;
  }
  if (steps.length === 1) return steps[0]!;
  // Composed from the oldest step: an entry added by one step and removed by a later one was never there.
  const removed = new Set<RegistryEntry>();
  const added = new Set<RegistryEntry>();
  for (const step of steps.reverse()) {
    for (const entry of step.removed) if (!added.delete(entry)) removed.add(entry);
    for (const entry of step.added) if (!removed.delete(entry)) added.add(entry);
  }
  return { removed: [...removed], added: [...added] };
}

/** Entry lists known to be strictly increasing by `asset_id` (arrays are never changed once a registry holds them). */
const strictlySortedLists = new WeakSet<readonly RegistryEntry[]>();

/** The index of the first entry of `assets` (sorted by asset_id) whose asset_id is not below `id`. */
export function lowerBoundId(assets: readonly RegistryEntry[], id: number): number {
  let low = 0;
  let high = assets.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (assets[middle]!.asset_id < id) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Whether `registry`'s entries are strictly increasing by `asset_id`. Known at once (no walk) when it was
 * made by a recorded edit from a registry known to be: then only the neighbours of each added entry are
 * compared, because the kept entries keep their order. Remembered per entry list.
 */
export function strictlySorted(registry: RegistryFile): boolean {
  const assets = registry.assets;
  if (strictlySortedLists.has(assets)) return true;
  const step = editSteps.get(registry);
  let sorted: boolean;
  if (
    step !== undefined &&
    strictlySorted(step.base) &&
    assets.length === step.base.assets.length - step.removed.length + step.added.length
  ) {
    sorted = true;
    for (const entry of step.added) {
      const at = lowerBoundId(assets, entry.asset_id);
      if (
        assets[at] !== entry ||
        (at > 0 && assets[at - 1]!.asset_id >= entry.asset_id) ||
        (at + 1 < assets.length && assets[at + 1]!.asset_id <= entry.asset_id)
      ) {
        sorted = false;
        break;
      }
    }
    // A search in a list that is not sorted may miss: then the walk decides.
    if (!sorted) sorted = walkStrictlySorted(assets);
  } else sorted = walkStrictlySorted(assets);
  if (sorted) strictlySortedLists.add(assets);
  return sorted;
}

function walkStrictlySorted(assets: readonly RegistryEntry[]): boolean {
  for (let index = 1; index < assets.length; index++)
    if (assets[index - 1]!.asset_id >= assets[index]!.asset_id) return false;
  return true;
}
