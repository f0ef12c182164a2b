/** Start-up: the time from spawning the packer server to its `initialize` result, against a no-op vscode-jsonrpc server started the same way. */
import type { ReportRow } from './report.js';
import { noopServerCommand, startServer, type ServerCommand } from './server-process.js';
import { formatMilliseconds, median } from './statistics.js';

/** Spawn-to-initialize times of the packer server and of the floor, in ms, one sample of each per round. */
export interface StartupResult {
  readonly subjectMs: readonly number[];
  readonly floorMs: readonly number[];
}

/** One spawn → `initialize` result, timed from just before the spawn; the server is stopped afterwards. */
async function timeStartup(command: ServerCommand): Promise<number> {
  const started = performance.now();
  const server = await startServer(command);
  const elapsed = performance.now() - started;
  await server.stop();
  return elapsed;
}

/**
 * Measures start-up `repetitions` times, alternating the packer server and the no-op floor so that a
 * change in the machine's load shifts both alike. Neither is given a workspace folder: this is the cost
 * of loading the server and answering `initialize`, not of opening a project.
 */
export async function measureStartup(server: ServerCommand, repetitions: number): Promise<StartupResult> {
  const floor = noopServerCommand();
  const subjectMs: number[] = [];
  const floorMs: number[] = [];
  // One unmeasured round of each warms the page cache for both scripts and their modules.
  await timeStartup(server);
  await timeStartup(floor);
  for (let round = 0; round < repetitions; round++) {
    subjectMs.push(await timeStartup(server));
    floorMs.push(await timeStartup(floor));
  }
  return { subjectMs, floorMs };
}

/** The start-up row: medians and their ratio, with issue 13's goal (≤ 1.2×). */
export function startupRow(result: StartupResult): ReportRow {
  const subject = median(result.subjectMs);
  const floor = median(result.floorMs);
  return {
    metric: `spawn → initialize result (median of ${result.subjectMs.length}; floor: no-op vscode-jsonrpc server)`,
    subject: formatMilliseconds(subject),
    floor: formatMilliseconds(floor),
    ratio: subject / floor,
    goal: 1.2,
  };
}
