/**
 * The extension's packer-facing part, free of the `vscode` module: the typed packer client over the
 * connection the extension already has (its `LanguageClient`), the projects of the workspace folders, the
 * asset lists, the `snapshot.published` events that make the tree refresh, and a pack whose progress and
 * outcome come from the packer's events and response only.
 */
import {
  PackerConnection,
  RequestCancelledError,
  type JsonRpcEndpoint,
  type Unsubscribe,
} from '@prometeu/packer-client/connection';

/** One asset as `packer/listAssets` describes it. */
export type AssetSummary = Awaited<ReturnType<PackerConnection['listAssets']>>['assets'][number];

/** A workspace folder the server opened as a project. */
export interface ProjectEntry {
  readonly projectId: string;
  readonly rootUri: string;
  readonly name: string;
  /** The project's state as the server said (`loading` until its first snapshot). */
  readonly state: Awaited<ReturnType<PackerConnection['openProject']>>['state'];
  /** Why the project is `failed`, as the server said. */
  readonly failure?: string;
}

/** A pack's progress, from its `operation.progress` events. */
export interface PackProgress {
  readonly done: number;
  readonly total: number | undefined;
  readonly message: string | undefined;
}

/** How a pack ended, from its response (or its cancellation), worded for a notification. */
export type PackReport =
  | { readonly kind: 'succeeded'; readonly assets: number; readonly bytes: number; readonly message: string }
  | { readonly kind: 'blocked'; readonly blockers: number; readonly message: string }
  | { readonly kind: 'failed' | 'cancelled'; readonly message: string };

/** The packer over an endpoint; one per `LanguageClient`. */
export class PackerSession {
  /** The typed packer client, riding on the endpoint (it owns the endpoint's `packer/event` handler). */
  readonly packer: PackerConnection;
  /** Invariant: the open projects by `rootUri`, replaced whole by each {@link openFolders}. */
  private projects = new Map<string, ProjectEntry>();
  private readonly assetListeners = new Set<(projectId: string) => void>();
  private readonly stopEvents: Unsubscribe;

  /** Wraps `endpoint` (a started or not yet started `LanguageClient`). */
  constructor(endpoint: JsonRpcEndpoint) {
    this.packer = PackerConnection.fromEndpoint(endpoint);
    this.stopEvents = this.packer.onEvent((event) => {
      if (event.kind !== 'snapshot.published') return;
      for (const listener of [...this.assetListeners]) listener(event.projectId);
    });
  }

  /**
   * Opens each folder as a project (the server opened them already during `initialize`, so this returns their
   * ids) and remembers them; a folder the server refuses is left out. Call again after the server restarted.
   */
  async openFolders(folders: readonly { readonly uri: string; readonly name: string }[]): Promise<ProjectEntry[]> {
    const opened = await Promise.all(
      folders.map(async (folder): Promise<ProjectEntry | undefined> => {
        try {
          const status = await this.packer.openProject({ rootUri: folder.uri });
          return {
            projectId: status.projectId,
            rootUri: status.rootUri,
            name: folder.name,
            state: status.state,
            ...(status.failure !== undefined ? { failure: status.failure } : {}),
          };
        } catch {
          return undefined;
        }
      }),
    );
    const entries = opened.filter((entry): entry is ProjectEntry => entry !== undefined);
    this.projects = new Map(entries.map((entry) => [entry.rootUri, entry]));
    for (const entry of entries) for (const listener of [...this.assetListeners]) listener(entry.projectId);
    return entries;
  }

  /** The open projects, in the order of the folders. */
  projectList(): ProjectEntry[] {
    return [...this.projects.values()];
  }

  /** The assets of a project, as the server lists them. */
  async listAssets(projectId: string): Promise<AssetSummary[]> {
    return (await this.packer.listAssets({ projectId })).assets;
  }

  /** Calls `listener` with a project's id whenever it published a new snapshot (or was opened again). */
  onAssetsChanged(listener: (projectId: string) => void): Unsubscribe {
    this.assetListeners.add(listener);
    return () => void this.assetListeners.delete(listener);
  }

  /**
   * Packs a project, reporting each `operation.progress` event; aborting `signal` cancels the pack
   * (`$/cancelRequest`). Resolves with what the response (or the cancellation) says; never rejects.
   */
  async pack(
    projectId: string,
    onProgress: (progress: PackProgress) => void,
    signal?: AbortSignal,
  ): Promise<PackReport> {
    const operation = this.packer.packOperation({ projectId }, signal !== undefined ? { signal } : {});
    for await (const event of operation.events)
      if (event.kind === 'operation.progress')
        onProgress({ done: event.body.done, total: event.body.total, message: event.body.message });
    try {
      const result = await operation.outcome;
      switch (result.outcome) {
        case 'succeeded': {
          const bytes = result.artifacts.find((artifact) => artifact.name === 'assets.pa')?.size ?? 0;
          return {
            kind: 'succeeded',
            assets: result.assets.length,
            bytes,
            message: `Packed ${result.assets.length} assets into build/assets.pa (${bytes} bytes, ${result.fromCache} from the cache).`,
          };
        }
        case 'blocked': {
          const first = result.blockers
            .slice(0, 3)
            .map((blocker) => `${blocker.code}${blocker.root !== undefined ? ` in ${blocker.root}` : ''}`);
          return {
            kind: 'blocked',
            blockers: result.blockers.length,
            message: `The pack is blocked by ${result.blockers.length} problem(s): ${first.join(', ')}${result.blockers.length > 3 ? ', ...' : ''}. build/ is untouched.`,
          };
        }
        case 'failed':
          return {
            kind: 'failed',
            message: `The pack failed: ${result.reason ?? result.failure ?? 'no reason given'}.`,
          };
      }
    } catch (error) {
      if (error instanceof RequestCancelledError) return { kind: 'cancelled', message: 'The pack was cancelled.' };
      return { kind: 'failed', message: `The pack failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  /** Stops listening; the endpoint's owner stops the server. */
  async dispose(): Promise<void> {
    this.stopEvents();
    this.assetListeners.clear();
    await this.packer.stop();
  }
}
