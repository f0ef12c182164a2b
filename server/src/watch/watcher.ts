/**
 * Watching `assets/` for changes made outside the packer. Backends sit behind one small interface and
 * report raw changed paths (relative to `assets/`, POSIX); deciding what changed is the divergence
 * tracker's job. The packer's control data is ignored, except the registry, whose outside edits matter.
 */
import { relative, sep } from 'node:path';
import { CONTROL_FOLDER } from '../domain/paths.js';

/** What a watcher tells its owner. */
export interface WatchListener {
  /** Paths that may have changed (files or folders, relative to `assets/`). */
  onChanges(paths: readonly string[]): void;
  /** The watcher cannot be trusted any more (kernel limit, overflow, root deleted...). */
  onFault(reason: string): void;
}

/** A running watcher. */
export interface WorkspaceWatcher {
  /** Which backend runs, for the status and the benchmark. */
  readonly backend: 'chokidar' | 'parcel' | 'none';
  /**
   * Paths reported before the watch took this watcher over (one armed while the project opened, see
   * `armEarly`): the watch notes them once its verification crawl's fingerprints are in, so each is judged
   * against what the snapshot and that crawl saw.
   */
  readonly heldPaths?: readonly string[];
  close(): Promise<void>;
}

/** Starts a watcher on `assetsDir`; resolves once it is armed (changes after that are reported). */
export type WatcherFactory = (assetsDir: string, listener: WatchListener) => Promise<WorkspaceWatcher>;

/** Whether a path (relative to `assets/`) is packer control data the watcher must not report. */
export function isIgnoredControlPath(path: string): boolean {
  return (path === '.prometeu' || path.startsWith('.prometeu/')) && path !== '.prometeu/index.json';
}

function toAssetsPath(assetsDir: string, absolute: string): string {
  const path = relative(assetsDir, absolute);
  return sep === '/' ? path : path.split(sep).join('/');
}

/** The chokidar backend: portable, good for small and mid-size workspaces (one kernel watch per entry). */
export async function startChokidarWatcher(assetsDir: string, listener: WatchListener): Promise<WorkspaceWatcher> {
  const { watch } = await import('chokidar');
  const watcher = watch(assetsDir, {
    ignoreInitial: true,
    followSymlinks: false,
    persistent: true,
    // The control folder itself is not ignored: chokidar does not descend into an ignored folder, and the
    // registry inside it must be watched.
    ignored: (path: string) =>
      isIgnoredControlPath(toAssetsPath(assetsDir, path)) && toAssetsPath(assetsDir, path) !== CONTROL_FOLDER,
  });
  watcher.on('all', (_event: string, path: string) => {
    const relativePath = toAssetsPath(assetsDir, path);
    if (relativePath === '') {
      if (_event === 'unlinkDir') listener.onFault('The watched folder assets/ was deleted.');
      return;
    }
    if (relativePath === CONTROL_FOLDER) return;
    listener.onChanges([relativePath]);
  });
  watcher.on('error', (error: unknown) =>
    listener.onFault(`chokidar: ${error instanceof Error ? error.message : String(error)}`),
  );
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return { backend: 'chokidar', close: () => watcher.close() };
}

/** The @parcel/watcher backend: native, one kernel watch per folder, fast to arm on large workspaces. */
export async function startParcelWatcher(assetsDir: string, listener: WatchListener): Promise<WorkspaceWatcher> {
  const parcel = await import('@parcel/watcher');
  const subscription = await parcel.subscribe(
    assetsDir,
    (error, events) => {
      if (error) {
        listener.onFault(`@parcel/watcher: ${error.message}`);
        return;
      }
      const paths: string[] = [];
      for (const event of events) {
        const path = toAssetsPath(assetsDir, event.path);
        if (path === '') {
          if (event.type === 'delete') listener.onFault('The watched folder assets/ was deleted.');
          continue;
        }
        if (!isIgnoredControlPath(path)) paths.push(path);
      }
      if (paths.length > 0) listener.onChanges(paths);
    },
    {
      ignore: [
        '.prometeu/trash',
        '.prometeu/quarantine',
        '.prometeu/cache',
        '.prometeu/journal.json',
        '.prometeu/writer.lock',
        '.prometeu/fingerprint.json',
        '.prometeu/fingerprint.log',
      ],
    },
  );
  return { backend: 'parcel', close: () => subscription.unsubscribe() };
}

/** The native module, once asked for: undefined where it cannot load here. */
let parcelModule: Promise<unknown> | undefined;

/** Whether @parcel/watcher's native module loads on this machine (tried once per process). */
function parcelLoads(): Promise<boolean> {
  parcelModule ??= import('@parcel/watcher').catch(() => undefined);
  return parcelModule.then((loaded) => loaded !== undefined);
}

/**
 * Chooses the backend: @parcel/watcher whenever its native module loads, at every size (measured in the
 * same run, it arms a 1k workspace in 20 ms with 5 MiB where chokidar takes 406 ms and 58 MiB, and a 10k
 * one in 0.2 s with 18 MiB where chokidar takes 3.1 s and 388 MiB: docs/performance-history.md); chokidar, which is
 * pure JavaScript, when it does not (an unusual platform, a broken install). Only a module that cannot load
 * falls back: a subscribe that fails (the kernel's watch limit reached, `assets/` unreadable) fails the
 * caller, which degrades to periodic verification, since chokidar would hit the same limit after holding
 * ten times the memory (gigabytes at 100k roots, at every retry).
 */
export async function startWatcher(assetsDir: string, listener: WatchListener): Promise<WorkspaceWatcher> {
  if (await parcelLoads()) return startParcelWatcher(assetsDir, listener);
  return startChokidarWatcher(assetsDir, listener);
}
