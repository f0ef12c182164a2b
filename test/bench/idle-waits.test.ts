// Unit tests of the bench's idle waits: the budget by call site, and where a wait may start its quiet stretch.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { idleWaitSites, setWaitScope, startServer, type ServerProcess } from '../../bench/src/server-process.js';
import { formatWaitSites, type WaitSiteEntry } from '../../bench/src/time-budget.js';

const NOOP = fileURLToPath(new URL('../../bench/dist/noop-server.js', import.meta.url));

function entry(scope: string, site: string, ms: number): WaitSiteEntry {
  return { scope, site, waits: 2, continued: 1, ms, workingMs: ms / 4, quietMs: (3 * ms) / 4 };
}

describe('formatWaitSites', () => {
  it('lists the large sites largest first and folds the small ones into one line, with every wait in the total', () => {
    const text = formatWaitSites(
      [entry('core 1k', 'a x.js:1', 2000), entry('core 1k', 'b x.js:2', 500), entry('lane 10k', 'c x.js:3', 8000)],
      true,
    );
    const lines = text.split('\n');
    expect(lines[2]).toBe('| lane 10k | c x.js:3 | 2 | 1 | 8.0 | 2.0 | 6.0 |');
    expect(lines[3]).toBe('| core 1k | a x.js:1 | 2 | 1 | 2.0 | 0.5 | 1.5 |');
    expect(lines[4]).toBe('| the other 1 sites |  | 2 | 1 | 0.5 | 0.1 | 0.4 |');
    expect(lines[5]).toBe('| every wait |  | 6 | 3 | 10.5 | 2.6 | 7.9 |');
  });
});

describe('idle waits on a live process', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer({ script: NOOP, args: ['--stdio'] });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('books a wait to the scope set before it, under the bench function that waited', async () => {
    const before = setWaitScope('test 1k');
    async function waitedHere(): Promise<void> {
      await server.untilIdle(20);
    }
    try {
      await waitedHere();
    } finally {
      setWaitScope(before);
    }
    const booked = idleWaitSites().filter((site) => site.scope === 'test 1k');
    expect(booked.map((site) => site.site.split(' ')[0])).toContain('waitedHere');
    expect(booked.reduce((sum, site) => sum + site.waits, 0)).toBe(1);
  });

  it('starts the quiet stretch at the CPU reading after the last answer when the process used no tick since', async () => {
    // A process may use a tick now and then (a collection); the rule holds whenever it did not.
    let startedEarlier = false;
    for (let attempt = 0; attempt < 50 && !startedEarlier; attempt++) {
      await server.request('bench/echo', { key: 'nothing' });
      await new Promise((resolve) => setImmediate(resolve));
      const called = performance.now();
      startedEarlier = (await server.untilIdle(1)) < called;
    }
    expect(startedEarlier).toBe(true);
  });

  it('never starts the quiet stretch before a notification the bench sent', async () => {
    await server.request('bench/echo', { key: 'nothing' });
    await new Promise((resolve) => setImmediate(resolve));
    const sent = performance.now();
    await server.connection.sendNotification('bench/nothing', {});
    expect(await server.untilIdle(1)).toBeGreaterThanOrEqual(sent);
  });
});
