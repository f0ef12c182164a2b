// The Studio reducer: `(state, message) → state`, remapping packer responses and events into view models.
import type { AssetSummary, Diagnostic, PackerEvent } from '@prometeu/packer-protocol';
import { figure, type Figure } from './figures.js';
import type {
  ErrorMessage,
  EventMessage,
  RequestMessage,
  ResponseMessage,
  ResponseOf,
  StudioMessage,
} from './messages.js';
import type {
  AssetRow,
  DetailsView,
  DiagnosticView,
  DivergedPath,
  DivergenceView,
  FolderGroup,
  NavigatorView,
  OperationRecord,
  OperationStatus,
  OperationView,
  OutcomeView,
  PreviewCard,
  PreviewStatus,
  ProjectView,
  StudioState,
} from './views.js';

/** The state before any message: connecting, nothing known. */
export function initialState(): StudioState {
  return {
    connection: { state: 'connecting', reason: null, disconnects: 0 },
    epoch: null,
    projectId: null,
    revision: null,
    project: null,
    navigator: null,
    selected: null,
    details: null,
    previews: [],
    operations: {},
    activity: [],
    divergence: null,
    pack: { summary: null, operationId: null },
    seen: {},
    epochIndex: 0,
    lastSequence: 0,
    reconciledRevision: 0,
    divergedPaths: [],
    divergedRoots: [],
    listed: null,
    requestCount: 0,
  };
}

/** Reduces a whole log from the initial state (or from `state`). */
export function reduceAll(messages: Iterable<StudioMessage>, state: StudioState = initialState()): StudioState {
  let current = state;
  for (const message of messages) current = reduce(current, message);
  return current;
}

/**
 * The reducer. Pure: the same state and message always give the same state, and a message it cannot use
 * (an event of another project, a duplicate sequence) returns the state unchanged.
 */
export function reduce(state: StudioState, message: StudioMessage): StudioState {
  switch (message.type) {
    case 'connection':
      return reduceConnection(state, message.state, message.reason);
    case 'resync':
      return derive(forgetEvents(state, message.epoch, 'restart'));
    case 'select':
      return derive({
        ...state,
        selected: message.root,
        details: state.details?.root === message.root ? state.details : null,
      });
    case 'dismissPreview':
      return { ...state, previews: state.previews.filter((card) => card.previewId !== message.previewId) };
    case 'request':
      return derive(reduceRequest(state, message));
    case 'response':
      return derive(reduceResponse(state, message));
    case 'error':
      return derive(reduceError(state, message));
    case 'event':
      return reduceEvent(state, message);
  }
}

function reduceConnection(
  state: StudioState,
  connection: 'connecting' | 'connected' | 'disconnected',
  reason?: string,
): StudioState {
  const disconnects =
    state.connection.disconnects + (connection === 'disconnected' && state.connection.state !== 'disconnected' ? 1 : 0);
  let operations = state.operations;
  if (connection === 'disconnected') {
    // Nothing is concluded about an operation whose outcome did not arrive: it becomes `unknown` until a replay says.
    operations = mapRecords(operations, (record) => (ended(record) ? record : { ...record, lost: 'connection' }));
  }
  return derive({
    ...state,
    operations,
    connection: {
      state: connection,
      reason: reason ?? (connection === 'disconnected' ? state.connection.reason : null),
      disconnects,
    },
  });
}

/** A new epoch or dropped events: forget everything derived from events; reads will be sent again. */
function forgetEvents(state: StudioState, epoch: string, lost: 'restart'): StudioState {
  return {
    ...state,
    epoch,
    seen: {},
    epochIndex: state.epoch === null || state.epoch === epoch ? state.epochIndex : state.epochIndex + 1,
    lastSequence: 0,
    operations: mapRecords(state.operations, (record) => (ended(record) ? record : { ...record, lost })),
  };
}

function reduceRequest(state: StudioState, message: RequestMessage): StudioState {
  const params = message.params as Record<string, unknown> | undefined;
  const operationId = typeof params?.['operationId'] === 'string' ? params['operationId'] : undefined;
  const requestCount = state.requestCount + 1;
  if (operationId === undefined) return { ...state, requestCount };
  const record = state.operations[operationId] ?? emptyRecord(operationId);
  let next: StudioState = {
    ...state,
    requestCount,
    operations: {
      ...state.operations,
      [operationId]: {
        ...record,
        method: message.method,
        requestOrder: record.requestOrder ?? requestCount,
        lost: null,
      },
    },
  };
  if (message.method === 'pack') next = { ...next, pack: { ...next.pack, operationId } };
  if (message.method === 'applyMutation' && typeof params?.['previewId'] === 'string') {
    const previewId = params['previewId'];
    next = {
      ...next,
      previews: next.previews.map((card) =>
        card.previewId === previewId ? { ...card, applyOperationId: operationId } : card,
      ),
    };
  }
  return next;
}

function reduceResponse(state: StudioState, message: ResponseMessage): StudioState {
  switch (message.method) {
    case 'openProject':
    case 'projectStatus':
      return reduceStatus(state, message as ResponseOf<'projectStatus'>);
    case 'listAssets':
      return reduceList(state, message);
    case 'getAssetDetails':
      return reduceDetails(state, message);
    case 'previewMutation':
      return reducePreview(state, message);
    case 'packSummary':
      return reducePackSummary(state, message);
    case 'events':
      return reduceReplay(state, message);
    case 'applyMutation':
    case 'reconcile':
    case 'pack':
    case 'initWorkspace': {
      const result = message.result as unknown as Record<string, unknown>;
      let next = linkPreview(withResponse(state, message.method, result), result, String(result['operationId']));
      if (message.method === 'reconcile') next = clearDivergence(next, message.result.revision);
      if (message.method === 'pack')
        next = { ...next, pack: { ...next.pack, operationId: message.result.operationId } };
      return withRevision(next, typeof result['revision'] === 'number' ? result['revision'] : null);
    }
    case 'closeProject':
    case 'doctor':
    case 'listQuarantine':
      return state;
  }
}

function reduceError(state: StudioState, message: ErrorMessage): StudioState {
  const params = message.params as Record<string, unknown> | undefined;
  const operationId = typeof params?.['operationId'] === 'string' ? params['operationId'] : undefined;
  if (message.method === 'getAssetDetails') {
    // The packer says the asset it was asked about is not there (any more): stop showing its old details.
    const asset = params?.['asset'] as { root?: string } | undefined;
    return asset?.root !== undefined && asset.root === state.details?.root
      ? derive({ ...state, details: null })
      : state;
  }
  if (operationId === undefined) return state;
  const record = state.operations[operationId] ?? emptyRecord(operationId);
  return {
    ...state,
    operations: {
      ...state.operations,
      [operationId]: {
        ...record,
        response: { kind: 'error', code: message.error.code, message: message.error.message },
      },
    },
  };
}

function withResponse(state: StudioState, method: string, result: Record<string, unknown>): StudioState {
  const operationId = String(result['operationId']);
  const record = state.operations[operationId] ?? emptyRecord(operationId);
  return {
    ...state,
    operations: {
      ...state.operations,
      [operationId]: {
        ...record,
        method: record.method ?? method,
        response: { kind: 'result', result, method },
        lost: null,
      },
    },
  };
}

function withRevision(state: StudioState, revision: number | null): StudioState {
  if (revision === null || (state.revision !== null && state.revision >= revision)) return state;
  return { ...state, revision };
}

function reduceStatus(state: StudioState, message: ResponseOf<'projectStatus'>): StudioState {
  const status = message.result;
  if (
    state.project !== null &&
    state.project.projectId === status.projectId &&
    state.project.revision > status.revision
  )
    return state;
  const project: ProjectView = {
    projectId: status.projectId,
    rootUri: status.rootUri,
    revision: status.revision,
    state: status.state,
    watching: status.watching.state,
    writer: status.writer,
    running: status.writerLane.running,
    figures: (
      [
        ['Roots', 'counts.roots'],
        ['Registered', 'counts.registered'],
        ['Unregistered', 'counts.unregistered'],
        ['Missing', 'counts.missing'],
        ['In build', 'counts.includedInBuild'],
        ['Errors', 'counts.errors'],
        ['Warnings', 'counts.warnings'],
        ['Blocking', 'counts.blocking'],
        ['Queued writes', 'writerLane.queued'],
      ] as const
    ).map(([label, path]) => figure(label, message, { from: message.method, path: `result.${path}` })),
  };
  // The status is a read of the live divergence: it replaces what events said up to its revision.
  const since = status.divergence.sinceRevision ?? status.revision;
  const kept = state.divergedPaths.filter((entry) => entry.revision > status.revision);
  const fromStatus: DivergedPath[] = status.divergence.diverged
    ? status.divergence.changes.map((change) => ({
        path: change.path,
        change: change.change,
        from: change.from ?? null,
        revision: since,
      }))
    : [];
  return withRevision(
    {
      ...state,
      projectId: status.projectId,
      project,
      divergedPaths: mergePaths(kept, fromStatus),
      // The status names paths, not roots: the roots events named stay while the status still says diverged.
      divergedRoots: state.divergedRoots.filter((entry) =>
        status.divergence.diverged ? entry.revision >= since : entry.revision > status.revision,
      ),
    },
    status.revision,
  );
}

function reduceList(state: StudioState, message: ResponseOf<'listAssets'>): StudioState {
  if (state.listed !== null && state.listed.revision > message.result.revision) return state;
  // Only a full list is the navigator; a filtered one says nothing about the assets it leaves out.
  if (message.params.filter !== undefined && Object.keys(message.params.filter).length > 0) return state;
  return withRevision(
    {
      ...state,
      projectId: message.params.projectId,
      listed: { revision: message.result.revision, assets: message.result.assets },
      navigator: null,
    },
    message.result.revision,
  );
}

function reduceDetails(state: StudioState, message: ResponseOf<'getAssetDetails'>): StudioState {
  const result = message.result;
  const details: DetailsView = {
    revision: result.revision,
    root: result.asset.root,
    row: rowOf(result.asset, false),
    declarationPath: result.declarationPath,
    inputs: result.inputs,
    output: result.output,
    preload: result.preload === null ? null : result.preload.enabled,
    files: result.files,
    diagnostics: result.diagnostics.map(diagnosticView),
    figures: [
      figure('Diagnostics', message, { from: 'getAssetDetails', path: 'result.diagnostics.length' }),
      figure('Files', message, { from: 'getAssetDetails', path: 'result.files.length' }),
      figure('Inputs', message, { from: 'getAssetDetails', path: 'result.inputs.length' }),
    ],
    stale: false,
  };
  if (state.details !== null && state.details.root === details.root && state.details.revision > details.revision)
    return state;
  return withRevision({ ...state, details, selected: state.selected ?? details.root }, result.revision);
}

function reducePreview(state: StudioState, message: ResponseOf<'previewMutation'>): StudioState {
  const preview = message.result;
  const source = (path: string): { from: string; path: string } => ({
    from: 'previewMutation',
    path: `result.${path}`,
  });
  const card: PreviewCard = {
    previewId: preview.previewId,
    projectId: preview.projectId,
    baseRevision: preview.baseRevision,
    mutation: preview.mutation,
    operationClass: preview.operationClass,
    blockers: preview.blockers,
    warnings: preview.warnings,
    safeFixes: preview.safeFixes,
    registryChanges: preview.registryChanges,
    filesystemChanges: preview.filesystemChanges,
    affectedAssets: preview.affectedAssets,
    requiresConsent: preview.requiresConsent,
    applicable: preview.blockers.length === 0,
    figures: [
      figure('Blockers', message, source('blockers.length')),
      figure('Warnings', message, source('warnings.length')),
      figure('Registry changes', message, source('registryChanges.length')),
      figure('File changes', message, source('filesystemChanges.length')),
      figure('Requires consent', message, source('requiresConsent')),
    ],
    applyOperationId: null,
    status: 'open',
    reasons: [],
  };
  const others = state.previews.filter((existing) => existing.previewId !== card.previewId);
  return withRevision({ ...state, previews: [...others, card] }, preview.baseRevision);
}

function reducePackSummary(state: StudioState, message: ResponseOf<'packSummary'>): StudioState {
  const result = message.result;
  if (state.pack.summary !== null && state.pack.summary.revision > result.revision) return state;
  const source = (path: string): { from: string; path: string } => ({ from: 'packSummary', path: `result.${path}` });
  return withRevision(
    {
      ...state,
      pack: {
        ...state.pack,
        summary: {
          revision: result.revision,
          canPack: figure('Can pack', message, source('canPack')),
          buildSet: result.buildSet,
          blockers: result.blockers.map(diagnosticView),
          figures: [
            figure('In build set', message, source('buildSet.length')),
            figure('Blockers', message, source('blockers.length')),
            figure('Excluded', message, source('excluded.length')),
          ],
        },
      },
    },
    result.revision,
  );
}

/** A `packer/events` answer: the replayed events, reduced one by one (duplicates change nothing). */
function reduceReplay(state: StudioState, message: ResponseOf<'events'>): StudioState {
  let next = state;
  if (next.epoch !== null && next.epoch !== message.result.epoch)
    next = forgetEvents(next, message.result.epoch, 'restart');
  if (message.result.dropped) next = forgetEvents(next, message.result.epoch, 'restart');
  for (const event of message.result.events) next = reduceEvent(next, { type: 'event', event });
  return next;
}

function reduceEvent(state: StudioState, message: EventMessage): StudioState {
  const event = message.event;
  if (state.projectId !== null && event.projectId !== state.projectId) return state;
  let next = state;
  if (next.epoch !== event.epoch)
    next = next.epoch === null ? { ...next, epoch: event.epoch } : forgetEvents(next, event.epoch, 'restart');
  if (hasSeen(next.seen, event.sequence)) return state;
  next = {
    ...next,
    projectId: next.projectId ?? event.projectId,
    seen: withSeen(next.seen, event.sequence),
    lastSequence: Math.max(next.lastSequence, event.sequence),
  };
  if (event.operationId !== undefined) next = reduceOperationEvent(next, event, event.operationId);
  switch (event.kind) {
    case 'snapshot.published':
      next = withRevision(next, event.body.revision);
      if (event.body.cause === 'reconcile') next = clearDivergence(next, event.body.revision);
      break;
    case 'divergence.detected':
      if (event.body.revision >= next.reconciledRevision) {
        const changes = event.body.changes.map((change) => ({
          path: change.path,
          change: change.change,
          from: change.from ?? null,
          revision: event.body.revision,
        }));
        const roots = event.body.assets.flatMap((asset) =>
          'root' in asset ? [{ root: asset.root, revision: event.body.revision }] : [],
        );
        next = {
          ...next,
          divergedPaths: mergePaths(next.divergedPaths, changes),
          divergedRoots: [
            ...next.divergedRoots.filter((entry) => !roots.some((root) => root.root === entry.root)),
            ...roots,
          ],
        };
      }
      break;
    case 'watch.stateChanged':
      if (next.project !== null) next = { ...next, project: { ...next.project, watching: event.body.state } };
      break;
    case 'project.stateChanged':
      if (next.project !== null) next = { ...next, project: { ...next.project, state: event.body.state } };
      break;
    case 'diagnostics.changed':
    case 'operation.queued':
    case 'operation.started':
    case 'operation.progress':
    case 'operation.succeeded':
    case 'operation.failed':
    case 'operation.cancelled':
      // Operation events were reduced above; diagnostics reach the views through the reads they make stale.
      break;
  }
  return derive(next);
}

function reduceOperationEvent(state: StudioState, event: PackerEvent, operationId: string): StudioState {
  const record = state.operations[operationId] ?? emptyRecord(operationId);
  let updated: OperationRecord = {
    ...record,
    // Sequences are comparable only within an epoch: the first epoch an operation was seen in keeps its place.
    firstSequence:
      record.firstSequence === null || record.epochIndex !== state.epochIndex
        ? (record.firstSequence ?? event.sequence)
        : Math.min(record.firstSequence, event.sequence),
    epochIndex: record.epochIndex ?? state.epochIndex,
  };
  switch (event.kind) {
    case 'operation.queued':
      updated = {
        ...updated,
        queued: event.sequence,
        operation: event.body.operation,
        operationClass: event.body.operationClass,
      };
      break;
    case 'operation.started':
      updated = {
        ...updated,
        started: event.sequence,
        operation: event.body.operation,
        operationClass: event.body.operationClass,
      };
      break;
    case 'operation.progress':
      // The newest progress wins, by sequence, whatever order they arrive in.
      if (updated.progress === null || updated.progress.sequence < event.sequence)
        updated = {
          ...updated,
          progress: {
            sequence: event.sequence,
            done: event.body.done,
            total: event.body.total ?? null,
            unit: event.body.unit ?? null,
            message: event.body.message ?? null,
            merged: event.body.merged ?? null,
          },
        };
      break;
    case 'operation.succeeded':
    case 'operation.failed':
    case 'operation.cancelled':
      updated = {
        ...updated,
        terminal: event,
        operation: event.body.operation,
        operationClass: event.body.operationClass,
        lost: null,
      };
      break;
    case 'snapshot.published':
    case 'divergence.detected':
    case 'watch.stateChanged':
    case 'diagnostics.changed':
    case 'project.stateChanged':
      break;
  }
  let next: StudioState = { ...state, operations: { ...state.operations, [operationId]: updated } };
  if (
    updated.operation === 'pack' &&
    (next.pack.operationId === null || isLater(next, operationId, next.pack.operationId))
  )
    next = { ...next, pack: { ...next.pack, operationId } };
  if (event.kind === 'operation.succeeded' || event.kind === 'operation.failed')
    next = linkPreview(next, event.body.outcome, operationId);
  if (event.kind === 'operation.succeeded' && event.body.operation === 'reconcile' && event.body.revision !== undefined)
    next = clearDivergence(next, event.body.revision);
  return next;
}

/** Links the card of the preview an apply's outcome names (`outcome.preview.previewId`) to that apply. */
function linkPreview(state: StudioState, outcome: Record<string, unknown>, operationId: string): StudioState {
  const preview = outcome['preview'] as { previewId?: unknown } | null | undefined;
  const previewId = typeof preview?.previewId === 'string' ? preview.previewId : undefined;
  if (previewId === undefined) return state;
  if (!state.previews.some((card) => card.previewId === previewId && card.applyOperationId !== operationId))
    return state;
  return {
    ...state,
    previews: state.previews.map((card) =>
      card.previewId === previewId ? { ...card, applyOperationId: operationId } : card,
    ),
  };
}

/** Whether operation `a` began after operation `b` in the event order. */
function isLater(state: StudioState, a: string, b: string): boolean {
  const first = state.operations[a]?.firstSequence ?? null;
  const second = state.operations[b]?.firstSequence ?? null;
  if (first === null) return false;
  if (second === null)
    return state.operations[b]?.requestOrder === null || state.operations[b]?.requestOrder === undefined;
  return first > second;
}

function clearDivergence(state: StudioState, revision: number): StudioState {
  const reconciledRevision = Math.max(state.reconciledRevision, revision);
  return {
    ...state,
    reconciledRevision,
    divergedPaths: state.divergedPaths.filter((entry) => entry.revision >= reconciledRevision),
    divergedRoots: state.divergedRoots.filter((entry) => entry.revision >= reconciledRevision),
  };
}

function mergePaths(base: readonly DivergedPath[], added: readonly DivergedPath[]): DivergedPath[] {
  const byPath = new Map<string, DivergedPath>();
  for (const entry of [...base, ...added]) byPath.set(entry.path, entry);
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function emptyRecord(operationId: string): OperationRecord {
  return {
    operationId,
    method: null,
    operation: null,
    operationClass: null,
    requestOrder: null,
    queued: null,
    started: null,
    progress: null,
    terminal: null,
    response: null,
    firstSequence: null,
    epochIndex: null,
    lost: null,
  };
}

function ended(record: OperationRecord): boolean {
  return record.terminal !== null || record.response !== null;
}

function mapRecords(
  records: Readonly<Record<string, OperationRecord>>,
  map: (record: OperationRecord) => OperationRecord,
): Record<string, OperationRecord> {
  const result: Record<string, OperationRecord> = {};
  for (const [id, record] of Object.entries(records)) result[id] = map(record);
  return result;
}

/** Recomputes the derived views (navigator marks, banner, feed, cards) from the kept packer data. */
function derive(state: StudioState): StudioState {
  const divergence: DivergenceView | null =
    state.divergedPaths.length === 0 && state.divergedRoots.length === 0
      ? null
      : {
          changes: state.divergedPaths,
          roots: [...new Set(state.divergedRoots.map((entry) => entry.root))].sort(),
          sinceRevision: Math.min(
            ...state.divergedPaths.map((entry) => entry.revision),
            ...state.divergedRoots.map((entry) => entry.revision),
          ),
        };
  const navigator = state.listed === null ? null : cachedNavigator(state, divergence);
  const activity = Object.values(state.operations)
    .map(operationView)
    .sort(
      (a, b) =>
        orderKey(state, a) - orderKey(state, b) ||
        (a.operationId < b.operationId ? -1 : a.operationId > b.operationId ? 1 : 0),
    );
  const byId = new Map(activity.map((view) => [view.operationId, view]));
  const previews = state.previews.map((card) =>
    previewWithStatus(card, card.applyOperationId === null ? undefined : byId.get(card.applyOperationId)),
  );
  const details =
    state.details === null
      ? null
      : { ...state.details, stale: state.revision !== null && state.revision > state.details.revision };
  return { ...state, divergence, navigator, activity, previews, details };
}

function orderKey(state: StudioState, view: OperationView): number {
  const epochIndex = state.operations[view.operationId]?.epochIndex ?? null;
  if (view.firstSequence !== null && epochIndex !== null) return epochIndex * 2 ** 32 + view.firstSequence;
  // An operation heard of only by its request or response comes after every event, in request order.
  return 2 ** 52 + (state.operations[view.operationId]?.requestOrder ?? 0);
}

/**
 * The navigator rows depend only on the list and the divergence data, so they are rebuilt only when one of
 * those changed (a memo of a pure function: events that touch neither cost nothing on a 10k-asset list).
 */
const navigatorCache = new WeakMap<
  object,
  { paths: readonly DivergedPath[]; roots: StudioState['divergedRoots']; view: NavigatorView }
>();
function cachedNavigator(state: StudioState, divergence: DivergenceView | null): NavigatorView {
  const listed = state.listed!;
  const cached = navigatorCache.get(listed);
  const stale = state.revision !== null && state.revision > listed.revision;
  if (cached !== undefined && cached.paths === state.divergedPaths && cached.roots === state.divergedRoots)
    return cached.view.stale === stale ? cached.view : { ...cached.view, stale };
  const view = navigatorView(state, divergence);
  navigatorCache.set(listed, { paths: state.divergedPaths, roots: state.divergedRoots, view });
  return view;
}

/** Sequences are kept in chunks of this many, so recording one copies a chunk, not the whole set. */
const SEEN_CHUNK = 512;

/** Whether `sequence` was already reduced in the current epoch. */
export function hasSeen(seen: StudioState['seen'], sequence: number): boolean {
  return seen[Math.floor(sequence / SEEN_CHUNK)]?.[sequence] === true;
}

function withSeen(seen: StudioState['seen'], sequence: number): StudioState['seen'] {
  const chunk = Math.floor(sequence / SEEN_CHUNK);
  return { ...seen, [chunk]: { ...seen[chunk], [sequence]: true } };
}

function navigatorView(state: StudioState, divergence: DivergenceView | null): NavigatorView {
  const listed = state.listed!;
  const divergedRoots = new Set(divergence?.roots ?? []);
  const changedPaths = divergence?.changes.map((change) => change.path) ?? [];
  const touches = (root: string): boolean =>
    divergedRoots.has(root) || changedPaths.some((path) => path === root || path.startsWith(`${root}/`));
  const rows = listed.assets.map((asset) => rowOf(asset, touches(asset.root)));
  const groups = new Map<string, AssetRow[]>();
  for (const row of rows) {
    const group = groups.get(row.folder);
    if (group === undefined) groups.set(row.folder, [row]);
    else group.push(row);
  }
  const folders: FolderGroup[] = [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([folder, folderRows]) => ({ folder, rows: folderRows }));
  const total: Figure = {
    label: 'Assets',
    value: listed.assets.length,
    source: { from: 'listAssets', path: 'result.assets.length' },
  };
  return {
    revision: listed.revision,
    rows,
    folders,
    total,
    stale: state.revision !== null && state.revision > listed.revision,
  };
}

function rowOf(asset: AssetSummary, diverged: boolean): AssetRow {
  const slash = asset.root.lastIndexOf('/');
  return {
    key: asset.assetUuid ?? `root:${asset.root}`,
    root: asset.root,
    folder: slash < 0 ? '' : asset.root.slice(0, slash),
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

/** A diagnostic as displayed. */
export function diagnosticView(diagnostic: Diagnostic): DiagnosticView {
  return {
    code: diagnostic.code,
    severity: diagnostic.severity,
    blocking: diagnostic.blocking,
    message: diagnostic.message,
    root: diagnostic.root ?? null,
    path: diagnostic.path ?? null,
    safeFix:
      diagnostic.safeFix === undefined
        ? null
        : { fixId: diagnostic.safeFix.fixId, title: diagnostic.safeFix.title, mutation: diagnostic.safeFix.mutation },
  };
}

/** The feed entry of one operation: its status comes only from its terminal event, its response, or its lifecycle events. */
export function operationView(record: OperationRecord): OperationView {
  let status: OperationStatus;
  let statusFrom: string;
  let outcome: OutcomeView | null = null;
  const operation = record.operation ?? record.method;
  if (record.terminal !== null) {
    const terminal = record.terminal;
    status =
      terminal.kind === 'operation.succeeded'
        ? 'succeeded'
        : terminal.kind === 'operation.failed'
          ? 'failed'
          : 'cancelled';
    statusFrom = `event ${terminal.sequence} ${terminal.kind}`;
    if (terminal.kind !== 'operation.cancelled')
      outcome = outcomeView(
        operation,
        { event: terminal },
        'event.body.outcome',
        { from: 'event', sequence: terminal.sequence },
        terminal.body.outcome,
        status,
      );
  } else if (record.response !== null) {
    const response = record.response;
    if (response.kind === 'error') {
      status = response.code === -32800 ? 'cancelled' : 'failed';
      statusFrom = `error response ${response.code}`;
    } else {
      status = statusOfResult(response.method, response.result);
      statusFrom = 'response';
      outcome = outcomeView(
        operation,
        { result: response.result },
        'result',
        { from: response.method, operationId: record.operationId },
        response.result,
        status,
      );
    }
  } else if (record.lost !== null) {
    status = 'unknown';
    statusFrom =
      record.lost === 'connection'
        ? 'connection lost before its outcome arrived'
        : 'the server restarted before its outcome arrived';
  } else if (record.started !== null) {
    status = 'running';
    statusFrom = `event ${record.started} operation.started`;
  } else if (record.queued !== null) {
    status = 'queued';
    statusFrom = `event ${record.queued} operation.queued`;
  } else {
    status = 'sent';
    statusFrom = 'request sent';
  }
  return {
    operationId: record.operationId,
    operation,
    operationClass: record.operationClass,
    status,
    statusFrom,
    progress: record.progress,
    outcome,
    terminal: record.terminal === null ? null : { kind: record.terminal.kind, sequence: record.terminal.sequence },
    firstSequence: record.firstSequence,
  };
}

/** The status a write's response states, by its own `outcome` field: the response agrees with the terminal event. */
function statusOfResult(method: string, result: Record<string, unknown>): OperationStatus {
  const outcome = result['outcome'];
  if (method === 'applyMutation') return outcome === 'applied' ? 'succeeded' : 'failed';
  if (method === 'pack') return outcome === 'succeeded' ? 'succeeded' : 'failed';
  return 'succeeded';
}

function outcomeView(
  operation: string | null,
  message: unknown,
  prefix: string,
  origin: { from: string; sequence?: number; operationId?: string },
  body: Record<string, unknown>,
  fallback: string,
): OutcomeView {
  const at = (path: string): { from: string; path: string; sequence?: number; operationId?: string } => ({
    ...origin,
    path: `${prefix}.${path}`,
  });
  const from = origin.from === 'event' ? `event ${origin.sequence}` : 'response';
  const outcome = typeof body['outcome'] === 'string' ? body['outcome'] : fallback;
  const figures: Figure[] = [];
  const reasons: string[] = [];
  let artifacts: OutcomeView['artifacts'] = [];
  let blockers: DiagnosticView[] = [];
  if ('revision' in body) figures.push(figure('Revision', message, at('revision')));
  if (operation === 'applyMutation') {
    for (const reason of (body['reasons'] as { message: string }[] | undefined) ?? []) reasons.push(reason.message);
  } else if (operation === 'pack') {
    figures.push(
      figure('Artifacts', message, at('artifacts.length')),
      figure('Assets packed', message, at('assets.length')),
      figure('Materialized', message, at('materialized')),
      figure('From cache', message, at('fromCache')),
    );
    if (typeof body['reason'] === 'string') reasons.push(body['reason']);
    artifacts = ((body['artifacts'] as OutcomeView['artifacts'] | undefined) ?? []).map((artifact) => ({
      name: artifact.name,
      path: artifact.path,
      size: artifact.size,
      sha256: artifact.sha256,
    }));
    blockers = ((body['blockers'] as Diagnostic[] | undefined) ?? []).map(diagnosticView);
  } else if (operation === 'reconcile') {
    figures.push(
      figure('Accepted changes', message, at('clearedChanges')),
      figure('Added', message, at('diff.added.length')),
      figure('Removed', message, at('diff.removed.length')),
      figure('Moved', message, at('diff.moved.length')),
      figure('Changed', message, at('diff.changed.length')),
    );
  }
  return { outcome, reasons, figures, artifacts, blockers, from };
}

function previewWithStatus(card: PreviewCard, operation: OperationView | undefined): PreviewCard {
  let status: PreviewStatus = 'open';
  let reasons: readonly string[] = [];
  if (operation !== undefined) {
    if (operation.status === 'succeeded') status = 'applied';
    else if (operation.status === 'failed' || operation.status === 'cancelled') {
      status = 'rejected';
      reasons = operation.outcome?.reasons ?? [];
    } else if (operation.status === 'unknown') status = 'unknown';
    else status = 'applying';
  }
  if (status === card.status && reasons.length === card.reasons.length) return card;
  return { ...card, status, reasons };
}
