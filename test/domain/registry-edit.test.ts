/**
 * The registry after recorded edits (the planner's `noteRegistryEdit`): over seeded random sequences of
 * added, removed and changed entries, what the commit path derives from the edit instead of walking the
 * lists (the check, the serialised pieces, the journal's patch, the order) equals what a walk of an
 * unrecorded copy gives.
 */
import type { RegistryEntry, RegistryFile } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import { createRandom } from '../../tools/dist/prng.js';
import {
  checkRegistry,
  checkRegistryAfter,
  lowerBoundId,
  noteRegistryEdit,
  registryEdit,
  registryPatch,
  serializeRegistry,
  serializeRegistryPieces,
  strictlySorted,
  type ParsedRegistry,
} from '../../server/src/domain/registry.js';
import { uuidFor } from '../support/workspace-builder.js';

function entry(id: number, root: string, included = true): RegistryEntry {
  return { asset_id: id, asset_uuid: uuidFor(`${root}#${id}`), root, included_in_build: included };
}

/** A copy with the same entries and no recorded edit: what the walks see. */
function unrecorded(registry: RegistryFile): RegistryFile {
  return { ...registry, assets: [...registry.assets] };
}

/** One random edit of `registry` as the planner makes it (kept entries keep their order), recorded. */
function edit(registry: RegistryFile, random: () => number, serial: { next: number }): RegistryFile {
  const assets = registry.assets.slice();
  const pick = (): number => Math.floor(random() * assets.length);
  const choice = assets.length === 0 ? 0 : Math.floor(random() * 3);
  if (choice === 0) {
    // Fresh ids mostly at the end, sometimes in a gap below (a reassigned or restored id).
    const id = random() < 0.7 ? registry.next_asset_id : Math.floor(random() * registry.next_asset_id);
    if (assets.some((candidate) => candidate.asset_id === id)) return registry;
    const added = entry(id, `r/${serial.next++}`);
    assets.splice(lowerBoundId(assets, id + 1), 0, added);
    const next = { ...registry, next_asset_id: Math.max(registry.next_asset_id, id + 1), assets };
    noteRegistryEdit(registry, next, [], [added]);
    return next;
  }
  const at = pick();
  const old = assets[at]!;
  if (choice === 1) {
    assets.splice(at, 1);
    const next = { ...registry, assets };
    noteRegistryEdit(registry, next, [old], []);
    return next;
  }
  // Changed in place: a new root, a flipped inclusion, or sometimes an equal copy (no change at all).
  const roll = random();
  const updated =
    roll < 0.4
      ? { ...old, root: `r/${serial.next++}` }
      : roll < 0.8
        ? { ...old, included_in_build: !old.included_in_build }
        : { ...old };
  assets[at] = updated;
  const next = { ...registry, assets };
  noteRegistryEdit(registry, next, [old], [updated]);
  return next;
}

describe('a registry changed by recorded edits', () => {
  it('is checked, serialised, patched and ordered exactly as the walks of an unrecorded copy say', async () => {
    const generator = createRandom(4242);
    const random = (): number => generator.next();
    for (let run = 0; run < 20; run++) {
      const serial = { next: 0 };
      const size = Math.floor(random() * 300);
      let registry: RegistryFile = {
        schema_version: 1,
        next_asset_id: size + 1,
        assets: Array.from({ length: size }, (_, index) => entry(index + 1, `r/${serial.next++}`)),
      };
      let parsed: ParsedRegistry = checkRegistry(registry);
      await serializeRegistryPieces(registry);
      for (let commit = 0; commit < 15; commit++) {
        const before = registry;
        // A plan may change several entries: the consumers compose the steps.
        const steps = 1 + Math.floor(random() * 3);
        for (let step = 0; step < steps; step++) registry = edit(registry, random, serial);
        const copy = unrecorded(registry);
        expect(strictlySorted(registry)).toBe(true);
        expect(registryEdit(before, registry)).toBeDefined();
        const after = checkRegistryAfter(parsed, registry);
        expect({ ...after, registry: null }).toEqual({ ...checkRegistry(copy), registry: null });
        expect(Buffer.concat(await serializeRegistryPieces(registry)).toString('utf8')).toBe(serializeRegistry(copy));
        expect(registryPatch(before, registry)).toEqual(registryPatch(unrecorded(before), copy));
        parsed = after;
      }
    }
  });

  it('is not taken for sorted when an edit put an entry out of order', () => {
    const base: RegistryFile = { schema_version: 1, next_asset_id: 4, assets: [entry(1, 'a'), entry(3, 'c')] };
    expect(strictlySorted(base)).toBe(true);
    const misplaced = entry(2, 'b');
    const next = { ...base, assets: [misplaced, ...base.assets] };
    noteRegistryEdit(base, next, [], [misplaced]);
    expect(strictlySorted(next)).toBe(false);
  });
});
