/**
 * One full garbage collection of the main thread once the server has gone idle after a burst of allocation
 * (an open, a reload, a pack): V8 collects when it allocates, and an idle server does not, so without it the
 * garbage of the last burst (about 340 MiB after a 100k open) stays resident until the next one.
 */
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What the collector reads and does; the server's own in {@link startIdleCollection}, a test's in a test. */
export interface IdleCollectorProbe {
  /** Bytes in use on the main thread's heap now, garbage included. */
  heapUsed(): number;
  /** The CPU the process used since the previous call, as a share of that time on one core. */
  busyShare(): number;
  /** Collects every generation of the main thread's heap at once. */
  collect(): void;
}

/** When the collector collects (see {@link IdleCollector.tick}). */
export interface IdleCollectorSettings {
  /** How many ticks in a row must be quiet: no input, and the process busy at most `maxBusyShare` of them. */
  readonly quietTicks: number;
  readonly maxBusyShare: number;
  /** The heap must have grown by at least this many bytes since the last collection, and … */
  readonly minGrowthBytes: number;
  /** … by at least this share of what the last collection left. */
  readonly minGrowthShare: number;
}

/** The server's settings: ticks of 100 ms, so 300 ms of quiet; 32 MiB and half the live heap of growth. */
export const IDLE_COLLECTION: IdleCollectorSettings = {
  quietTicks: 3,
  maxBusyShare: 0.05,
  minGrowthBytes: 32 * 1024 * 1024,
  minGrowthShare: 0.5,
};

/** How often the server's collector looks, in ms. */
const TICK_MS = 100;

/**
 * Decides, one tick at a time, when a collection is worth it and harms nobody: the process has been quiet
 * (no message came in, and it used nearly no CPU on any thread) for `quietTicks` ticks in a row, and the heap
 * has grown well past what the last collection left, which only a burst of allocation does. A collection
 * of live data gives nothing back, so the growth is measured from the heap the last collection left: after
 * one, the next waits for the next burst, and a server that stays idle is never collected twice.
 */
export class IdleCollector {
  /** Invariant: how many ticks in a row were quiet, up to now. */
  private quiet = 0;
  /** Invariant: the smallest heap seen since the last full collection, or what it left (the live data, roughly). */
  private floor: number;
  /** Invariant: set by {@link noteInput} since the last tick. */
  private input = false;

  constructor(
    private readonly probe: IdleCollectorProbe,
    private readonly settings: IdleCollectorSettings = IDLE_COLLECTION,
  ) {
    this.floor = probe.heapUsed();
  }

  /**
   * Says V8 made a full collection of its own (the heap left is live, roughly): the growth counts from here,
   * so the garbage it already collected is not collected again.
   */
  noteCollection(): void {
    this.floor = this.probe.heapUsed();
  }

  /** Says a message came in: a client is working with the server, so a collection now would delay it. */
  noteInput(): void {
    this.input = true;
  }

  /** Looks once; returns true when it collected. */
  tick(): boolean {
    const busy = this.probe.busyShare();
    const used = this.probe.heapUsed();
    // V8's own collections lower the heap too: the growth counts from the lowest heap seen.
    if (used < this.floor) this.floor = used;
    const quietNow = !this.input && busy <= this.settings.maxBusyShare;
    this.input = false;
    this.quiet = quietNow ? this.quiet + 1 : 0;
    if (this.quiet < this.settings.quietTicks) return false;
    const growth = used - this.floor;
    if (growth < this.settings.minGrowthBytes || growth < this.floor * this.settings.minGrowthShare) return false;
    this.probe.collect();
    this.floor = this.probe.heapUsed();
    this.quiet = 0;
    return true;
  }
}

/**
 * V8's `gc` function, made at the first collection: `--expose-gc` set at run time and taken from a new
 * context (the flag adds it to contexts made after it). Set late on purpose: a flag changed before the
 * server's bundle is compiled would make V8 reject the bundle's code cache.
 */
let gcFunction: (() => void) | undefined;

/** Collects every generation of this thread's heap at once (a full, compacting collection). */
export function collectGarbage(): void {
  if (gcFunction === undefined) {
    setFlagsFromString('--expose-gc');
    gcFunction = runInNewContext('gc') as () => void;
  }
  gcFunction();
}

/**
 * Starts the server process's idle collector: a tick every 100 ms on an unreferenced timer (it never keeps the
 * process alive). `input` is the stream requests come in on: any data on it makes the current tick busy.
 * Returns the function that stops it. With `PACKER_DEBUG_MEMORY=1` in the environment, each collection is noted
 * on stderr with the heap before and after it and its duration.
 */
export function startIdleCollection(input: NodeJS.ReadableStream): () => void {
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  const collector = new IdleCollector({
    heapUsed: () => getHeapStatistics().used_heap_size,
    // The CPU of the whole process (every thread), as a share of one core: a worker still checking formats
    // or crawling means the burst is not over, though the main thread waits idle for it.
    busyShare: () => {
      const cpu = process.cpuUsage(lastCpu);
      const at = performance.now();
      const share = (cpu.user + cpu.system) / 1000 / Math.max(1, at - lastAt);
      lastCpu = process.cpuUsage();
      lastAt = at;
      return share;
    },
    collect: () => {
      if (process.env['PACKER_DEBUG_MEMORY'] !== '1') return collectGarbage();
      const before = getHeapStatistics();
      const started = performance.now();
      collectGarbage();
      const after = getHeapStatistics();
      const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
      process.stderr.write(
        `[packer-server] idle collection: heap used ${mib(before.used_heap_size)} -> ${mib(after.used_heap_size)} MiB, committed ${mib(before.total_heap_size)} -> ${mib(after.total_heap_size)} MiB, in ${(performance.now() - started).toFixed(1)} ms\n`,
      );
    },
  });
  const onData = (): void => collector.noteInput();
  input.on('data', onData);
  const stopReport = process.env['PACKER_DEBUG_MEMORY'] === '1' ? reportMemoryOnSignal() : () => undefined;
  // V8's own full collections (and this collector's) move the floor the growth is counted from.
  const observer = new PerformanceObserver((list) => {
    const major = list
      .getEntries()
      .some(
        (entry) =>
          (entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR,
      );
    if (major) collector.noteCollection();
  });
  observer.observe({ entryTypes: ['gc'] });
  const timer = setInterval(() => collector.tick(), TICK_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    observer.disconnect();
    stopReport();
    input.off('data', onData);
  };
}

/** One line of the main thread's heap figures, in MiB: used and committed per heap space, and outside the heap. */
function memoryLine(label: string): string {
  const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
  const heap = getHeapStatistics();
  const usage = process.memoryUsage();
  const spaces = getHeapSpaceStatistics()
    .filter((space) => space.space_size > 0)
    .map((space) => `${space.space_name} ${mib(space.space_used_size)}/${mib(space.physical_space_size)}`)
    .join(', ');
  return `[packer-server] memory ${label}: rss ${mib(usage.rss)}, heap used ${mib(heap.used_heap_size)}, committed ${mib(heap.total_heap_size)}, physical ${mib(heap.total_physical_size)}, malloced ${mib(heap.malloced_memory)} (peak ${mib(heap.peak_malloced_memory)}), external ${mib(usage.external)}, array buffers ${mib(usage.arrayBuffers)}; spaces used/physical: ${spaces}\n`;
}

/**
 * A debugging aid (`PACKER_DEBUG_MEMORY=1`): on `SIGUSR2` the main thread's heap figures are written to stderr,
 * before and after one full collection, so a measurement can tell live memory from garbage and from what lies
 * outside V8's heap. Returns the function that stops listening.
 */
function reportMemoryOnSignal(): () => void {
  const onSignal = (): void => {
    process.stderr.write(memoryLine('now'));
    collectGarbage();
    process.stderr.write(memoryLine('after a full collection'));
  };
  process.on('SIGUSR2', onSignal);
  return () => process.off('SIGUSR2', onSignal);
}
