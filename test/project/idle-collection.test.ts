/**
 * The idle collector: it collects the main thread's heap once the process is quiet after a burst of
 * allocation, never while a client talks to it or a thread works, and not again until the heap grows anew.
 */
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { collectGarbage, IdleCollector, type IdleCollectorProbe } from '../../server/src/io/idle-collection.js';

const MiB = 1024 * 1024;

/** A probe whose heap and CPU the test sets, counting the collections (each leaves `live`). */
function fakeProbe(
  start: number,
): IdleCollectorProbe & { used: number; busy: number; live: number; collections: number } {
  const probe = {
    used: start,
    busy: 0,
    live: start,
    collections: 0,
    heapUsed: () => probe.used,
    busyShare: () => probe.busy,
    collect: () => {
      probe.collections++;
      probe.used = probe.live;
    },
  };
  return probe;
}

const settings = { quietTicks: 3, maxBusyShare: 0.05, minGrowthBytes: 32 * MiB, minGrowthShare: 0.5 };

describe('IdleCollector', () => {
  it('collects once the heap has grown past both thresholds and the process was quiet for three ticks', () => {
    const probe = fakeProbe(40 * MiB);
    const collector = new IdleCollector(probe, settings);
    probe.used = 400 * MiB;
    probe.live = 250 * MiB;
    expect([collector.tick(), collector.tick()]).toEqual([false, false]);
    expect(collector.tick()).toBe(true);
    expect(probe.collections).toBe(1);
  });

  it('does not collect while messages come in or a thread keeps the process busy', () => {
    const probe = fakeProbe(40 * MiB);
    const collector = new IdleCollector(probe, settings);
    probe.used = 400 * MiB;
    for (let tick = 0; tick < 10; tick++) {
      if (tick % 2 === 0) collector.noteInput();
      else probe.busy = 0.5;
      expect(collector.tick()).toBe(false);
      probe.busy = 0;
    }
    // Quiet from here on: the third quiet tick in a row collects.
    expect([collector.tick(), collector.tick(), collector.tick()]).toEqual([false, false, true]);
  });

  it('does not collect an idle server again until its heap grows anew', () => {
    const probe = fakeProbe(40 * MiB);
    const collector = new IdleCollector(probe, settings);
    probe.used = 400 * MiB;
    probe.live = 250 * MiB;
    for (let tick = 0; tick < 3; tick++) collector.tick();
    expect(probe.collections).toBe(1);
    // A little garbage since: under half the live heap, so not worth a collection.
    probe.used = 300 * MiB;
    for (let tick = 0; tick < 20; tick++) expect(collector.tick()).toBe(false);
    probe.used = 380 * MiB;
    for (let tick = 0; tick < 3; tick++) collector.tick();
    expect(probe.collections).toBe(2);
  });

  it('counts the growth from the last full collection V8 made itself, so its garbage is not collected again', () => {
    const probe = fakeProbe(40 * MiB);
    const collector = new IdleCollector(probe, settings);
    probe.used = 400 * MiB;
    probe.busy = 1;
    collector.tick();
    // V8 collected on its own while the burst went on: what is left is live.
    probe.used = 260 * MiB;
    collector.noteCollection();
    collector.tick();
    probe.busy = 0;
    probe.used = 270 * MiB;
    for (let tick = 0; tick < 10; tick++) expect(collector.tick()).toBe(false);
    expect(probe.collections).toBe(0);
  });

  it('leaves a small heap that grew by less than the fixed minimum alone, though it doubled', () => {
    const probe = fakeProbe(10 * MiB);
    const collector = new IdleCollector(probe, settings);
    probe.used = 30 * MiB;
    probe.live = 12 * MiB;
    for (let tick = 0; tick < 10; tick++) expect(collector.tick()).toBe(false);
  });
});

describe('collectGarbage', () => {
  it('frees what nothing holds any more, without the process having been started with --expose-gc', () => {
    const garbage: (number[] | null)[] = Array.from({ length: 2000 }, (_, index) =>
      new Array<number>(2000).fill(index),
    );
    const held = getHeapStatistics().used_heap_size;
    expect(garbage.length).toBe(2000);
    garbage.fill(null);
    collectGarbage();
    // About 30 MiB of arrays were dropped; at least most of them are gone.
    expect(held - getHeapStatistics().used_heap_size).toBeGreaterThan(16 * MiB);
  });
});
