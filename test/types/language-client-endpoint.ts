/**
 * A type test, compiled by `npm run typecheck` and never run: vscode-languageclient 9's `LanguageClient`
 * (and its `BaseLanguageClient`, the browser client's base too) is accepted as the client's `JsonRpcEndpoint`
 * as it is, with no cast or wrapper, and so is a vscode-jsonrpc `MessageConnection`. Something that lacks a
 * call the packer connection makes is refused; if it ever compiled, the `@ts-expect-error` would fail.
 */
import type { BaseLanguageClient } from 'vscode-languageclient';
import type { LanguageClient } from 'vscode-languageclient/node.js';
import type { MessageConnection } from 'vscode-jsonrpc';
import { PackerConnection, type JsonRpcEndpoint } from '../../client/src/connection.js';

/** The node `LanguageClient` an extension creates goes straight into `fromEndpoint`. */
export function fromLanguageClient(client: LanguageClient): PackerConnection {
  return PackerConnection.fromEndpoint(client);
}

/** The base class (what the browser `LanguageClient` extends too) is an endpoint. */
export function baseIsAnEndpoint(client: BaseLanguageClient): JsonRpcEndpoint {
  return client;
}

/** A listening vscode-jsonrpc connection is one as well. */
export function messageConnectionIsAnEndpoint(connection: MessageConnection): JsonRpcEndpoint {
  return connection;
}

/** Without `onNotification` there are no events, so it is not an endpoint. */
export function lackingNotifications(client: BaseLanguageClient): JsonRpcEndpoint {
  const partial = {
    sendRequest: client.sendRequest.bind(client),
    sendNotification: client.sendNotification.bind(client),
  };
  // @ts-expect-error An endpoint must let the packer connection hear `packer/event`.
  return partial;
}

/** A handler that returns no disposable cannot be detached, so it is refused too. */
export function handlerWithoutDisposable(client: BaseLanguageClient): JsonRpcEndpoint {
  const endpoint = {
    sendRequest: client.sendRequest.bind(client),
    sendNotification: client.sendNotification.bind(client),
    onNotification: (_method: string, _handler: (params: unknown) => void): void => undefined,
  };
  // @ts-expect-error `onNotification` must return something to dispose.
  return endpoint;
}
