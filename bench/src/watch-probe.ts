/**
 * The watcher-readiness probe: a child process that arms one backend alone, or a packer host's watcher, and
 * prints the timings; or one that builds one snapshot and prints the heap it holds.
 */
import { pathToFileURL } from 'node:url';
import { PackerHost } from '@prometeu/packer-server';
import { residentBytesOf } from './server-process.js';

/** What the `backend` mode prints. */
export interface BackendProbe {
  readonly backend: 'parcel' | 'chokidar';
  /** Loading the backend's module, in ms. */
  readonly importMs: number;
  /** From the call that starts watching to the backend saying it is armed, in ms. */
  readonly readyMs: number;
  /** VmRSS before the module was loaded and once armed, in bytes. */
  readonly residentBeforeBytes: number;
  readonly residentArmedBytes: number;
}

/** What the `host` mode prints; times are from `open` resolving (the moment `openProject` would be answered). */
export interface HostProbe {
  readonly backend: string;
  /** `PackerHost.open` itself, in ms. */
  readonly openMs: number;
  /** Until the factory was called (fingerprinting before arming), in ms. */
  readonly factoryCalledMs: number;
  /** Until the backend was armed, in ms. */
  readonly armedMs: number;
  /** The backend's own start inside the factory, in ms. */
  readonly backendStartMs: number;
  /** Until `watch.stateChanged {state: 'watching'}` (after the verification pass), in ms. */
  readonly watchingMs: number;
  /** VmRSS once watching, in bytes. */
  readonly residentWatchingBytes: number;
}

/** What the `snapshot` mode prints. */
export interface SnapshotProbe {
  readonly roots: number;
  /** Files the crawl listed. */
  readonly files: number;
  /** Live heap after a full collection, before the snapshot was built and with it held, in bytes. */
  readonly heapBeforeBytes: number;
  readonly heapWithSnapshotBytes: number;
  /** Of which the crawl's list of files (paths the snapshot keeps), measured the same way, in bytes. */
  readonly crawlBytes: number;
  /** Building it (`loadSnapshot`: crawl, registry, declarations, diagnostics), in ms. */
  readonly buildMs: number;
}

/** The live heap after full collections (the probe runs with --expose-gc). */
function liveHeapBytes(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the snapshot probe needs node --expose-gc');
  for (let pass = 0; pass < 3; pass++) gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Builds the snapshot of `projectDir` in this process, as the server's loader does (format results aside:
 * they arrive from the validation worker later), and measures the heap it holds and, apart, what the
 * crawl's file list alone holds.
 */
async function probeSnapshot(projectDir: string): Promise<SnapshotProbe> {
  const { loadSnapshot } = await import('../../server/dist/project/loader.js');
  const { crawlAssets } = await import('../../server/dist/domain/crawl.js');
  const { ProjectFs } = await import('../../server/dist/io/project-fs.js');
  // Every module is loaded and warm before the first measurement.
  loadSnapshot(projectDir, 0);
  const heapBeforeBytes = liveHeapBytes();
  // Held only inside this function, and read after the measurement so that it is alive during it.
  const held = (): { roots: number; buildMs: number; heapWithSnapshotBytes: number } => {
    const started = performance.now();
    const snapshot = loadSnapshot(projectDir, 1);
    const buildMs = performance.now() - started;
    const heapWithSnapshotBytes = liveHeapBytes();
    return { roots: snapshot.assets.length, buildMs, heapWithSnapshotBytes };
  };
  const { roots, buildMs, heapWithSnapshotBytes } = held();
  const heapWithoutBytes = liveHeapBytes();
  const crawl = crawlAssets(ProjectFs.openRoot(projectDir).at('assets'));
  const crawlBytes = liveHeapBytes() - heapWithoutBytes;
  return { roots, files: crawl.files.length, heapBeforeBytes, heapWithSnapshotBytes, crawlBytes, buildMs };
}

async function probeBackend(backend: string, assetsDir: string): Promise<BackendProbe> {
  const residentBeforeBytes = residentBytesOf(process.pid);
  if (backend === 'parcel') {
    let started = performance.now();
    const parcel = await import('@parcel/watcher');
    const importMs = performance.now() - started;
    started = performance.now();
    await parcel.subscribe(assetsDir, () => undefined);
    const readyMs = performance.now() - started;
    return { backend, importMs, readyMs, residentBeforeBytes, residentArmedBytes: residentBytesOf(process.pid) };
  }
  if (backend === 'chokidar') {
    let started = performance.now();
    // The server's chokidar backend, with its options and ignore function.
    const { startChokidarWatcher } = await import('../../server/dist/watch/watcher.js');
    await import('chokidar');
    const importMs = performance.now() - started;
    started = performance.now();
    await startChokidarWatcher(assetsDir, { onChanges: () => undefined, onFault: () => undefined });
    const readyMs = performance.now() - started;
    return { backend, importMs, readyMs, residentBeforeBytes, residentArmedBytes: residentBytesOf(process.pid) };
  }
  throw new RangeError(`unknown backend ${backend}`);
}

async function probeHost(projectDir: string): Promise<HostProbe> {
  const { startWatcher } = await import('../../server/dist/watch/watcher.js');
  let factoryCalledAt = Number.NaN;
  let armedAt = Number.NaN;
  let backend = 'none';
  const host = new PackerHost({
    // The host's own choice ('auto': the native backend when it loads), timed.
    watcher: async (assetsDir, listener) => {
      factoryCalledAt = performance.now();
      const watcher = await startWatcher(assetsDir, listener);
      armedAt = performance.now();
      backend = watcher.backend;
      return watcher;
    },
  });
  const watching = new Promise<number>((resolve, reject) => {
    host.subscribe((event) => {
      if (event.kind !== 'watch.stateChanged') return;
      if (event.body.state === 'watching') resolve(performance.now());
      else if (event.body.state === 'degraded') reject(new Error(`watching degraded: ${event.body.reason ?? ''}`));
    });
  });
  const started = performance.now();
  await host.open(pathToFileURL(projectDir).href);
  const opened = performance.now();
  const watchingAt = await watching;
  return {
    backend,
    openMs: opened - started,
    factoryCalledMs: factoryCalledAt - opened,
    armedMs: armedAt - opened,
    backendStartMs: armedAt - factoryCalledAt,
    watchingMs: watchingAt - opened,
    residentWatchingBytes: residentBytesOf(process.pid),
  };
}

/**
 * `node watch-probe.js backend parcel|chokidar ASSETS_DIR` arms one backend alone; `node watch-probe.js host
 * PROJECT_DIR FILE_COUNT` opens the project in an in-process packer host with a timed watcher factory;
 * `node --expose-gc watch-probe.js snapshot PROJECT_DIR` builds one snapshot. Each prints what it measured
 * as one JSON line and exits.
 */
async function main(argv: readonly string[]): Promise<void> {
  const [mode, first, second] = argv;
  if (first === undefined)
    throw new RangeError(
      'usage: watch-probe.js backend parcel|chokidar ASSETS_DIR | host PROJECT_DIR FILE_COUNT | snapshot PROJECT_DIR',
    );
  const result =
    mode === 'backend'
      ? await probeBackend(first, second ?? '')
      : mode === 'host'
        ? await probeHost(first)
        : mode === 'snapshot'
          ? await probeSnapshot(first)
          : undefined;
  if (result === undefined) throw new RangeError(`unknown mode ${String(mode)}`);
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`watch-probe: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
