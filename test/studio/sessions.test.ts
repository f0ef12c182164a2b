/**
 * Recorded protocol sessions fed to the Studio reducer: the transcripts under test/transcripts are replayed
 * against the in-process server, every message the server sent goes through the reducer, and the resulting
 * view models are pinned. Every figure of every view is traced to the packer field it names.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readInitializeReply, runTranscript } from '../support/transcript-harness.js';
import { reduceAll, type StudioMessage, type StudioState } from '../../studio/src/index.js';
import { figuresIn, sessionMessages, tracedValue } from './support.js';

const transcripts = fileURLToPath(new URL('../transcripts/', import.meta.url));

/** Replays one transcript and reduces everything the server said. */
async function session(name: string): Promise<{ messages: StudioMessage[]; state: StudioState }> {
  const run = await runTranscript(readFileSync(join(transcripts, name), 'utf8'), {
    fixturesDir: join(transcripts, 'fixtures'),
    initializeReply: readInitializeReply(transcripts),
  });
  expect(run.problems).toEqual([]);
  const messages = sessionMessages(run.sent, run.received);
  return { messages, state: reduceAll(messages) };
}

/** Every figure in the state equals the value at its source field in the message it names. */
function expectEveryFigureTraced(state: StudioState, messages: readonly StudioMessage[]): number {
  const figures = figuresIn(state);
  for (const { at, figure } of figures)
    expect(tracedValue(figure, messages), `${at} (${figure.label})`).toBe(figure.value);
  return figures.length;
}

describe('recorded sessions through the studio reducer', () => {
  it('a rename shows its preview card, then applied from its terminal event, with the new revision', async () => {
    const { messages, state } = await session('mutations/rename.transcript');
    expect(state.previews).toHaveLength(1);
    const card = state.previews[0]!;
    expect(card.previewId).toBe('pv-2-1');
    expect(card.applicable).toBe(true);
    expect(card.filesystemChanges).toEqual([{ change: 'modify', path: 'characters/hero/asset.json', kind: 'file' }]);
    expect(card.status).toBe('applied');
    const apply = state.activity.find((operation) => operation.operationId === 'op-1')!;
    expect(apply.status).toBe('succeeded');
    expect(apply.statusFrom).toBe('event 8 operation.succeeded');
    expect(apply.outcome?.outcome).toBe('applied');
    // Revision 3 is the rename; revision 4 publishes its format checks.
    expect(state.revision).toBe(4);
    expect(state.details?.row.name).toBe('Hero of Time');
    expect(expectEveryFigureTraced(state, messages)).toBeGreaterThan(0);
  });

  it('the navigator shows every listed asset with its badges, and the header counts come from the status', async () => {
    const { messages, state } = await session('reads/basic-reads.transcript');
    const listed = messages.findLast(
      (message) =>
        message.type === 'response' && message.method === 'listAssets' && message.params.filter === undefined,
    );
    const assets = listed?.type === 'response' && listed.method === 'listAssets' ? listed.result.assets : [];
    expect(state.navigator?.rows.map((row) => row.root)).toEqual(assets.map((asset) => asset.root));
    expect(
      state.navigator?.rows.map((row) => [row.name, row.type, row.registered, row.includedInBuild, row.worstSeverity]),
    ).toEqual([
      ['hero', 'blob', true, true, null],
      ['slime', 'blob', true, false, null],
      ['crate', 'blob', false, false, 'info'],
    ]);
    expect(state.navigator?.folders.map((group) => group.folder)).toEqual(['characters', 'props']);
    expect(state.project?.figures.map((shown) => `${shown.label}=${shown.value}`)).toEqual([
      'Roots=3',
      'Registered=2',
      'Unregistered=1',
      'Missing=0',
      'In build=1',
      'Errors=0',
      'Warnings=0',
      'Blocking=0',
      'Queued writes=0',
    ]);
    expect(state.pack.summary?.canPack.value).toBe(true);
    expect(expectEveryFigureTraced(state, messages)).toBeGreaterThan(10);
  });

  it('a remove without consent is shown rejected with the packer reason, and applied only once consent was sent', async () => {
    const { messages, state } = await session('mutations/remove.transcript');
    expect(
      state.activity.map((operation) => [operation.operationId, operation.status, operation.outcome?.outcome]),
    ).toEqual([
      ['op-1', 'failed', 'rejected'],
      ['op-2', 'succeeded', 'applied'],
    ]);
    expect(state.activity[0]!.outcome?.reasons[0]).toContain('consent');
    expect(state.navigator?.rows.map((row) => row.root)).not.toContain('characters/slime');
    expectEveryFigureTraced(state, messages);
  });

  it('a pack shows its outcome, artifacts and counts from its terminal event, and an up-to-date pack no progress', async () => {
    const { messages, state } = await session('pack/pack.transcript');
    const last = state.activity.find((operation) => operation.operationId === state.pack.operationId)!;
    expect(last.operationId).toBe('pack-3');
    expect(last.status).toBe('succeeded');
    expect(last.statusFrom).toBe('event 15 operation.succeeded');
    // Nothing changed since pack-2, so pack-3 kept build/ as it was and reported no progress.
    expect(last.progress ?? null).toBeNull();
    expect(last.outcome?.artifacts.map((artifact) => artifact.name)).toEqual([
      'asset_table.json',
      'asset_table_metadata.json',
      'assets.pa',
      'preload.json',
    ]);
    expect(last.outcome?.figures.map((shown) => `${shown.label}=${shown.value}`)).toEqual([
      'Revision=2',
      'Artifacts=4',
      'Assets packed=1',
      'Materialized=0',
      'From cache=0',
    ]);
    expect(expectEveryFigureTraced(state, messages)).toBeGreaterThan(10);
  });

  it('a blocked pack is shown failed with every blocker the packer listed', async () => {
    const { messages, state } = await session('pack/pack-blocked.transcript');
    const pack = state.activity.find((operation) => operation.operation === 'pack')!;
    expect(pack.status).toBe('failed');
    expect(pack.outcome?.outcome).toBe('blocked');
    const terminal = messages.find((message) => message.type === 'event' && message.event.kind === 'operation.failed');
    const blockers =
      terminal?.type === 'event' && terminal.event.kind === 'operation.failed'
        ? (terminal.event.body.outcome['blockers'] as { code: string }[])
        : [];
    expect(pack.outcome?.blockers.map((blocker) => blocker.code)).toEqual(blockers.map((blocker) => blocker.code));
    expect(blockers.length).toBeGreaterThan(0);
    expectEveryFigureTraced(state, messages);
  });

  it('external changes bring the divergence banner and marks, and the reconcile clears them', async () => {
    const { messages } = await session('divergence/external-changes.transcript');
    const statusAt = messages.findIndex((message) => message.type === 'response' && message.method === 'projectStatus');
    const diverged = reduceAll(messages.slice(0, statusAt + 1));
    expect(diverged.project?.state).toBe('diverged');
    expect(diverged.divergence?.changes.map((change) => [change.path, change.change])).toEqual([
      ['characters/hero/hero.bin', 'changed'],
      ['props/crate/crate.bin', 'removed'],
      ['props/lamp/asset.json', 'added'],
      ['props/lamp/lamp.bin', 'added'],
    ]);
    expect(diverged.divergence?.roots).toEqual(['characters/hero', 'props/crate', 'props/lamp']);
    const after = reduceAll(messages);
    expect(after.divergence).toBeNull();
    expect(after.project?.state).toBe('ready');
    const reconcile = after.activity.find((operation) => operation.operationId === 'rec-1')!;
    expect(reconcile.status).toBe('succeeded');
    expect(reconcile.outcome?.figures.find((shown) => shown.label === 'Accepted changes')?.value).toBe(4);
    expectEveryFigureTraced(after, messages);
  });
});
