/**
 * Renames made in the editor are intents, not divergence: `workspace/willRenameFiles` checks that the
 * packer would accept the move of every asset root it touches (and refuses it, saying why, when not);
 * `workspace/didRenameFiles`, once the editor moved the folders, records each registered root's move as
 * a packer relocate through the lane (identity kept, journaled like every write).
 */
import { fileURLToPath } from 'node:url';
import { relative, sep } from 'node:path';
import { LSPErrorCodes, type FileOperationRegistrationOptions } from 'vscode-languageserver-protocol';
import type { DispatchContext } from '../dispatch/routes.js';
import { isWithin } from '../domain/paths.js';
import { ProtocolError } from '../errors.js';
import type { PackerHost } from '../host.js';
import { planMutation } from '../mutations/plan.js';
import type { Project } from '../project/project.js';
import { prepareApplyMutation } from '../writes/apply-mutation.js';
import { prepareReconcile } from '../writes/reconcile.js';

/** What the server registers for, statically, when the client announces file operations. */
export const RENAME_REGISTRATION: FileOperationRegistrationOptions = {
  filters: [{ scheme: 'file', pattern: { glob: '**/assets/**', matches: 'folder' } }],
};

/** One asset root a rename moves. */
interface RootMove {
  readonly project: Project;
  readonly from: string;
  readonly to: string;
}

/** The path of `uri` relative to a project's `assets/`, POSIX, or undefined outside it. */
function inAssets(project: Project, uri: string): string | undefined {
  let path: string;
  try {
    path = fileURLToPath(uri);
  } catch {
    return undefined;
  }
  const inside = relative(project.assetsDir, path);
  if (inside === '' || inside.startsWith('..') || inside.startsWith(sep)) return undefined;
  return inside.split(sep).join('/');
}

/** Every asset root the renames move, in the current snapshots (a folder holding roots moves each). */
function rootMoves(host: PackerHost, files: readonly { oldUri: string; newUri: string }[]): RootMove[] {
  const moves: RootMove[] = [];
  for (const file of files) {
    for (const project of host.list()) {
      const from = inAssets(project, file.oldUri);
      const to = inAssets(project, file.newUri);
      if (from === undefined || to === undefined) continue;
      for (const record of project.snapshot().assets)
        if (isWithin(from, record.root))
          moves.push({ project, from: record.root, to: `${to}${record.root.slice(from.length)}` });
    }
  }
  return moves;
}

/** `workspace/willRenameFiles`: refuses a rename the packer would refuse; no edit is needed otherwise. */
export function willRenameFiles(host: PackerHost, files: readonly { oldUri: string; newUri: string }[]): null {
  const refusals: string[] = [];
  for (const move of rootMoves(host, files)) {
    const plan = planMutation(
      move.project.snapshot(),
      { kind: 'relocate', asset: { root: move.from }, to: move.to },
      { uuid: '' },
    );
    for (const blocker of plan.blockers) refusals.push(`${move.from}: ${blocker.message}`);
  }
  if (refusals.length > 0)
    throw new ProtocolError(
      LSPErrorCodes.RequestFailed,
      `The packer would not accept this move: ${refusals.join(' ')}`,
      {
        refusals,
      },
    );
  return null;
}

/**
 * `workspace/didRenameFiles`: the folders moved; each project touched is reconciled (its snapshot then
 * sees the move) and each registered root's entry follows it with a relocate. Errors are logged.
 */
export async function didRenameFiles(
  context: DispatchContext,
  host: PackerHost,
  files: readonly { oldUri: string; newUri: string }[],
  warn: (message: string) => void,
): Promise<void> {
  const moves = rootMoves(host, files).filter((move) => move.project.snapshot().byRoot.get(move.from)?.entry);
  const projects = [...new Set(moves.map((move) => move.project))];
  try {
    for (const project of projects) await context.runWrite(prepareReconcile(context, { projectId: project.id }));
    for (const move of moves) {
      const assetId = move.project.snapshot().byRoot.get(move.from)?.entry?.asset_id;
      if (assetId === undefined) continue;
      const result = await context.runWrite(
        prepareApplyMutation(context, {
          projectId: move.project.id,
          mutation: { kind: 'relocate', asset: { assetId }, to: move.to },
          // The user moved the folder themselves: the move is their consent.
          consent: true,
        }),
      );
      if (result.outcome !== 'applied')
        warn(
          `The move of ${move.from} to ${move.to} was not recorded: ${result.reasons.map((reason) => reason.message).join('; ')}`,
        );
    }
  } catch (error) {
    warn(`The renames could not be recorded: ${error instanceof Error ? error.message : String(error)}`);
  }
}
