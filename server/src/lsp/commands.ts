/**
 * The packer's commands for `workspace/executeCommand`: its writes (pack, reconcile, a safe fix) and the
 * doctor, each run exactly as its packer request would be (the same preparation, the same lane), with
 * LSP work-done progress and the outcome told through `window/showMessage`.
 */
import { packerRequests, StandardErrorCodes } from '@prometeu/packer-protocol';
import { fileURLToPath } from 'node:url';
import { relative, sep } from 'node:path';
import { MessageType } from 'vscode-languageserver-protocol';
import { invalidParams } from '../dispatch/invalid-params.js';
import { runRead } from '../dispatch/read-runner.js';
import type { DispatchContext } from '../dispatch/routes.js';
import { ProtocolError } from '../errors.js';
import type { PackerHost } from '../host.js';
import { planMutation } from '../mutations/plan.js';
import type { Project } from '../project/project.js';
import { doctor } from '../reads/doctor.js';
import { prepareApplyMutation } from '../writes/apply-mutation.js';
import { preparePack } from '../writes/pack-project.js';
import { prepareReconcile } from '../writes/reconcile.js';
import { APPLY_SAFE_FIX_COMMAND } from './features.js';

/** Every command the server runs. */
export const PACKER_COMMANDS = [APPLY_SAFE_FIX_COMMAND, 'packer.pack', 'packer.reconcile', 'packer.doctor'] as const;

/** What the commands need from the connection. */
export interface CommandOptions {
  readonly host: PackerHost;
  readonly showMessage: (type: MessageType, message: string) => void;
  /** Asks the user to pick one of `actions`; resolves with the title picked, or null. */
  readonly ask: (message: string, actions: string[]) => Promise<string | null>;
  /** A fresh progress token the client agreed to (`window/workDoneProgress/create`), or undefined. */
  readonly createProgress: () => Promise<string | undefined>;
}

/** A command's params as the server reads them. */
export interface CommandParams {
  readonly command: string;
  readonly arguments?: readonly unknown[] | undefined;
  readonly workDoneToken?: string | number | undefined;
}

/**
 * The project a command is about: `{ projectId }`, or `{ uri }` of a file or folder inside it, or nothing
 * when exactly one project is open.
 */
function projectOf(host: PackerHost, command: string, argument: unknown): Project {
  const record = typeof argument === 'object' && argument !== null ? (argument as Record<string, unknown>) : {};
  if (typeof record['projectId'] === 'string') return host.get(record['projectId']);
  if (typeof record['uri'] === 'string') {
    let path: string | undefined;
    try {
      path = fileURLToPath(record['uri']);
    } catch {
      path = undefined;
    }
    const found = host.list().find((project) => {
      const inside = path === undefined ? '..' : relative(project.rootPath, path);
      return !inside.startsWith('..') && !inside.startsWith(sep);
    });
    if (found !== undefined) return found;
  }
  const open = host.list();
  if (open.length === 1) return open[0]!;
  throw new ProtocolError(
    StandardErrorCodes.InvalidParams,
    `${command} needs an argument naming its project ({ "projectId" } or { "uri" }): ${open.length} projects are open.`,
  );
}

/** Runs one command; resolves with what its packer request would answer (null when the user declined). */
export async function runCommand(options: CommandOptions, context: DispatchContext, params: CommandParams) {
  const { host, showMessage } = options;
  const argument = params.arguments?.[0];
  const token = async (): Promise<{ workDoneToken?: string | number }> => {
    const given = params.workDoneToken ?? (await options.createProgress());
    return given !== undefined ? { workDoneToken: given } : {};
  };
  switch (params.command) {
    case APPLY_SAFE_FIX_COMMAND:
      return applySafeFix(options, context, argument);
    case 'packer.pack': {
      const project = projectOf(host, params.command, argument);
      const result = await context.runWrite(preparePack(context, { projectId: project.id, ...(await token()) }));
      showMessage(
        result.outcome === 'succeeded' ? MessageType.Info : MessageType.Error,
        result.outcome === 'succeeded'
          ? `Packed ${result.assets.length} asset${result.assets.length === 1 ? '' : 's'} into build/ (revision ${result.revision}; ${result.fromCache} from the cache).`
          : result.outcome === 'blocked'
            ? `The pack is blocked by ${result.blockers.length} diagnostic${result.blockers.length === 1 ? '' : 's'}; build/ is unchanged.`
            : `The pack failed: ${result.reason ?? 'the inputs changed'}; build/ is unchanged.`,
      );
      return result;
    }
    case 'packer.reconcile': {
      const project = projectOf(host, params.command, argument);
      const result = await context.runWrite(prepareReconcile(context, { projectId: project.id, ...(await token()) }));
      showMessage(
        MessageType.Info,
        result.revision === result.previousRevision
          ? `Nothing to reconcile (revision ${result.revision}).`
          : `Reconciled: revision ${result.previousRevision} to ${result.revision}.`,
      );
      return result;
    }
    case 'packer.doctor': {
      const project = projectOf(host, params.command, argument);
      const scope = (argument as { scope?: unknown } | undefined)?.scope === 'workspace' ? 'workspace' : 'registered';
      const result = await runRead(context, packerRequests.doctor, { projectId: project.id, scope }, doctor);
      const { summary } = result;
      showMessage(
        summary.blocking > 0
          ? MessageType.Error
          : summary.errors + summary.warnings > 0
            ? MessageType.Warning
            : MessageType.Info,
        `Doctor (${scope}): ${summary.errors} errors, ${summary.warnings} warnings, ${summary.infos} infos, ${summary.hints} hints; ${summary.blocking} blocking.`,
      );
      return result;
    }
    default:
      throw new ProtocolError(
        StandardErrorCodes.InvalidParams,
        `Unknown command ${params.command}; this server runs ${PACKER_COMMANDS.join(', ')}.`,
      );
  }
}

/** A safe fix: planned against the current snapshot, consent asked where needed, applied in the lane. */
async function applySafeFix(options: CommandOptions, context: DispatchContext, argument: unknown) {
  const record = typeof argument === 'object' && argument !== null ? (argument as Record<string, unknown>) : {};
  const apply = packerRequests.applyMutation.params.safeParse({
    projectId: record['projectId'],
    mutation: record['mutation'],
  });
  if (!apply.success || apply.data.mutation === undefined)
    throw invalidParams(
      APPLY_SAFE_FIX_COMMAND,
      apply.success ? packerRequests.applyMutation.params.safeParse({}).error! : apply.error,
    );
  const what = typeof record['title'] === 'string' ? record['title'] : `the ${apply.data.mutation.kind} fix`;
  const project = context.host.get(apply.data.projectId);
  const plan = planMutation(project.snapshot(), apply.data.mutation, { uuid: '' });
  let consent = false;
  if (plan.blockers.length === 0 && plan.requiresConsent) {
    const answer = await options.ask(`${what} moves or deletes files in the project. Apply it?`, ['Apply', 'Cancel']);
    if (answer !== 'Apply') {
      options.showMessage(MessageType.Info, `${what} was not applied.`);
      return null;
    }
    consent = true;
  }
  const result = await context.runWrite(
    prepareApplyMutation(context, { ...apply.data, ...(consent ? { consent } : {}) }),
  );
  options.showMessage(
    result.outcome === 'applied' ? MessageType.Info : MessageType.Error,
    result.outcome === 'applied'
      ? `${what}: applied (revision ${result.revision}).`
      : `${what} was refused: ${result.reasons.map((reason) => reason.message).join('; ')}.`,
  );
  return result;
}
