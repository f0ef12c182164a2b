/**
 * A watcher armed while the project opens: its backend's subscribe (a walk of every folder on a thread of its
 * own) runs beside the open's crawl instead of after the open's answer, and the watch takes it over when it
 * starts. What the watcher reported before the takeover is held and handed to the watch with it.
 */
import type { WatcherFactory, WatchListener, WorkspaceWatcher } from './watcher.js';

/** What the subscription started early has seen so far. */
interface EarlyArming {
  /** Settles with the armed watcher, or with the error that kept it from arming. */
  readonly armed: Promise<{ watcher: WorkspaceWatcher } | { error: unknown }>;
  /** Invariant: the paths reported before the takeover, in the order they came; emptied by the takeover. */
  readonly paths: string[];
  /** Invariant: set once the backend reported a fault before the takeover; such a watcher is never handed over. */
  fault: string | undefined;
  /** Invariant: the listener after the takeover; until then reports are held in {@link paths}. */
  listener: WatchListener | undefined;
}

/** A watcher factory whose first call takes over a subscription started earlier, and whether that is still to come. */
export interface EarlyWatcher {
  /** The factory to give the watch: its first call hands over the early subscription, later calls arm afresh. */
  readonly factory: WatcherFactory;
  /** Closes the early subscription when no watch took it over (the open failed). */
  discard(): Promise<void>;
}

/**
 * Starts `factory` on `assetsDir` at once. The returned factory's first call on the same folder resolves with
 * that subscription once it is armed, carrying the paths reported before the takeover as `heldPaths`; a subscription that failed or faulted before the takeover is closed and
 * the call arms afresh with `factory`, so the watch sees the same outcome (an error, a degraded state) as if it
 * had armed then. Later calls (recovery after a fault) always arm afresh.
 */
export function armEarly(factory: WatcherFactory, assetsDir: string): EarlyWatcher {
  const early: EarlyArming = {
    armed: Promise.resolve({ error: new Error('not started') }),
    paths: [],
    fault: undefined,
    listener: undefined,
  };
  const listener: WatchListener = {
    onChanges: (paths) => {
      if (early.listener !== undefined) early.listener.onChanges(paths);
      else for (const path of paths) early.paths.push(path);
    },
    onFault: (reason) => {
      if (early.listener !== undefined) early.listener.onFault(reason);
      else early.fault ??= reason;
    },
  };
  (early as { armed: EarlyArming['armed'] }).armed = factory(assetsDir, listener).then(
    (watcher) => ({ watcher }),
    (error: unknown) => ({ error }),
  );
  let taken = false;
  return {
    factory: async (dir, watchListener) => {
      if (taken || dir !== assetsDir) return factory(dir, watchListener);
      taken = true;
      const armed = await early.armed;
      if ('error' in armed || early.fault !== undefined) {
        if ('watcher' in armed) await armed.watcher.close().catch(() => undefined);
        return factory(dir, watchListener);
      }
      const watcher = armed.watcher;
      // From here on the watch hears every report at once; what came before goes with the watcher.
      early.listener = watchListener;
      return { backend: watcher.backend, close: () => watcher.close(), heldPaths: early.paths.splice(0) };
    },
    discard: async () => {
      if (taken) return;
      taken = true;
      const armed = await early.armed;
      if ('watcher' in armed) await armed.watcher.close().catch(() => undefined);
    },
  };
}
