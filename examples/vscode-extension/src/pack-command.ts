/**
 * The "Pack the project" command: picks a project, shows the pack's progress in a notification from its
 * `operation.progress` events (cancellable: cancelling sends `$/cancelRequest`), and reports its outcome from
 * the pack's response.
 */
import * as vscode from 'vscode';
import type { PackReport, PackerSession, ProjectEntry } from './packer-session';

/** Runs one pack from the UI; resolves with its report, or undefined when there was nothing to pack. */
export async function runPackCommand(session: PackerSession): Promise<PackReport | undefined> {
  const project = await pickProject(session.projectList());
  if (project === undefined) return undefined;
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Packing ${project.name}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const cancelled = token.onCancellationRequested(() => controller.abort());
      let reported = 0;
      try {
        return await session.pack(
          project.projectId,
          ({ done, total, message }) => {
            const percent = total !== undefined && total > 0 ? (done / total) * 100 : undefined;
            progress.report({
              message: message ?? (total !== undefined ? `${done}/${total}` : `${done}`),
              ...(percent !== undefined ? { increment: percent - reported } : {}),
            });
            if (percent !== undefined) reported = percent;
          },
          controller.signal,
        );
      } finally {
        cancelled.dispose();
      }
    },
  );
  switch (report.kind) {
    case 'succeeded':
      void vscode.window.showInformationMessage(report.message);
      break;
    case 'blocked':
    case 'cancelled':
      void vscode.window.showWarningMessage(report.message);
      break;
    case 'failed':
      void vscode.window.showErrorMessage(report.message);
      break;
  }
  return report;
}

/** The only project, or the one the user picks; undefined when there is none (with a message) or none picked. */
async function pickProject(projects: readonly ProjectEntry[]): Promise<ProjectEntry | undefined> {
  const packable = projects.filter((project) => project.state !== 'failed');
  if (packable.length === 0) {
    void vscode.window.showWarningMessage('No packer project is open: open a folder that holds assets/.');
    return undefined;
  }
  if (packable.length === 1) return packable[0];
  const picked = await vscode.window.showQuickPick(
    packable.map((project) => ({ label: project.name, description: project.rootUri, project })),
    { placeHolder: 'Which project?' },
  );
  return picked?.project;
}
