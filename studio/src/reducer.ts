// The Studio reducer: `(state, message) → state`, remapping packer responses and events into view models.
import type { Diagnostic, PackerEvent } from '@prometeu/packer-protocol';
import { figure, type Figure } from './figures.js';
import { followPublished, navigatorOf, rootList, rowOf, wholeList } from './navigator.js';
import type {
  ErrorMessage,
  EventMessage,
  RequestMessage,
  ResponseMessage,
  ResponseOf,
  StudioMessage,
} from './messages.js';
import type {
  DetailsView,
  DiagnosticView,
  DivergedPath,
  DivergenceView,
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
    seen: [],
    epochIndex: 0,
    lastSequence: 0,
    reconciledRevision: 0,
    divergedPaths: [],
    divergedRoots: [],
    listed: null,
    readEpochs: { status: 0, details: 0, summary: 0 },
    requestCount: 0,
    derivedFrom: { operations: null, previews: null, divergedPaths: null, divergedRoots: null, navigator: null },
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
    seen: [],
    epochIndex: state.epoch === null || state.epoch === epoch ? state.epochIndex : state.epochIndex + 1,
    // Revisions of another server mean nothing here: the first answers of the new one set it again.
    revision: state.epoch === null || state.epoch === epoch ? state.revision : null,
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
    state.readEpochs.status === state.epochIndex &&
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
      readEpochs: { ...state.readEpochs, status: state.epochIndex },
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
  const filter = message.params.filter ?? {};
  const keys = Object.keys(filter);
  let listed: StudioState['listed'];
  if (keys.length === 0) listed = wholeList(state.listed, state.epochIndex, message.result);
  // A list filtered by root alone is the whole truth about that root: it replaces the row the navigator
  // asked for. Any other filter says nothing about the assets it leaves out.
  else if (keys.length === 1 && filter.rootPrefix !== undefined)
    listed = rootList(state.listed, state.navigator, filter.rootPrefix, message.result);
  else return state;
  if (listed === null || listed === state.listed) return state;
  return withRevision({ ...state, projectId: message.params.projectId, listed }, message.result.revision);
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
  if (
    state.details !== null &&
    state.readEpochs.details === state.epochIndex &&
    state.details.root === details.root &&
    state.details.revision > details.revision
  )
    return state;
  return withRevision(
    {
      ...state,
      details,
      selected: state.selected ?? details.root,
      readEpochs: { ...state.readEpochs, details: state.epochIndex },
    },
    result.revision,
  );
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
  if (
    state.pack.summary !== null &&
    state.readEpochs.summary === state.epochIndex &&
    state.pack.summary.revision > result.revision
  )
    return state;
  const source = (path: string): { from: string; path: string } => ({ from: 'packSummary', path: `result.${path}` });
  return withRevision(
    {
      ...state,
      readEpochs: { ...state.readEpochs, summary: state.epochIndex },
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
  if (event.kind === 'snapshot.published') {
    // The usual update, in one copy of the state: the sequence, the revision and the rows to read again.
    const body = event.body;
    next = {
      ...next,
      projectId: next.projectId ?? event.projectId,
      seen: withSeen(next.seen, event.sequence),
      lastSequence: Math.max(next.lastSequence, event.sequence),
      revision: next.revision !== null && next.revision >= body.revision ? next.revision : body.revision,
      listed: followPublished(next.listed, next.epochIndex, body),
    };
    if (event.operationId !== undefined) next = reduceOperationEvent(next, event, event.operationId);
    if (body.cause === 'reconcile') next = clearDivergence(next, body.revision);
    return derive(next);
  }
  next = {
    ...next,
    projectId: next.projectId ?? event.projectId,
    seen: withSeen(next.seen, event.sequence),
    lastSequence: Math.max(next.lastSequence, event.sequence),
  };
  if (event.operationId !== undefined) next = reduceOperationEvent(next, event, event.operationId);
  switch (event.kind) {
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
  const known = state.operations[operationId];
  const record = known ?? emptyRecord(operationId);
  // Sequences are comparable only within an epoch: the first epoch an operation was seen in keeps its place.
  const firstSequence =
    record.firstSequence === null || record.epochIndex !== state.epochIndex
      ? (record.firstSequence ?? event.sequence)
      : Math.min(record.firstSequence, event.sequence);
  const epochIndex = record.epochIndex ?? state.epochIndex;
  if (
    known !== undefined &&
    firstSequence === known.firstSequence &&
    epochIndex === known.epochIndex &&
    !event.kind.startsWith('operation.')
  )
    // An event an operation caused that is not one of its lifecycle events (a `snapshot.published`) changes
    // nothing in a record whose place in the feed is already known: the operations, so the feed and the
    // cards, stay the very same objects.
    return state;
  let updated: OperationRecord = { ...record, firstSequence, epochIndex };
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

/**
 * Recomputes the derived views (navigator marks, banner, feed, cards) from the kept packer data; a view
 * whose inputs are the ones it was last derived from (`derivedFrom`) is kept as it is.
 */
function derive(state: StudioState): StudioState {
  const from = state.derivedFrom;
  const divergence =
    from.divergedPaths === state.divergedPaths && from.divergedRoots === state.divergedRoots
      ? state.divergence
      : divergenceOf(state);
  const build = navigatorOf(state, divergence, from.navigator);
  const activity =
    from.operations === state.operations
      ? state.activity
      : Object.values(state.operations)
          .map(operationView)
          .sort(
            (a, b) =>
              orderKey(state, a) - orderKey(state, b) ||
              (a.operationId < b.operationId ? -1 : a.operationId > b.operationId ? 1 : 0),
          );
  let previews = state.previews;
  if (from.previews !== state.previews || activity !== state.activity) {
    const byId = new Map(activity.map((view) => [view.operationId, view]));
    previews = state.previews.map((card) =>
      previewWithStatus(card, card.applyOperationId === null ? undefined : byId.get(card.applyOperationId)),
    );
  }
  const stale = state.details !== null && state.revision !== null && state.revision > state.details.revision;
  const details = state.details === null || state.details.stale === stale ? state.details : { ...state.details, stale };
  const navigator = build?.view ?? null;
  if (
    divergence === state.divergence &&
    navigator === state.navigator &&
    activity === state.activity &&
    previews === state.previews &&
    details === state.details &&
    from.operations === state.operations &&
    from.previews === previews &&
    from.divergedPaths === state.divergedPaths &&
    from.divergedRoots === state.divergedRoots &&
    from.navigator === build
  )
    // Every derived view is the one the state already holds: no copy.
    return state;
  // Every field named, in the order of `initialState`: states made here (after nearly every message) share one
  // shape, so the copies the reducers make of them stay fast (a spread of states of many shapes is not).
  return {
    connection: state.connection,
    epoch: state.epoch,
    projectId: state.projectId,
    revision: state.revision,
    project: state.project,
    navigator,
    selected: state.selected,
    details,
    previews,
    operations: state.operations,
    activity,
    divergence,
    pack: state.pack,
    seen: state.seen,
    epochIndex: state.epochIndex,
    lastSequence: state.lastSequence,
    reconciledRevision: state.reconciledRevision,
    divergedPaths: state.divergedPaths,
    divergedRoots: state.divergedRoots,
    listed: state.listed,
    readEpochs: state.readEpochs,
    requestCount: state.requestCount,
    derivedFrom: {
      operations: state.operations,
      previews,
      divergedPaths: state.divergedPaths,
      divergedRoots: state.divergedRoots,
      navigator: build,
    },
  };
}

/** The banner: the kept divergence data, or null when there is none. */
function divergenceOf(state: StudioState): DivergenceView | null {
  if (state.divergedPaths.length === 0 && state.divergedRoots.length === 0) return null;
  return {
    changes: state.divergedPaths,
    roots: [...new Set(state.divergedRoots.map((entry) => entry.root))].sort(),
    sinceRevision: Math.min(
      ...state.divergedPaths.map((entry) => entry.revision),
      ...state.divergedRoots.map((entry) => entry.revision),
    ),
  };
}

function orderKey(state: StudioState, view: OperationView): number {
  const epochIndex = state.operations[view.operationId]?.epochIndex ?? null;
  if (view.firstSequence !== null && epochIndex !== null) return epochIndex * 2 ** 32 + view.firstSequence;
  // An operation heard of only by its request or response comes after every event, in request order.
  return 2 ** 52 + (state.operations[view.operationId]?.requestOrder ?? 0);
}

/** Whether `sequence` was already reduced in the current epoch. */
export function hasSeen(seen: StudioState['seen'], sequence: number): boolean {
  let low = 0;
  let high = seen.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const [first, last] = seen[middle]!;
    if (sequence < first) high = middle - 1;
    else if (sequence > last) low = middle + 1;
    else return true;
  }
  return false;
}

/** Records `sequence` (not seen yet): widens the range it touches, joins two it bridges, or adds one. */
function withSeen(seen: StudioState['seen'], sequence: number): StudioState['seen'] {
  const tail = seen.at(-1);
  if (tail !== undefined && sequence === tail[1] + 1) {
    // The common case, the next sequence: widen the last range in a copy (there are few ranges).
    const widened = seen.slice();
    widened[widened.length - 1] = [tail[0], sequence];
    return widened;
  }
  let index = 0;
  while (index < seen.length && seen[index]![1] < sequence) index++;
  const before = index > 0 ? seen[index - 1]! : undefined;
  const after = index < seen.length ? seen[index]! : undefined;
  const joinsBefore = before !== undefined && before[1] === sequence - 1;
  const joinsAfter = after !== undefined && after[0] === sequence + 1;
  const first = joinsBefore ? before[0] : sequence;
  const last = joinsAfter ? after[1] : sequence;
  return [
    ...seen.slice(0, joinsBefore ? index - 1 : index),
    [first, last],
    ...seen.slice(joinsAfter ? index + 1 : index),
  ];
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
