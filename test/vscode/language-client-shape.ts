/**
 * A stand-in for vscode-languageclient's `LanguageClient` that runs in plain Node: the real `LanguageClient`
 * needs the `vscode` module at run time, so this object has exactly its `sendRequest`, `sendNotification`
 * and `onNotification` (typed as `Pick<BaseLanguageClient, ...>`, so the compiler checks the shapes) and is
 * built, like the real one, on vscode-languageclient's own copy of vscode-jsonrpc (8.x), not the client
 * library's. It spawns the real server with `--stdio` and does the LSP handshake itself, as the real one does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import type { BaseLanguageClient } from 'vscode-languageclient';
import type * as Rpc from 'vscode-languageclient/node.js';
import type { InitializeResult } from '../../client/src/index.js';
import { SERVER_SCRIPT } from '../client/support.js';

/** The three calls of a `LanguageClient` the packer connection uses, with their real overloads. */
export type LanguageClientShape = Pick<BaseLanguageClient, 'sendRequest' | 'sendNotification' | 'onNotification'>;

const languageClientRequire = createRequire(
  createRequire(import.meta.url).resolve('vscode-languageclient/package.json'),
);

/** vscode-languageclient's own vscode-jsonrpc: the copy whose errors a `LanguageClient` rejects with. */
export const languageClientRpc = languageClientRequire('vscode-jsonrpc/node') as Pick<
  typeof Rpc,
  'createMessageConnection' | 'StreamMessageReader' | 'StreamMessageWriter' | 'CancellationReceiverStrategy'
>;

/** The version of that copy (8.x for vscode-languageclient 9). */
export const languageClientRpcVersion = (languageClientRequire('vscode-jsonrpc/package.json') as { version: string })
  .version;

/** A spawned real server behind a LanguageClient-shaped object. */
export interface SpawnedLanguageClient {
  readonly client: LanguageClientShape;
  readonly process: ChildProcess;
  /** The request ids this side sent `$/cancelRequest` for, in order. */
  readonly sentCancellations: number[];
  /** `initialize` and `initialized`, with `workspaceFolders` opened as projects by the server. */
  initialize(workspaceFolders?: readonly { uri: string; name: string }[]): Promise<InitializeResult>;
  /** `shutdown` then `exit`, and waits for the process to end; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Spawns the real server and wraps its stdio in a LanguageClient-shaped object. */
export function spawnLanguageClient(): SpawnedLanguageClient {
  const child = spawn(process.execPath, [SERVER_SCRIPT, '--stdio', `--clientProcessId=${process.pid}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const sentCancellations: number[] = [];
  // Records `$/cancelRequest` as the LanguageClient's connection writes it (the default cancellation strategy).
  const cancellationStrategy: Rpc.CancellationStrategy = {
    receiver: languageClientRpc.CancellationReceiverStrategy.Message,
    sender: {
      sendCancellation: (conn, id) => {
        if (typeof id === 'number') sentCancellations.push(id);
        return conn.sendNotification('$/cancelRequest', { id });
      },
      cleanup: () => undefined,
    },
  };
  const connection = languageClientRpc.createMessageConnection(
    new languageClientRpc.StreamMessageReader(child.stdout),
    new languageClientRpc.StreamMessageWriter(child.stdin),
    undefined,
    { cancellationStrategy },
  );
  connection.listen();
  // The same delegation as BaseLanguageClient: one handler per method, the latest wins.
  const client: LanguageClientShape = {
    sendRequest: (type: string | Rpc.MessageSignature, ...params: unknown[]) =>
      connection.sendRequest(type as string, ...params) as Promise<never>,
    sendNotification: (type: string | Rpc.MessageSignature, params?: unknown) =>
      params === undefined
        ? connection.sendNotification(type as string)
        : connection.sendNotification(type as string, params),
    onNotification: (type: string | Rpc.MessageSignature, handler: Rpc.GenericNotificationHandler) =>
      connection.onNotification(type as string, handler),
  };
  return {
    client,
    process: child,
    sentCancellations,
    initialize: async (workspaceFolders) => {
      const result = await connection.sendRequest<InitializeResult>('initialize', {
        processId: process.pid,
        clientInfo: { name: 'language-client-shape' },
        rootUri: null,
        capabilities: {},
        workspaceFolders: workspaceFolders ?? null,
      });
      await connection.sendNotification('initialized', {});
      return result;
    },
    stop: async () => {
      if (child.exitCode === null) {
        await connection.sendRequest('shutdown').catch(() => undefined);
        await connection.sendNotification('exit').catch(() => undefined);
      }
      const code = await exited;
      connection.dispose();
      return code;
    },
  };
}
