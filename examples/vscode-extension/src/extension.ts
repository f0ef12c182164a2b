/**
 * The extension's entry (bundled into dist/extension.js, CommonJS): it starts the packer server once with
 * vscode-languageclient, which brings the standard surface (diagnostics in asset.json and index.json, quick
 * fixes, hovers, completion, links, the server's `packer.*` commands), and runs the packer's own requests
 * over that same connection for the asset tree and the pack command. The packer-facing classes are exported
 * too, so the bundle can be driven outside VS Code (the tests do).
 */
import * as vscode from 'vscode';
import {
  LanguageClient,
  State,
  TransportKind,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { AssetTreeProvider } from './asset-tree';
import { runPackCommand } from './pack-command';
import { PackerSession } from './packer-session';
import { locateServer } from './server-location';

export { AssetTreeProvider } from './asset-tree';
export { runPackCommand } from './pack-command';
export { PackerSession } from './packer-session';
export { locateServer } from './server-location';

/** The running client, stopped by {@link deactivate}. */
let client: LanguageClient | undefined;

/** The workspace folders as the server takes them: `{ uri, name }`. */
function folders(): { uri: string; name: string }[] {
  return (vscode.workspace.workspaceFolders ?? []).map((folder) => ({ uri: folder.uri.toString(), name: folder.name }));
}

/** Starts the server, the asset tree and the commands. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const configured = vscode.workspace.getConfiguration('prometeuPacker').get<string>('serverPath');
  const module = locateServer(configured);
  // `TransportKind.stdio` adds `--stdio` (and `--clientProcessId`), which is how the server is started.
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.stdio },
    debug: { module, transport: TransportKind.stdio },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'json', pattern: '**/assets/**/asset.json' },
      { scheme: 'file', language: 'json', pattern: '**/assets/.prometeu/index.json' },
    ],
    outputChannelName: 'Prometeu Packer',
  };
  const languageClient = new LanguageClient('prometeuPacker', 'Prometeu Packer', serverOptions, clientOptions);
  client = languageClient;
  // The session takes the client's `packer/event` handler before the client starts, so no event is missed.
  const session = new PackerSession(languageClient);
  const tree = new AssetTreeProvider(session);
  const reopen = async (): Promise<void> => {
    await session.openFolders(folders());
  };
  context.subscriptions.push(
    tree,
    vscode.window.registerTreeDataProvider('prometeuPacker.assets', tree),
    vscode.commands.registerCommand('prometeuPacker.pack', () => runPackCommand(session)),
    vscode.commands.registerCommand('prometeuPacker.refreshAssets', () => tree.refresh()),
    vscode.commands.registerCommand('prometeuPacker.restartServer', () => languageClient.restart()),
    // The server opens and closes projects for folders itself; the session learns the new ids.
    vscode.workspace.onDidChangeWorkspaceFolders(() => void reopen()),
    // A restarted server (after a crash or the restart command) starts a new event epoch: open and read again.
    languageClient.onDidChangeState((change) => {
      if (change.newState === State.Running) void reopen();
    }),
    { dispose: () => void session.dispose() },
  );
  await languageClient.start();
}

/** Stops the server (`shutdown` and `exit`, through the client). */
export async function deactivate(): Promise<void> {
  const running = client;
  client = undefined;
  await running?.stop();
}
