/**
 * Preloaded into a packer server by the bench (`node --import <this file>`, see event-loop-report.ts): measures
 * the server's own event-loop blocks with `perf_hooks.monitorEventLoopDelay` and, on each SIGUSR2, appends
 * the longest delay since the previous signal to a file named after the process, then starts over.
 */
import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

// Worker threads inherit the preload, but signals reach the main thread only, and only its loop answers reads.
if (isMainThread) {
  // A 1 ms timer: a block of the main thread delays it by the block's length, which the histogram records.
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const file = join(tmpdir(), `packer-event-loop-${process.pid}.txt`);
  process.on('SIGUSR2', () => {
    // Nanoseconds; one line per report: the longest delay, the p99 and how many samples the window held.
    appendFileSync(file, `${histogram.max} ${histogram.percentile(99)} ${histogram.count}\n`);
    histogram.reset();
  });
}
