/**
 * Human output of the `packer` CLI: aligned tables and summaries built from the server's results. Pure
 * functions from results to text, so what people read is easy to test and never touches the wire.
 */
import { fileURLToPath } from 'node:url';
import type {
  ApplyResult,
  AssetReference,
  Diagnostic,
  MutationIntent,
  MutationPreview,
  PackerEvent,
  ResultOf,
  packerRequests,
} from '@prometeu/packer-protocol';

type Requests = typeof packerRequests;

/** Columns are separated by this. */
const GAP = '  ';

/**
 * Aligns rows into columns: every column but the last is padded to its widest cell; trailing spaces are
 * removed. `indent` prefixes every line.
 */
export function formatTable(rows: readonly (readonly string[])[], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows
    .map(
      (row) =>
        indent +
        row
          .map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0)))
          .join(GAP)
          .trimEnd(),
    )
    .join('\n');
}

/** `1 error`, `2 errors`. */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}

function pathOfUri(uri: string): string {
  try {
    return fileURLToPath(uri);
  } catch {
    return uri;
  }
}

const WRITER_MEANING: Readonly<Record<string, string>> = {
  available: 'available',
  owned: 'owned by this server',
  heldByOther: 'held by another packer process (writes are refused)',
};

function formatWatching(watching: ResultOf<Requests['projectStatus']>['watching']): string {
  const backend = watching.backend !== 'none' ? ` (${watching.backend})` : '';
  const reason = watching.reason !== undefined ? `: ${watching.reason}` : '';
  return `${watching.state}${backend}${reason}${watching.autoReconcile ? ', reconciles automatically' : ''}`;
}

/** `packer status`. */
export function formatStatus(status: ResultOf<Requests['projectStatus']>): string {
  const { counts, divergence, writerLane } = status;
  const state = status.state === 'failed' && status.failure !== undefined ? `failed: ${status.failure}` : status.state;
  const lane =
    writerLane.running !== null
      ? `running ${writerLane.running.operation} (${writerLane.running.operationId})`
      : 'idle';
  const head = formatTable([
    ['Project', pathOfUri(status.rootUri)],
    ['Project id', status.projectId],
    ['State', state],
    ['Revision', String(status.revision)],
    ['Workspace', status.workspaceInitialized ? 'initialized' : 'not initialized (run packer init)'],
    [
      'Divergence',
      divergence.diverged
        ? `the disk changed since revision ${divergence.sinceRevision ?? '?'} (packer reconcile accepts it)`
        : 'none',
    ],
    ['Watching', formatWatching(status.watching)],
    ['Writer lane', `${lane}, ${writerLane.queued} queued`],
    ['Writer', WRITER_MEANING[status.writer] ?? status.writer],
    ...(status.lastRecovery !== null
      ? [
          [
            'Last recovery',
            `${status.lastRecovery.outcome} (${status.lastRecovery.operationId}): ${status.lastRecovery.message}`,
          ],
        ]
      : []),
  ]);
  const changes =
    divergence.diverged && divergence.changes.length > 0
      ? `\n\nChanged on disk\n${formatTable(
          divergence.changes.map((change) => [
            change.change,
            change.from !== undefined ? `${change.from} -> ${change.path}` : change.path,
          ]),
          '  ',
        )}`
      : '';
  const rows: [string, number][] = [
    ['Asset roots', counts.roots],
    ['Registered', counts.registered],
    ['Unregistered', counts.unregistered],
    ['Missing anchors', counts.missing],
    ['In build', counts.includedInBuild],
    ['Errors', counts.errors],
    ['Warnings', counts.warnings],
    ['Blocking', counts.blocking],
  ];
  const width = Math.max(...rows.map(([, value]) => String(value).length));
  const table = formatTable(
    rows.map(([label, value]) => [label, String(value).padStart(width)]),
    '  ',
  );
  return `${head}${changes}\n\nCounts\n${table}\n`;
}

/**
 * The footer of `packer list`: the project's counts as `packer/projectStatus` gives them (never a count of
 * the rows, which a filter narrows), with the revision they belong to and the list's when it differs.
 */
export function listFooter(
  list: ResultOf<Requests['listAssets']>,
  status: ResultOf<Requests['projectStatus']>,
  filter: string | undefined,
): string {
  const { counts } = status;
  const revision =
    status.revision === list.revision
      ? `revision ${status.revision}`
      : `counts at revision ${status.revision}, list at revision ${list.revision}`;
  const shown = filter !== undefined ? `Listed: ${filter}, as the server filtered them. ` : '';
  return `${shown}Project: ${plural(counts.roots, 'asset root')}, ${counts.registered} registered, ${counts.unregistered} unregistered, ${counts.includedInBuild} in build, ${plural(counts.missing, 'missing anchor')} (${revision}).`;
}

/** `packer list`: the rows the server returned, then {@link listFooter}. */
export function formatAssetList(
  result: ResultOf<Requests['listAssets']>,
  status: ResultOf<Requests['projectStatus']>,
  filter?: string,
): string {
  const { assets } = result;
  const footer = listFooter(result, status, filter);
  if (assets.length === 0) return `No assets listed.\n\n${footer}\n`;
  const rows = [
    ['ID', 'NAME', 'TYPE', 'ROOT', 'REGISTERED', 'INCLUDED', 'STATE', 'WORST'],
    ...assets.map((asset) => [
      asset.assetId !== undefined ? String(asset.assetId) : '-',
      asset.name ?? '-',
      asset.type ?? '-',
      asset.root,
      yesNo(asset.registered),
      yesNo(asset.includedInBuild),
      asset.state,
      asset.worstSeverity ?? '-',
    ]),
  ];
  return `${formatTable(rows)}\n\n${footer}\n`;
}

/** `packer show`. */
export function formatAssetDetails(details: ResultOf<Requests['getAssetDetails']>): string {
  const { asset } = details;
  const head = formatTable([
    ['Name', asset.name ?? '-'],
    ['Asset id', asset.assetId !== undefined ? String(asset.assetId) : asset.registered ? '-' : '- (unregistered)'],
    ['Asset uuid', asset.assetUuid ?? '-'],
    ['Type', asset.type ?? '-'],
    ['Root', asset.root],
    ['Declaration', details.declarationPath],
    ['State', asset.state],
    ['Registered', yesNo(asset.registered)],
    ['In build', yesNo(asset.includedInBuild)],
    ['Output', details.output !== null ? `${details.output.format} (codec ${details.output.codec})` : '-'],
    ['Preload', details.preload !== null ? yesNo(details.preload.enabled) : '-'],
    ['Actions', details.availableActions.length > 0 ? details.availableActions.join(', ') : '-'],
    ['Revision', String(details.revision)],
  ]);
  const inputs =
    details.inputs.length > 0
      ? formatTable(
          [['ROLE', 'PATH', 'STATE'], ...details.inputs.map((input) => [input.role, input.path, input.state])],
          '  ',
        )
      : '  none';
  const files = details.files.length > 0 ? details.files.map((file) => `  ${file}`).join('\n') : '  none';
  const diagnostics = details.diagnostics.length > 0 ? formatDiagnosticRows(details.diagnostics, '  ') : '  none';
  return `${head}\n\nInputs\n${inputs}\n\nFiles\n${files}\n\nDiagnostics\n${diagnostics}\n`;
}

function formatDiagnosticRows(diagnostics: readonly Diagnostic[], indent: string): string {
  return formatTable(
    [
      ['SEVERITY', 'CODE', 'BLOCKING', 'PATH', 'MESSAGE'],
      ...diagnostics.map((diagnostic) => [
        diagnostic.severity,
        diagnostic.code,
        diagnostic.blocking ? 'blocking' : '-',
        diagnostic.path ?? diagnostic.root ?? '-',
        diagnostic.message +
          (diagnostic.safeFix !== undefined ? ` [fix ${diagnostic.safeFix.fixId}: ${diagnostic.safeFix.title}]` : ''),
      ]),
    ],
    indent,
  );
}

/**
 * The group a diagnostic is listed under: its root (with the asset id when the diagnostic carries one), or
 * the workspace as a whole. Whether a root is registered is not inferred from a missing `assetId`: the
 * diagnostic's code (`unregistered-root`) says so where the server means it.
 */
function groupOf(diagnostic: Diagnostic): string {
  if (diagnostic.root === undefined) return 'Workspace';
  return diagnostic.assetId !== undefined ? `${diagnostic.root} (asset ${diagnostic.assetId})` : diagnostic.root;
}

/** The summary line of `packer doctor`. */
export function doctorSummary(result: ResultOf<Requests['doctor']>): string {
  const { summary } = result;
  return `${plural(summary.errors, 'error')}, ${plural(summary.warnings, 'warning')}, ${plural(summary.infos, 'info')}, ${plural(summary.hints, 'hint')}; ${summary.blocking} blocking (${result.scope} scope, revision ${result.revision}).`;
}

/** `packer doctor`: diagnostics grouped by asset, in the server's order, then the summary line. */
export function formatDoctor(result: ResultOf<Requests['doctor']>): string {
  if (result.diagnostics.length === 0)
    return `No problems found (${result.scope} scope, revision ${result.revision}).\n`;
  const groups = new Map<string, Diagnostic[]>();
  for (const diagnostic of result.diagnostics) {
    const key = groupOf(diagnostic);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [diagnostic]);
    else group.push(diagnostic);
  }
  const sections = [...groups].map(([title, diagnostics]) => `${title}\n${formatDiagnosticRows(diagnostics, '  ')}`);
  const fixes = result.diagnostics.some((diagnostic) => diagnostic.safeFix !== undefined)
    ? "\nApply a fix with 'packer fix <fixId>' (it prints the preview; --yes applies it).\n"
    : '';
  return `${sections.join('\n\n')}\n\n${doctorSummary(result)}\n${fixes}`;
}

/** `packer init`. */
export function formatInit(result: ResultOf<Requests['initWorkspace']>, projectDir: string): string {
  return result.outcome === 'created'
    ? `Created ${result.registryPath} in ${projectDir} (revision ${result.revision}).\n`
    : `${result.registryPath} in ${projectDir} is already a valid registry; nothing was changed.\n`;
}

/** What an operation class touches, in words. */
const CLASS_MEANING: Readonly<Record<string, string>> = {
  read: 'changes nothing',
  workspace: 'edits your files under assets/',
  registry: 'edits only the registry (assets/.prometeu/index.json)',
  'workspace+registry': 'edits your files under assets/ and the registry',
  'runtime-state': "changes only the packer's in-memory state",
  build: 'writes build/',
};

/** A one-line description of a mutation intent, for the preview's title. */
export function describeMutation(mutation: MutationIntent): string {
  const asset = (reference: AssetReference): string =>
    'assetId' in reference
      ? `asset ${reference.assetId}`
      : 'assetUuid' in reference
        ? `asset ${reference.assetUuid}`
        : reference.root;
  switch (mutation.kind) {
    case 'createAsset':
      return `Create ${mutation.root}${mutation.register ? ' and register it' : ''}`;
    case 'register':
      return `Register ${mutation.root}`;
    case 'adopt':
      return `Adopt ${mutation.root}`;
    case 'forget':
      return `Forget ${asset(mutation.asset)} (its files stay)`;
    case 'remove':
      return `Remove ${asset(mutation.asset)} (delete its files)`;
    case 'quarantine':
      return `Quarantine ${asset(mutation.asset)}`;
    case 'restore':
      return `Restore ${asset(mutation.asset)}${mutation.to !== undefined ? ` to ${mutation.to}` : ''}`;
    case 'relocate':
      return `Relocate ${asset(mutation.asset)} to ${mutation.to}`;
    case 'rename':
      return `Rename ${asset(mutation.asset)} to ${JSON.stringify(mutation.name)}`;
    case 'setBuildInclusion':
      return `${mutation.included ? 'Include' : 'Exclude'} ${asset(mutation.asset)} ${mutation.included ? 'in' : 'from'} the build`;
    case 'applySafeFix':
      return `Apply fix ${mutation.fixId}`;
    case 'normalizeRegistry':
      return 'Rewrite the registry canonically';
    case 'reassignAssetId':
      return `Give ${asset(mutation.asset)} a new asset_id`;
  }
}

type PlanIssue = MutationPreview['blockers'][number];

function issueRows(issues: readonly PlanIssue[]): string {
  return formatTable(
    issues.map((issue) => [issue.code, issue.path ?? '-', issue.message]),
    '  ',
  );
}

function registryChangeRow(change: MutationPreview['registryChanges'][number]): string[] {
  const where =
    change.before !== undefined && change.before.root !== change.root
      ? `${change.before.root} -> ${change.root}`
      : change.root;
  const inclusion =
    change.before !== undefined && change.before.includedInBuild !== change.includedInBuild
      ? `${change.before.includedInBuild ? 'in build' : 'excluded'} -> ${change.includedInBuild ? 'in build' : 'excluded'}`
      : change.includedInBuild
        ? 'in build'
        : 'excluded';
  return [change.change, `#${change.assetId}`, where, change.assetUuid, inclusion];
}

function filesystemChangeRow(change: MutationPreview['filesystemChanges'][number]): string[] {
  return [change.change, change.kind, change.to !== undefined ? `${change.path} -> ${change.to}` : change.path];
}

/** The preview a mutation command prints: what would happen, separately for the registry and the files. */
export function formatPreview(preview: MutationPreview): string {
  const consent = preview.requiresConsent
    ? 'required (destructive or relocating): apply with --yes --consent'
    : 'not required';
  const head = formatTable(
    [
      [
        'Operation',
        `${preview.mutation.kind} (${preview.operationClass}: ${CLASS_MEANING[preview.operationClass] ?? preview.operationClass})`,
      ],
      ['Revision', `${preview.baseRevision} (preview ${preview.previewId})`],
      ['Consent', consent],
    ],
    '  ',
  );
  const sections = [`${describeMutation(preview.mutation)}\n${head}`];
  sections.push(`Blockers\n${preview.blockers.length > 0 ? issueRows(preview.blockers) : '  none'}`);
  sections.push(`Warnings\n${preview.warnings.length > 0 ? issueRows(preview.warnings) : '  none'}`);
  sections.push(
    `Registry changes\n${preview.registryChanges.length > 0 ? formatTable(preview.registryChanges.map(registryChangeRow), '  ') : '  none'}`,
  );
  sections.push(
    `Filesystem changes (paths relative to assets/)\n${preview.filesystemChanges.length > 0 ? formatTable(preview.filesystemChanges.map(filesystemChangeRow), '  ') : '  none'}`,
  );
  if (preview.affectedAssets.length > 0) {
    sections.push(
      `Affected assets\n${formatTable(
        preview.affectedAssets.map((asset) => [
          asset.assetId !== undefined ? `#${asset.assetId}` : '-',
          asset.root,
          asset.assetUuid ?? '-',
        ]),
        '  ',
      )}`,
    );
  }
  if (preview.safeFixes.length > 0) {
    sections.push(
      `Fixes on offer\n${formatTable(
        preview.safeFixes.map((fix) => [fix.fixId, fix.title]),
        '  ',
      )}`,
    );
  }
  return `${sections.join('\n\n')}\n`;
}

/**
 * The line under a preview that was not applied: blocked (the preview has blockers, which the protocol
 * defines as an apply it would reject), or preview only, with the flags an apply needs (`--consent` when
 * the server says the preview requires consent).
 */
export function previewFooter(preview: MutationPreview): string {
  if (preview.blockers.length > 0)
    return 'Blocked: the server would reject an apply (see Blockers); nothing was changed.';
  return preview.requiresConsent
    ? 'Preview only: nothing was changed. It needs consent: run again with --yes --consent to apply it.'
    : 'Preview only: nothing was changed. Run again with --yes to apply it.';
}

/** The reasons a rejected apply gives, one per line with the issues under them. */
export function formatRejection(result: ApplyResult): string {
  const lines: string[] = [];
  for (const reason of result.reasons) {
    lines.push(`  ${reason.code}: ${reason.message}`);
    for (const issue of reason.issues ?? [])
      lines.push(`    ${issue.code}${issue.path !== undefined ? ` (${issue.path})` : ''}: ${issue.message}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `packer reconcile`: the changes on disk it accepted and the difference between the two snapshots. */
export function formatReconcile(result: ResultOf<Requests['reconcile']>): string {
  const { diff, accepted } = result;
  const head = `Reconciled: revision ${result.previousRevision} -> ${result.revision} (operation ${result.operationId}); ${plural(result.clearedChanges, 'change')} on disk accepted.`;
  const sections = [head];
  if (accepted.length > 0) sections.push(`Changes found on disk\n${formatTable(accepted.map(changeRow), '  ')}`);
  const rows: string[][] = [
    ...diff.added.map((entry) => ['added', entry.root, entry.assetUuid ?? '-']),
    ...diff.removed.map((entry) => [
      'removed',
      entry.root,
      entry.assetId !== undefined ? `#${entry.assetId}` : (entry.assetUuid ?? '-'),
    ]),
    ...diff.moved.map((entry) => [
      'moved',
      `${entry.from} -> ${entry.to}`,
      entry.assetId !== undefined ? `#${entry.assetId}` : entry.assetUuid,
    ]),
    ...diff.changed.map((entry) => ['changed', entry.root, entry.assetUuid ?? '-']),
  ];
  const none = `  no root was added, removed, moved or changed between revisions ${result.previousRevision} and ${result.revision}`;
  sections.push(`Asset roots\n${rows.length > 0 ? formatTable(rows, '  ') : none}`);
  sections.push(`Diagnostics: ${diff.diagnosticsBefore} before, ${diff.diagnosticsAfter} after.`);
  if (
    diff.removed.some((entry) => entry.assetId !== undefined) ||
    diff.moved.some((entry) => entry.assetId !== undefined)
  ) {
    sections.push(
      "The registry was not edited (reconcile never edits it): run 'packer doctor' for the fixes on offer.",
    );
  }
  return `${sections.join('\n\n')}\n`;
}

function changeRow(change: ResultOf<Requests['reconcile']>['accepted'][number]): string[] {
  return [change.change, change.from !== undefined ? `${change.from} -> ${change.path}` : change.path];
}

/** Bytes for people: `512 B`, `1.5 KiB`, `3.2 MiB`; exact bytes in parentheses from 1 KiB on. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

type PackResult = ResultOf<Requests['pack']>;

/** `packer pack` when it succeeded: the asset table and the artifacts. */
export function formatPackSummary(result: PackResult): string {
  const head =
    result.upToDate === true
      ? `Up to date at revision ${result.revision} (operation ${result.operationId}): nothing changed since the last pack, build/ left untouched.`
      : `Packed revision ${result.revision} (operation ${result.operationId}): ${result.materialized} built, ${result.fromCache} from cache.`;
  const assets =
    result.assets.length > 0
      ? formatTable(
          [
            ['ID', 'NAME', 'BANK', 'OFFSET', 'SIZE', 'CACHED'],
            ...result.assets.map((asset) => [
              String(asset.assetId),
              asset.name,
              asset.bankType,
              String(asset.offset),
              String(asset.size),
              yesNo(asset.fromCache),
            ]),
          ],
          '  ',
        )
      : '  none (the server packed an empty build set)';
  const artifacts = formatTable(
    [
      ['PATH', 'SIZE', 'SHA256'],
      ...result.artifacts.map((artifact) => [artifact.path, String(artifact.size), artifact.sha256]),
    ],
    '  ',
  );
  return `${head}\n\nAssets\n${assets}\n\nArtifacts\n${artifacts}\n`;
}

/** `packer pack` when it did not succeed: every blocker, or why it failed. */
export function formatPackFailure(result: PackResult): string {
  if (result.outcome === 'blocked') {
    const rows = [
      ['CODE', 'ROOT', 'MESSAGE'],
      ...result.blockers.map((diagnostic) => [diagnostic.code, diagnostic.root ?? '-', diagnostic.message]),
    ];
    return `Pack blocked at revision ${result.revision} by these blocking diagnostics; build/ was not changed.\n${formatTable(rows, '  ')}\n`;
  }
  const paths =
    result.divergedPaths !== undefined && result.divergedPaths.length > 0
      ? `\nChanged on disk\n${result.divergedPaths.map((path) => `  ${path}`).join('\n')}`
      : '';
  return `Pack failed at revision ${result.revision}: ${result.reason ?? 'no reason given'}${paths}\n`;
}

/** A progress line or bar from an `operation.progress` body. */
export function formatProgress(
  body: { done: number; total?: number | undefined; unit?: string | undefined; message?: string | undefined },
  barWidth?: number,
): string {
  const count = body.total !== undefined ? `${body.done}/${body.total}` : String(body.done);
  const unit = body.unit !== undefined ? ` ${body.unit}` : '';
  const message = body.message !== undefined ? ` ${body.message}` : '';
  if (barWidth === undefined || body.total === undefined || body.total === 0) return `${count}${unit}${message}`;
  const filled = Math.min(barWidth, Math.round((body.done / body.total) * barWidth));
  const percent = String(Math.floor((body.done / body.total) * 100)).padStart(3);
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${percent}% ${count}${unit}${message}`;
}

/** One line of `packer events`. */
export function formatEventLine(event: PackerEvent): string {
  const operation = event.operationId ?? '-';
  let summary = '';
  switch (event.kind) {
    case 'operation.queued':
    case 'operation.started':
      summary = event.body.operation;
      break;
    case 'operation.progress':
      summary = formatProgress(event.body);
      break;
    case 'operation.succeeded':
    case 'operation.failed':
      summary = `${event.body.operation}${event.body.revision !== undefined ? ` revision ${event.body.revision}` : ''}${typeof event.body.outcome['outcome'] === 'string' ? ` ${event.body.outcome['outcome']}` : ''}`;
      break;
    case 'operation.cancelled':
      summary = `${event.body.operation}${event.body.started ? '' : ' (while queued)'}`;
      break;
    case 'snapshot.published':
      summary = `revision ${event.body.revision} (${event.body.cause})`;
      break;
    case 'divergence.detected':
      summary = event.body.changes
        .map((change) => `${change.change} ${change.from !== undefined ? `${change.from} -> ` : ''}${change.path}`)
        .join(', ');
      break;
    case 'watch.stateChanged':
      summary = `${event.body.state} (${event.body.backend})${event.body.reason !== undefined ? `: ${event.body.reason}` : ''}`;
      break;
    case 'project.stateChanged':
      summary = `${event.body.previousState ?? 'new'} -> ${event.body.state} (revision ${event.body.revision})${event.body.failure !== undefined ? `: ${event.body.failure}` : ''}`;
      break;
    case 'diagnostics.changed':
      summary = `revision ${event.body.revision}: ${event.body.assets.map((asset) => `${asset.root} ${asset.previousWorstSeverity ?? 'none'} -> ${asset.worstSeverity ?? 'none'}`).join(', ')}`;
      break;
  }
  return `${String(event.sequence).padStart(6)}  ${event.kind.padEnd(20)}  ${operation.padEnd(14)}  ${summary}`.trimEnd();
}

/** `packer quarantine list`: every quarantined asset, with what `restore` needs to name it. */
export function formatQuarantine(result: ResultOf<Requests['listQuarantine']>): string {
  if (result.entries.length === 0) return `Nothing is in quarantine (revision ${result.revision}).\n`;
  const rows = result.entries.map((entry) => [
    entry.assetUuid,
    entry.name ?? '-',
    entry.type ?? '-',
    entry.originalRoot,
    entry.assetId !== undefined ? String(entry.assetId) : '-',
    entry.quarantinedAt ?? '-',
  ]);
  return `${formatTable([['ASSET UUID', 'NAME', 'TYPE', 'ORIGINAL ROOT', 'ID', 'QUARANTINED AT'], ...rows])}\n${result.entries.length} in quarantine (revision ${result.revision}); 'packer restore <uuid|root>' brings one back.\n`;
}
