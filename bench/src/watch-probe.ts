/** The watcher-readiness probe: a child process that arms one backend alone, or a packer host's watcher, and prints the timings. */
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
 * PROJECT_DIR FILE_COUNT` opens the project in an in-process packer host with a timed watcher factory.
 * Either prints what it measured as one JSON line and exits.
 */
async function main(argv: readonly string[]): Promise<void> {
  const [mode, first, second] = argv;
  if (first === undefined)
    throw new RangeError('usage: watch-probe.js backend parcel|chokidar ASSETS_DIR | host PROJECT_DIR FILE_COUNT');
  const result =
    mode === 'backend' ? await probeBackend(first, second ?? '') : mode === 'host' ? await probeHost(first) : undefined;
  if (result === undefined) throw new RangeError(`unknown mode ${String(mode)}`);
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`watch-probe: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
