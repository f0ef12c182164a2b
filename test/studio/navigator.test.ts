/**
 * The navigator kept current from `snapshot.published`: the roots it names as changed are read again one by
 * one (a `listAssets` filtered by that root) and replace only their rows; anything whose place in the packer's
 * order may have changed, a gap in the revisions or a new server means the whole list is read again.
 */
import { describe, expect, it } from 'vitest';
import type { AssetSummary, PackerEvent } from '../../protocol/src/index.js';
import {
  ROOT_READ_LIMIT,
  hasSeen,
  navigatorReads,
  reduceAll,
  type StudioMessage,
  type StudioState,
} from '../../studio/src/index.js';
import { figuresIn, tracedValue } from './support.js';

const PROJECT = 'p';

function asset(root: string, assetId: number | undefined, name: string): AssetSummary {
  return {
    ...(assetId === undefined ? {} : { assetId }),
    assetUuid: `uuid-${root}`,
    name,
    type: 'blob',
    root,
    registered: assetId !== undefined,
    includedInBuild: assetId !== undefined,
    state: 'ok',
    worstSeverity: null,
    diagnosticCount: 0,
    availableActions: ['rename'],
    validation: 'done',
  };
}

const assets = [
  asset('characters/hero', 1, 'hero'),
  asset('characters/slime', 2, 'slime'),
  asset('props/crate', 3, 'crate'),
  asset('props/lamp', undefined, 'lamp'),
];

function list(revision: number, listed: readonly AssetSummary[], rootPrefix?: string): StudioMessage {
  return {
    type: 'response',
    method: 'listAssets',
    params: { projectId: PROJECT, ...(rootPrefix === undefined ? {} : { filter: { rootPrefix } }) },
    result: { revision, assets: [...listed] },
  };
}

let sequence = 0;
function published(
  revision: number,
  changes: Partial<Record<'added' | 'removed' | 'changed', string[]>>,
  previousRevision = revision - 1,
  epoch = 'e1',
): StudioMessage {
  const named = (roots: string[] | undefined): { root: string }[] => (roots ?? []).map((root) => ({ root }));
  return {
    type: 'event',
    event: {
      projectId: PROJECT,
      epoch,
      sequence: ++sequence,
      time: 't',
      kind: 'snapshot.published',
      body: {
        revision,
        previousRevision,
        cause: 'mutation',
        assets: {
          added: named(changes.added),
          removed: named(changes.removed),
          changed: named(changes.changed),
          moved: [],
        },
      },
    } as PackerEvent,
  };
}

const start: StudioMessage[] = [{ type: 'connection', state: 'connected' }, list(2, assets)];

function names(state: StudioState): (string | null)[] {
  return state.navigator!.rows.map((row) => row.name);
}

describe('the navigator after a snapshot.published', () => {
  it('reads again only the root a publish names as changed, and replaces only its row', () => {
    const before = reduceAll(start);
    const event = published(3, { changed: ['props/crate'] });
    const afterEvent = reduceAll([event], before);
    expect(afterEvent.navigator?.stale).toBe(true);
    expect(navigatorReads(afterEvent)).toEqual([{ projectId: PROJECT, filter: { rootPrefix: 'props/crate' } }]);
    const read = list(3, [asset('props/crate', 3, 'Crate!')], 'props/crate');
    const messages = [...start, event, read];
    const after = reduceAll([read], afterEvent);
    expect(names(after)).toEqual(['hero', 'slime', 'Crate!', 'lamp']);
    expect(after.navigator).toMatchObject({ revision: 3, stale: false });
    expect(navigatorReads(after)).toEqual([]);
    // The folder holding the row is new; the other folder and its rows are the same objects as before.
    const [characters, props] = after.navigator!.folders;
    expect(characters).toBe(before.navigator!.folders[0]);
    expect(props).not.toBe(before.navigator!.folders[1]);
    expect(props!.rows[1]).toBe(before.navigator!.folders[1]!.rows[1]);
    // The count is still the whole list's, and traces to it.
    for (const { figure } of figuresIn(after.navigator)) expect(tracedValue(figure, messages)).toBe(figure.value);
  });

  it('reads the whole list again when roots were added, removed or moved, or a revision was missed', () => {
    const base = reduceAll(start);
    for (const message of [
      published(3, { added: ['props/barrel'] }),
      published(3, { removed: ['props/crate'] }),
      published(4, { changed: ['props/crate'] }, 3),
    ])
      expect(navigatorReads(reduceAll([message], base))).toEqual([{ projectId: PROJECT }]);
    const many = Array.from({ length: ROOT_READ_LIMIT + 1 }, (_, index) => `props/p${index}`);
    expect(navigatorReads(reduceAll([published(3, { changed: many })], base))).toEqual([{ projectId: PROJECT }]);
  });

  it('reads the whole list again when the root read says its registration changed', () => {
    const state = reduceAll([
      ...start,
      published(3, { changed: ['props/lamp'] }),
      list(3, [asset('props/lamp', 4, 'lamp')], 'props/lamp'),
    ]);
    expect(state.navigator?.stale).toBe(true);
    expect(navigatorReads(state)).toEqual([{ projectId: PROJECT }]);
    const whole = reduceAll([list(3, [...assets.slice(0, 3), asset('props/lamp', 4, 'lamp')])], state);
    expect(whole.navigator).toMatchObject({ revision: 3, stale: false });
    expect(navigatorReads(whole)).toEqual([]);
  });

  it('ignores lists filtered otherwise, and root reads it did not ask for', () => {
    const base = reduceAll(start);
    const filtered: StudioMessage = {
      type: 'response',
      method: 'listAssets',
      params: { projectId: PROJECT, filter: { type: 'blob' } },
      result: { revision: 3, assets: [asset('props/crate', 3, 'other')] },
    };
    expect(names(reduceAll([filtered, list(3, [asset('props/crate', 3, 'other')], 'props/crate')], base))).toEqual(
      names(base),
    );
  });

  it('takes the whole list of a restarted server, though its revisions are smaller', () => {
    const state = reduceAll([
      ...start,
      published(3, { changed: ['props/crate'] }),
      { type: 'connection', state: 'disconnected' },
      { type: 'resync', epoch: 'e2', reason: 'epochChanged' },
    ]);
    expect(navigatorReads(state)).toEqual([{ projectId: PROJECT }]);
    const after = reduceAll([list(1, assets.slice(0, 2))], state);
    expect(names(after)).toEqual(['hero', 'slime']);
    expect(after.navigator).toMatchObject({ revision: 1, stale: false });
  });

  it('remembers seen sequences as ranges, whatever order they arrive in', () => {
    const at = (seq: number): StudioMessage => ({
      type: 'event',
      event: {
        projectId: PROJECT,
        epoch: 'e9',
        sequence: seq,
        time: 't',
        kind: 'watch.stateChanged',
        body: { state: 'watching', backend: 'parcel' },
      } as PackerEvent,
    });
    const state = reduceAll([5, 1, 2, 3, 9, 7, 8, 2].map(at));
    expect(state.seen).toEqual([
      [1, 3],
      [5, 5],
      [7, 9],
    ]);
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((seq) => hasSeen(state.seen, seq))).toEqual([
      true,
      true,
      true,
      false,
      true,
      false,
      true,
      true,
      true,
      false,
    ]);
  });
});
