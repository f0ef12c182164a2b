/**
 * Human output of the `packer` CLI: aligned tables and summaries built from the server's results. Pure
 * functions from results to text, so what people read is easy to test and never touches the wire.
 */
import { fileURLToPath } from 'node:url';
import type { Diagnostic, ResultOf, packerRequests } from '@prometeu/packer-protocol';

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
    .map((row) => indent + row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join(GAP).trimEnd())
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

/** `packer status`. */
export function formatStatus(status: ResultOf<Requests['projectStatus']>): string {
  const { counts, divergence, writerLane } = status;
  const state = status.state === 'failed' && status.failure !== undefined ? `failed: ${status.failure}` : status.state;
  const lane = writerLane.running !== null ? `running ${writerLane.running.operation} (${writerLane.running.operationId})` : 'idle';
  const head = formatTable([
    ['Project', pathOfUri(status.rootUri)],
    ['Project id', status.projectId],
    ['State', state],
    ['Revision', String(status.revision)],
    ['Workspace', status.workspaceInitialized ? 'initialized' : 'not initialized (run packer init)'],
    ['Divergence', divergence.diverged ? `${plural(divergence.changes.length, 'change')} since revision ${divergence.sinceRevision ?? '?'}` : 'none'],
    ['Writer lane', `${lane}, ${writerLane.queued} queued`],
  ]);
  const changes = divergence.diverged && divergence.changes.length > 0
    ? `\n\nChanged on disk\n${formatTable(divergence.changes.map((change) => [change.change, change.from !== undefined ? `${change.from} -> ${change.path}` : change.path]), '  ')}`
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
  const table = formatTable(rows.map(([label, value]) => [label, String(value).padStart(width)]), '  ');
  return `${head}${changes}\n\nCounts\n${table}\n`;
}

/** `packer list`. */
export function formatAssetList(result: ResultOf<Requests['listAssets']>): string {
  const { assets } = result;
  if (assets.length === 0) return `No assets (revision ${result.revision}).\n`;
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
  const registered = assets.filter((asset) => asset.registered).length;
  const missing = assets.filter((asset) => asset.state === 'missing').length;
  const included = assets.filter((asset) => asset.includedInBuild).length;
  const summary = `${plural(assets.length, 'asset')}: ${registered} registered, ${assets.length - registered} unregistered, ${included} in build, ${missing} missing (revision ${result.revision}).`;
  return `${formatTable(rows)}\n\n${summary}\n`;
}

/** `packer show`. */
export function formatAssetDetails(details: ResultOf<Requests['getAssetDetails']>): string {
  const { asset } = details;
  const head = formatTable([
    ['Name', asset.name ?? '-'],
    ['Asset id', asset.assetId !== undefined ? String(asset.assetId) : '- (unregistered)'],
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
  const inputs = details.inputs.length > 0 ? formatTable([['ROLE', 'PATH', 'STATE'], ...details.inputs.map((input) => [input.role, input.path, input.state])], '  ') : '  none';
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
        diagnostic.message + (diagnostic.safeFix !== undefined ? ` [fix: ${diagnostic.safeFix.title}]` : ''),
      ]),
    ],
    indent,
  );
}

/** The group a diagnostic is listed under: its asset, or the workspace as a whole. */
function groupOf(diagnostic: Diagnostic): string {
  if (diagnostic.root === undefined) return 'Workspace';
  return diagnostic.assetId !== undefined ? `${diagnostic.root} (asset ${diagnostic.assetId})` : `${diagnostic.root} (unregistered)`;
}

/** The summary line of `packer doctor`. */
export function doctorSummary(result: ResultOf<Requests['doctor']>): string {
  const { summary } = result;
  return `${plural(summary.errors, 'error')}, ${plural(summary.warnings, 'warning')}, ${plural(summary.infos, 'info')}, ${plural(summary.hints, 'hint')}; ${summary.blocking} blocking (${result.scope} scope, revision ${result.revision}).`;
}

/** `packer doctor`: diagnostics grouped by asset, in the server's order, then the summary line. */
export function formatDoctor(result: ResultOf<Requests['doctor']>): string {
  if (result.diagnostics.length === 0) return `No problems found (${result.scope} scope, revision ${result.revision}).\n`;
  const groups = new Map<string, Diagnostic[]>();
  for (const diagnostic of result.diagnostics) {
    const key = groupOf(diagnostic);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [diagnostic]);
    else group.push(diagnostic);
  }
  const sections = [...groups].map(([title, diagnostics]) => `${title}\n${formatDiagnosticRows(diagnostics, '  ')}`);
  return `${sections.join('\n\n')}\n\n${doctorSummary(result)}\n`;
}

/** `packer init`. */
export function formatInit(result: ResultOf<Requests['initWorkspace']>, projectDir: string): string {
  return result.outcome === 'created'
    ? `Created ${result.registryPath} in ${projectDir} (revision ${result.revision}).\n`
    : `${result.registryPath} in ${projectDir} is already a valid registry; nothing was changed.\n`;
}
