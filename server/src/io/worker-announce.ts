/**
 * A debugging aid for the server's worker threads: with `PACKER_DEBUG_WORKERS=1` in the environment, each
 * worker says on stderr which script it runs and in which thread, so a test can tell that the installed or
 * bundled server really checks formats and crawls off the main thread rather than falling back inline.
 */
import { writeSync } from 'node:fs';
import { isMainThread, threadId } from 'node:worker_threads';

/**
 * Writes `[packer-server] <name> worker: thread <id>, main thread <bool>, script <url>` to stderr when
 * `PACKER_DEBUG_WORKERS` is `1`. The write goes straight to file descriptor 2 rather than through the
 * worker's `process.stderr`, which the main thread relays later and a terminated worker may never flush.
 */
export function announceWorker(name: string, scriptUrl: string): void {
  if (process.env['PACKER_DEBUG_WORKERS'] !== '1') return;
  writeSync(
    2,
    `[packer-server] ${name} worker: thread ${threadId}, main thread ${isMainThread}, script ${scriptUrl}\n`,
  );
}
