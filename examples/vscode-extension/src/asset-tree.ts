/**
 * The "Packer assets" view: a tree of the open projects and their assets, fed by `packer/listAssets` and
 * refreshed whenever a project publishes a new snapshot (`snapshot.published`), never by polling the disk.
 */
import * as vscode from 'vscode';
import type { AssetSummary, PackerSession, ProjectEntry } from './packer-session';

/** A node of the tree: a project (shown only when there are several) or one of its assets. */
export type AssetNode =
  | { readonly kind: 'project'; readonly project: ProjectEntry }
  | { readonly kind: 'asset'; readonly project: ProjectEntry; readonly asset: AssetSummary };

/** The tree data of the "Packer assets" view. */
export class AssetTreeProvider implements vscode.TreeDataProvider<AssetNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<AssetNode | undefined>();
  /** Fires (with `undefined`: everything) after a project published a snapshot. */
  readonly onDidChangeTreeData = this.changed.event;
  private readonly session: PackerSession;
  private readonly stopListening: () => void;

  /** Shows the projects of `session` and follows their snapshots. */
  constructor(session: PackerSession) {
    this.session = session;
    this.stopListening = session.onAssetsChanged(() => this.refresh());
  }

  /** Asks the view to read the lists again. */
  refresh(): void {
    this.changed.fire(undefined);
  }

  /** The projects (when several) or the assets of the only one; the assets of a project node. */
  async getChildren(node?: AssetNode): Promise<AssetNode[]> {
    if (node?.kind === 'asset') return [];
    const projects = this.session.projectList();
    const project = node?.project ?? (projects.length === 1 ? projects[0] : undefined);
    if (project === undefined) return projects.map((entry) => ({ kind: 'project', project: entry }));
    if (project.state === 'failed') return [];
    const assets = await this.session.listAssets(project.projectId);
    return assets.map((asset) => ({ kind: 'asset', project, asset }));
  }

  /** How a node looks: an asset's name, type, identity and worst diagnostic; a click opens its `asset.json`. */
  getTreeItem(node: AssetNode): vscode.TreeItem {
    if (node.kind === 'project') {
      const item = new vscode.TreeItem(node.project.name, vscode.TreeItemCollapsibleState.Expanded);
      if (node.project.state !== 'ready') item.description = node.project.state;
      item.tooltip = node.project.failure ?? node.project.rootUri;
      item.contextValue = 'project';
      return item;
    }
    const { asset, project } = node;
    const item = new vscode.TreeItem(asset.name ?? asset.root, vscode.TreeItemCollapsibleState.None);
    const identity = asset.assetId !== undefined ? `#${asset.assetId}` : 'unregistered';
    const build = asset.registered && !asset.includedInBuild ? ' · not in build' : '';
    item.description = `${asset.type ?? 'unknown type'} · ${identity}${build}`;
    item.tooltip = `${asset.root}\n${asset.diagnosticCount} diagnostic(s) · validation ${asset.validation}`;
    item.iconPath = new vscode.ThemeIcon(
      asset.worstSeverity === 'error' ? 'error' : asset.worstSeverity === 'warning' ? 'warning' : 'package',
    );
    item.contextValue = asset.registered ? 'registeredAsset' : 'unregisteredAsset';
    if (asset.state !== 'missing') {
      const declaration = vscode.Uri.joinPath(vscode.Uri.parse(project.rootUri), 'assets', asset.root, 'asset.json');
      item.resourceUri = declaration;
      item.command = { command: 'vscode.open', title: 'Open asset.json', arguments: [declaration] };
    }
    return item;
  }

  /** Stops following the session. */
  dispose(): void {
    this.stopListening();
    this.changed.dispose();
  }
}
