/** The bench's side of event-loop-probe.ts: starts packer servers with the probe and asks one for the longest block of its main thread. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ServerCommand } from './server-process.js';

/** `command` with the event-loop probe preloaded into the server (its main thread only). */
export function withEventLoopProbe(command: ServerCommand): ServerCommand {
  const probe = pathToFileURL(fileURLToPath(new URL('./event-loop-probe.js', import.meta.url))).href;
  return { ...command, nodeOptions: [...(command.nodeOptions ?? []), `--import=${probe}`] };
}

function probeFile(pid: number): string {
  return join(tmpdir(), `packer-event-loop-${pid}.txt`);
}

function reportsOf(pid: number): string[] {
  const file = probeFile(pid);
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
}

/** One window of the server's event loop, as the probe measured it. */
export interface EventLoopWindow {
  /** The longest delay of the probe's 1 ms timer in the window: the longest block of the main thread, in ms. */
  readonly maxMs: number;
  readonly p99Ms: number;
}

/**
 * Ends the server's current event-loop window and starts the next: sends SIGUSR2 and waits (up to 30 s) for
 * the probe's line. The signal is handled on the server's event loop, so a block in progress is counted in full.
 */
export async function eventLoopWindow(pid: number): Promise<EventLoopWindow> {
  const before = reportsOf(pid).length;
  process.kill(pid, 'SIGUSR2');
  const deadline = performance.now() + 30_000;
  for (;;) {
    const reports = reportsOf(pid);
    if (reports.length > before) {
      const [max, p99] = reports[before]!.split(' ').map(Number);
      return { maxMs: max! / 1e6, p99Ms: p99! / 1e6 };
    }
    if (performance.now() > deadline) throw new Error(`the event-loop probe of process ${pid} did not answer`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Removes the probe's file of a server that has stopped. */
export function removeEventLoopReports(pid: number): void {
  rmSync(probeFile(pid), { force: true });
}
