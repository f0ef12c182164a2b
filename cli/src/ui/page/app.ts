/**
 * The packer panel in the browser: a packer client over the relay's WebSocket whose every request, response
 * and event goes through the Studio adapter's reducer; the DOM is rendered from the reducer's state only.
 */
import 'vscode-jsonrpc/browser';
import {
  PackerConnection,
  PackerRequestError,
  WebSocketMessageReader,
  WebSocketMessageWriter,
} from '@prometeu/packer-client/connection';
import { packerRequests, type MutationIntent, type ParamsOf, type ResultOf } from '@prometeu/packer-protocol';
import {
  applyParamsFor,
  formatBytes,
  formatProgress,
  initialState,
  navigatorReads,
  progressFraction,
  reduce,
  shortHash,
  type OperationView,
  type PreviewCard,
  type RequestName,
  type StudioMessage,
  type StudioState,
} from '@prometeu/packer-studio-adapter';
import { displayNavigator, type DisplayFolder, type DisplayRow } from '../navigator-rows.js';

type Requests = typeof packerRequests;

const token = new URLSearchParams(location.search).get('token') ?? '';
const projectUri = document.querySelector<HTMLMetaElement>('meta[name="packer-project"]')?.content ?? '';

let state: StudioState = initialState();
/** Every message fed to the reducer, in order: the page's whole input (tests read it to check nothing was invented). */
const log: StudioMessage[] = [];
(window as unknown as { packerLog: StudioMessage[] }).packerLog = log;
/** Invariant: the connection of the current socket, or null while disconnected. */
let client: PackerConnection | null = null;
let operationCounter = 0;
const operationPrefix = `ui${Math.random().toString(36).slice(2, 8)}`;
/** Names typed into the rename field, by root, until a preview is asked for (page-only state). */
const renameDrafts = new Map<string, string>();
/** Cards whose consent question is open, and whether the box is ticked (page-only state). */
const consentOpen = new Map<string, boolean>();

function dispatch(message: StudioMessage): void {
  log.push(message);
  state = reduce(state, message);
  scheduleRender();
}

function nextOperationId(): string {
  return `${operationPrefix}-${++operationCounter}`;
}

/** Sends one request through the reducer: its request (when it is a write), its response, or the server's error. */
async function call<K extends RequestName>(method: K, params: ParamsOf<Requests[K]>): Promise<ResultOf<Requests[K]>> {
  const connection = client;
  if (connection === null) throw new Error('disconnected');
  if ((params as { operationId?: string }).operationId !== undefined)
    dispatch({ type: 'request', method, params } as StudioMessage);
  try {
    const result = await connection.request(packerRequests[method], params as never);
    dispatch({ type: 'response', method, params, result } as StudioMessage);
    return result;
  } catch (error) {
    // Only an answer of the server is news about the operation; a lost connection is not.
    if (error instanceof PackerRequestError)
      dispatch({
        type: 'error',
        method,
        params,
        error: { code: error.code, message: error.message, data: error.data },
      });
    throw error;
  }
}

// ---- Connection and reconnection ----

let reconnectDelay = 300;
/** Where the previous connection's events ended, for the replay after a reconnect; null before the first one ended. */
let cursor: { afterSequence: number; epoch: string } | null = null;

async function connect(): Promise<void> {
  dispatch({ type: 'connection', state: 'connecting' });
  const socket = new WebSocket(`ws://${location.host}/rpc?token=${encodeURIComponent(token)}`);
  const opened = await new Promise<boolean>((resolve) => {
    socket.addEventListener('open', () => resolve(true), { once: true });
    socket.addEventListener('close', () => resolve(false), { once: true });
  });
  if (!opened) {
    dispatch({ type: 'connection', state: 'disconnected', reason: 'the relay refused or is not running' });
    scheduleReconnect();
    return;
  }
  const connection = PackerConnection.fromReaderWriter(
    new WebSocketMessageReader(socket),
    new WebSocketMessageWriter(socket),
  );
  let closeReason = 'the connection closed';
  socket.addEventListener('close', (event) => (closeReason = event.reason || `closed (${event.code})`));
  connection.onEvent((event) => {
    dispatch({ type: 'event', event });
    if (['snapshot.published', 'divergence.detected', 'watch.stateChanged', 'diagnostics.changed'].includes(event.kind))
      scheduleRefresh();
  });
  connection.onExit(() => {
    if (client !== connection) return;
    client = null;
    if (state.epoch !== null) cursor = { afterSequence: state.lastSequence, epoch: state.epoch };
    dispatch({ type: 'connection', state: 'disconnected', reason: closeReason });
    scheduleReconnect();
  });
  client = connection;
  try {
    await connection.start({ clientInfo: { name: 'packer-ui' } });
    const status = await call('openProject', { rootUri: projectUri });
    dispatch({ type: 'connection', state: 'connected' });
    reconnectDelay = 300;
    // Replay what was missed (everything retained, the first time); a new epoch means reading again.
    // From where the last connection left off (live events of this one may already have arrived).
    const from = cursor === null ? { afterSequence: 0 } : cursor;
    let resumed = await connection.resume(status.projectId, from);
    if (resumed.status === 'resync') {
      dispatch({ type: 'resync', epoch: resumed.epoch, reason: resumed.reason });
      resumed = await connection.resume(status.projectId, { afterSequence: 0, epoch: resumed.epoch });
    }
    if (resumed.status === 'replayed') for (const event of resumed.events) dispatch({ type: 'event', event });
    await refresh();
  } catch {
    socket.close();
  }
}

function scheduleReconnect(): void {
  setTimeout(() => void connect(), reconnectDelay);
  reconnectDelay = Math.min(reconnectDelay * 2, 3_000);
}

let refreshTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleRefresh(): void {
  if (refreshTimer !== undefined) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = undefined;
    void refresh().catch(() => undefined);
  }, 30);
}

/**
 * Reads what the views show; each answer goes through the reducer. The navigator's reads are the adapter's
 * to name (`navigatorReads`): only the roots a `snapshot.published` named as changed, unless it needs the
 * whole list.
 */
async function refresh(): Promise<void> {
  const projectId = state.projectId;
  if (projectId === null || client === null) return;
  await Promise.all([
    call('projectStatus', { projectId }),
    ...navigatorReads(state).map((params) => call('listAssets', params)),
    call('packSummary', { projectId }),
    state.selected === null
      ? Promise.resolve()
      : call('getAssetDetails', { projectId, asset: { root: state.selected } }),
  ]);
}

// ---- Actions: each one a packer request ----

function preview(mutation: MutationIntent): void {
  if (state.projectId === null) return;
  void call('previewMutation', { projectId: state.projectId, mutation }).catch(() => undefined);
}

function apply(card: PreviewCard, consent: boolean): void {
  consentOpen.delete(card.previewId);
  void call('applyMutation', applyParamsFor(card, { operationId: nextOperationId(), consent })).catch(() => undefined);
}

function select(root: string): void {
  dispatch({ type: 'select', root });
  if (state.projectId !== null)
    void call('getAssetDetails', { projectId: state.projectId, asset: { root } }).catch(() => undefined);
}

// ---- Rendering ----

type Child = Node | string | null | undefined | false;

function h(
  tag: string,
  attributes: Record<string, string | boolean | ((event: Event) => void)> = {},
  ...children: Child[]
): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    // Styles go through the CSSOM: the page's Content-Security-Policy forbids inline style attributes.
    else if (name === 'style' && typeof value === 'string') element.style.cssText = value;
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false) element.setAttribute(name, value);
  }
  for (const child of children)
    if (child !== null && child !== undefined && child !== false)
      element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  return element;
}

function badge(text: string, kind = ''): HTMLElement {
  return h('span', { class: `badge ${kind}` }, text);
}

let renderPending = false;
function scheduleRender(): void {
  if (renderPending) return;
  renderPending = true;
  setTimeout(() => {
    renderPending = false;
    render();
  }, 0);
}

const rendered: Partial<Record<string, unknown>> = {};
/** Re-renders the sections whose slice of the state changed (so a field being typed in is not replaced needlessly). */
function render(): void {
  const sections: [string, unknown[], () => Child][] = [
    ['header', [state.project, state.connection, state.revision], renderHeader],
    ['divergence', [state.divergence, state.connection], renderDivergence],
    ['navigator', [state.navigator, state.selected], renderNavigator],
    ['details', [state.details, state.selected], renderDetails],
    ['previews', [state.previews, consentOpenVersion, state.connection], renderPreviews],
    ['activity', [state.activity], renderActivity],
    ['pack', [state.pack, state.activity, state.connection], renderPack],
  ];
  for (const [id, keys, draw] of sections) {
    const previous = rendered[id] as unknown[] | undefined;
    if (
      previous !== undefined &&
      previous.length === keys.length &&
      previous.every((value, index) => value === keys[index])
    )
      continue;
    rendered[id] = keys;
    const target = document.getElementById(id)!;
    const content = draw();
    const focus = focusIn(target);
    target.replaceChildren(...(content ? [content] : []));
    if (focus !== null) restoreFocus(target, focus);
  }
}

/** The field being typed in inside `section`, with its caret, or null (see {@link restoreFocus}). */
function focusIn(section: HTMLElement): { id: string; start: number | null; end: number | null } | null {
  const active = document.activeElement;
  if (!(active instanceof HTMLInputElement) || active.id === '' || !section.contains(active)) return null;
  return { id: active.id, start: active.selectionStart, end: active.selectionEnd };
}

/**
 * Gives the focus and the caret back to the field of the same id in the section drawn again: an event (a new
 * revision, details refreshed) redraws the section while someone types, and without this the keystrokes after
 * it went nowhere, the field they typed in being gone.
 */
function restoreFocus(section: HTMLElement, focus: { id: string; start: number | null; end: number | null }): void {
  const field = section.querySelector(`#${CSS.escape(focus.id)}`);
  if (!(field instanceof HTMLInputElement)) return;
  field.focus();
  if (focus.start !== null && focus.end !== null) field.setSelectionRange(focus.start, focus.end);
}
let consentOpenVersion = 0;
function consentChanged(): void {
  consentOpenVersion++;
  render();
}

function renderHeader(): Child {
  const project = state.project;
  return h(
    'div',
    { style: 'display:contents' },
    h('span', { class: 'title' }, 'Packer UI'),
    h('span', { class: 'mono' }, project?.rootUri ?? projectUri),
    project && badge(project.state, project.state),
    project && badge(`revision ${project.revision}`),
    project &&
      h('span', { 'data-testid': 'watching', 'data-state': project.watching }, badge(`watch: ${project.watching}`)),
    ...(project?.figures ?? []).map((shown) => badge(`${shown.label}: ${String(shown.value)}`)),
    h(
      'span',
      { id: 'connection', 'data-state': state.connection.state, title: state.connection.reason ?? '' },
      badge(state.connection.state, state.connection.state),
    ),
  );
}

function renderDivergence(): Child {
  const divergence = state.divergence;
  if (divergence === null) return null;
  return h(
    'div',
    { class: 'banner', 'data-testid': 'divergence-banner' },
    h('strong', {}, `The disk changed behind the packer's back since revision ${divergence.sinceRevision}. `),
    h('button', { 'data-testid': 'reconcile', onclick: () => reconcile(), disabled: client === null }, 'Reconcile'),
    h(
      'ul',
      {},
      ...divergence.changes.map((change) =>
        h(
          'li',
          { class: 'mono' },
          `${change.change}: ${change.path}${change.from === null ? '' : ` (from ${change.from})`}`,
        ),
      ),
    ),
  );
}

function reconcile(): void {
  if (state.projectId === null) return;
  void call('reconcile', { projectId: state.projectId, operationId: nextOperationId() }).catch(() => undefined);
}

/** The element of each display row and folder, reused while the adapter keeps the row (page-only cache). */
const rowElements = new WeakMap<DisplayRow, HTMLElement>();
const folderElements = new WeakMap<DisplayFolder, HTMLElement>();

function renderNavigator(): Child {
  const navigator = state.navigator;
  if (navigator === null) return h('h2', {}, 'Assets');
  const shown = displayNavigator(navigator);
  const list = h(
    'ul',
    { 'data-testid': 'navigator' },
    ...shown.folders.map((folder) => {
      let element = folderElements.get(folder);
      if (element === undefined) {
        element = h(
          'li',
          { class: 'folder' },
          h('div', { class: 'folder-name' }, folder.heading),
          h('ul', {}, ...folder.rows.map(assetItem)),
        );
        folderElements.set(folder, element);
      }
      return element;
    }),
  );
  // The selection is the page's: marked on the one row it names, not built into every row.
  for (const item of list.querySelectorAll('.asset.selected')) item.classList.remove('selected');
  if (state.selected !== null)
    list.querySelector(`[data-root="${CSS.escape(state.selected)}"]`)?.classList.add('selected');
  return h('div', {}, h('h2', {}, shown.heading, shown.updating ? badge('updating', 'warning') : null), list);
}

function assetItem(shown: DisplayRow): HTMLElement {
  let element = rowElements.get(shown);
  if (element === undefined) {
    const row = shown.row;
    // The data attributes mirror the adapter's row fields (the browser tests read them).
    element = h(
      'li',
      {
        class: 'asset',
        'data-root': row.root,
        'data-name': row.name ?? '',
        'data-type': row.type ?? '',
        'data-registered': String(row.registered),
        'data-in-build': String(row.includedInBuild),
        'data-severity': row.worstSeverity ?? 'none',
        'data-diverged': String(row.diverged),
        onclick: () => select(row.root),
      },
      h('span', { class: 'asset-name' }, shown.label),
      ...shown.badges.map((item) => badge(item.text, item.kind)),
    );
    rowElements.set(shown, element);
  }
  return element;
}

function renderDetails(): Child {
  const details = state.details;
  if (details === null || details.root !== state.selected)
    return h('div', {}, h('h2', {}, 'Details'), h('p', { class: 'muted' }, 'Select an asset.'));
  const row = details.row;
  const reference = row.assetId !== null ? { assetId: row.assetId } : { root: row.root };
  // What the person typed survives a re-render of the details (a refresh after an event).
  const nameInput = h('input', {
    id: 'rename-name',
    value: renameDrafts.get(details.root) ?? row.name ?? '',
    'aria-label': 'New name',
    oninput: (event: Event) => renameDrafts.set(details.root, (event.target as HTMLInputElement).value),
  }) as HTMLInputElement;
  const actions = row.availableActions;
  return h(
    'div',
    { 'data-testid': 'details', 'data-root': details.root },
    h('h2', {}, 'Details', details.stale ? badge('updating', 'warning') : null),
    h('h3', {}, row.name ?? row.root),
    h(
      'div',
      { class: 'mono muted' },
      `${details.declarationPath} · ${row.assetUuid ?? 'no uuid'} · ${row.registered ? `asset ${row.assetId}` : 'unregistered'}`,
    ),
    h('div', {}, ...details.figures.map((shown) => badge(`${shown.label}: ${String(shown.value)}`))),
    h(
      'table',
      {},
      ...details.inputs.map((input) =>
        h(
          'tr',
          {},
          h('td', {}, input.role),
          h('td', { class: 'mono' }, input.path),
          h('td', {}, badge(input.state, input.state === 'present' ? '' : 'error')),
        ),
      ),
    ),
    details.output &&
      h(
        'div',
        { class: 'muted' },
        `output ${details.output.format} (${details.output.codec})${details.preload ? ', preloaded' : ''}`,
      ),
    h('h2', {}, 'Diagnostics'),
    details.diagnostics.length === 0
      ? h('p', { class: 'muted' }, 'None.')
      : h(
          'ul',
          { 'data-testid': 'diagnostics' },
          ...details.diagnostics.map((diagnostic) =>
            h(
              'li',
              {},
              badge(diagnostic.severity, diagnostic.severity),
              diagnostic.blocking ? badge('blocking', 'error') : null,
              ` ${diagnostic.code}: ${diagnostic.message} `,
              diagnostic.safeFix &&
                h(
                  'button',
                  { onclick: () => preview({ kind: 'applySafeFix', fixId: diagnostic.safeFix!.fixId }) },
                  `Preview fix: ${diagnostic.safeFix.title}`,
                ),
            ),
          ),
        ),
    h('h2', {}, 'Actions'),
    actions.includes('rename') &&
      h(
        'div',
        {},
        nameInput,
        h(
          'button',
          {
            'data-testid': 'preview-rename',
            onclick: () => {
              renameDrafts.delete(details.root);
              preview({ kind: 'rename', asset: reference, name: nameInput.value });
            },
          },
          'Preview rename',
        ),
      ),
    h(
      'div',
      {},
      actions.includes('setBuildInclusion') &&
        h(
          'button',
          { onclick: () => preview({ kind: 'setBuildInclusion', asset: reference, included: !row.includedInBuild }) },
          row.includedInBuild ? 'Preview exclude from build' : 'Preview include in build',
        ),
      actions.includes('register') &&
        h('button', { onclick: () => preview({ kind: 'register', root: row.root }) }, 'Preview register'),
      actions.includes('adopt') &&
        h('button', { onclick: () => preview({ kind: 'adopt', root: row.root }) }, 'Preview adopt'),
      actions.includes('forget') &&
        h('button', { onclick: () => preview({ kind: 'forget', asset: reference }) }, 'Preview forget'),
      actions.includes('quarantine') &&
        h('button', { onclick: () => preview({ kind: 'quarantine', asset: reference }) }, 'Preview quarantine'),
      actions.includes('remove') &&
        h(
          'button',
          { 'data-testid': 'preview-remove', onclick: () => preview({ kind: 'remove', asset: reference }) },
          'Preview remove',
        ),
    ),
  );
}

function renderPreviews(): Child {
  if (state.previews.length === 0) return null;
  return h('div', {}, h('h2', {}, 'Previews'), ...[...state.previews].reverse().map(previewCard));
}

function previewCard(card: PreviewCard): HTMLElement {
  const asking = consentOpen.has(card.previewId);
  const list = (title: string, items: string[]): Child =>
    items.length === 0
      ? null
      : h('div', {}, h('strong', {}, title), h('ul', {}, ...items.map((item) => h('li', { class: 'mono' }, item))));
  const done = card.status === 'applied' || card.status === 'rejected';
  return h(
    'div',
    {
      class: `card${card.applicable ? '' : ' blocked'}`,
      'data-testid': 'preview-card',
      'data-preview-id': card.previewId,
      'data-status': card.status,
      'data-kind': card.mutation.kind,
    },
    h(
      'div',
      {},
      h('strong', {}, card.mutation.kind),
      badge(card.operationClass),
      badge(card.status, card.status),
      card.requiresConsent ? badge('needs consent', 'warning') : null,
    ),
    h('div', { class: 'muted' }, `preview ${card.previewId} of revision ${card.baseRevision}`),
    list(
      'Blockers',
      card.blockers.map((issue) => `${issue.code}: ${issue.message}`),
    ),
    list(
      'Warnings',
      card.warnings.map((issue) => `${issue.code}: ${issue.message}`),
    ),
    list(
      'Registry changes',
      card.registryChanges.map(
        (change) =>
          `${change.change} #${change.assetId} ${change.root}${change.before ? ` (was ${change.before.root})` : ''}`,
      ),
    ),
    list(
      'File changes',
      card.filesystemChanges.map(
        (change) => `${change.change} ${change.kind} ${change.path}${change.to ? ` → ${change.to}` : ''}`,
      ),
    ),
    list(
      'Affected assets',
      card.affectedAssets.map((asset) => asset.root),
    ),
    list('Reasons', [...card.reasons]),
    !done &&
      card.status !== 'applying' &&
      h(
        'div',
        {},
        h(
          'button',
          {
            'data-testid': 'apply',
            disabled: !card.applicable || client === null,
            onclick: () => {
              if (card.requiresConsent) {
                consentOpen.set(card.previewId, false);
                consentChanged();
              } else apply(card, false);
            },
          },
          'Apply',
        ),
        h('button', { onclick: () => dispatch({ type: 'dismissPreview', previewId: card.previewId }) }, 'Dismiss'),
      ),
    asking &&
      h(
        'div',
        { class: 'consent', 'data-testid': 'consent' },
        h(
          'p',
          {},
          `This ${card.mutation.kind} changes files in the workspace (file changes: ${card.filesystemChanges.length}). The packer needs your explicit consent.`,
        ),
        h(
          'label',
          {},
          h('input', {
            type: 'checkbox',
            'data-testid': 'consent-checkbox',
            onchange: (event: Event) => consentOpen.set(card.previewId, (event.target as HTMLInputElement).checked),
          }),
          ' I consent to this change',
        ),
        h(
          'div',
          {},
          h(
            'button',
            {
              'data-testid': 'apply-with-consent',
              onclick: () => {
                if (consentOpen.get(card.previewId) === true) apply(card, true);
              },
            },
            'Apply with consent',
          ),
          h(
            'button',
            {
              'data-testid': 'cancel-consent',
              onclick: () => {
                consentOpen.delete(card.previewId);
                consentChanged();
              },
            },
            'Cancel',
          ),
        ),
      ),
  );
}

function operationItem(operation: OperationView): HTMLElement {
  const fraction = operation.progress === null ? null : progressFraction(operation.progress);
  return h(
    'li',
    {
      class: 'card',
      'data-testid': 'operation',
      'data-operation-id': operation.operationId,
      'data-status': operation.status,
      'data-operation': operation.operation ?? '',
    },
    h(
      'div',
      {},
      h('strong', {}, operation.operation ?? 'operation'),
      badge(operation.status, operation.status),
      h('span', { class: 'muted mono' }, ` ${operation.operationId}`),
    ),
    h('div', { class: 'muted' }, operation.statusFrom),
    operation.progress && h('div', { 'data-testid': 'progress' }, formatProgress(operation.progress)),
    fraction !== null && h('div', { class: 'progress' }, h('div', { style: `width:${Math.round(fraction * 100)}%` })),
    operation.outcome &&
      h(
        'div',
        { 'data-testid': 'outcome', 'data-outcome': operation.outcome.outcome },
        badge(operation.outcome.outcome, operation.outcome.outcome),
        ...operation.outcome.figures.map((shown) => badge(`${shown.label}: ${String(shown.value)}`)),
        ...operation.outcome.reasons.map((reason) => h('div', {}, reason)),
      ),
  );
}

function renderActivity(): Child {
  return h(
    'div',
    {},
    h('h2', {}, 'Activity'),
    h('ul', { 'data-testid': 'activity' }, ...[...state.activity].reverse().map(operationItem)),
  );
}

function renderPack(): Child {
  const summary = state.pack.summary;
  const operation = state.activity.find((candidate) => candidate.operationId === state.pack.operationId) ?? null;
  return h(
    'div',
    { 'data-testid': 'pack' },
    h('h2', {}, 'Pack'),
    summary &&
      h(
        'div',
        {},
        badge(
          summary.canPack.value === true ? 'can pack' : 'blocked',
          summary.canPack.value === true ? 'succeeded' : 'blocked',
        ),
        ...summary.figures.map((shown) => badge(`${shown.label}: ${String(shown.value)}`)),
        summary.blockers.length > 0 &&
          h(
            'ul',
            {},
            ...summary.blockers.map((blocker) =>
              h('li', {}, `${blocker.code} ${blocker.root ?? ''}: ${blocker.message}`),
            ),
          ),
      ),
    h(
      'button',
      { 'data-testid': 'pack-button', disabled: client === null || state.projectId === null, onclick: () => pack() },
      'Pack',
    ),
    operation &&
      h(
        'div',
        { 'data-testid': 'pack-operation', 'data-status': operation.status },
        badge(operation.status, operation.status),
        operation.progress && h('div', {}, formatProgress(operation.progress)),
        operation.outcome &&
          h(
            'div',
            {},
            h(
              'table',
              { 'data-testid': 'artifacts' },
              ...operation.outcome.artifacts.map((artifact) =>
                h(
                  'tr',
                  {},
                  h('td', { class: 'mono', title: artifact.path }, artifact.name),
                  h('td', {}, formatBytes(artifact.size)),
                  h('td', { class: 'mono', title: artifact.sha256 }, shortHash(artifact.sha256)),
                ),
              ),
            ),
            operation.outcome.blockers.length > 0 &&
              h(
                'ul',
                {},
                ...operation.outcome.blockers.map((blocker) => h('li', {}, `${blocker.code}: ${blocker.message}`)),
              ),
          ),
      ),
  );
}

function pack(): void {
  if (state.projectId === null) return;
  void call('pack', { projectId: state.projectId, operationId: nextOperationId() }).catch(() => undefined);
}

render();
void connect();
