/**
 * Crash safety of the real server: `packer-server --stdio` is killed with SIGKILL at seeded random
 * instants while a stream of mixed mutations (relocate, quarantine, restore, remove, register, rename,
 * createAsset, build inclusion) commits, then started again on the same project, hundreds of times. After
 * every restart the disk must be consistent (a valid canonical registry that agrees with the anchors, no
 * journal, trash or temporary file left, and `lastRecovery` saying what was recovered when a journal was
 * found), every write acknowledged before the kill must be on disk, and every write in flight must be
 * either wholly applied or wholly absent. The test keeps a model of the workspace and applies the writes
 * to it; since the lane runs writes in arrival order, the disk must equal the model after some prefix of
 * the writes sent, at least as long as the acknowledged prefix. Nothing edits the disk behind the packer, so
 * no restart may find the project diverged: the packer must never report its own commit (or its recovery of
 * one) as a change made while no packer ran.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AssetSummary, MutationIntent, PackerEvent } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import { canonicalJson, useTempDirs, uuidFor, writeProject } from '../support/workspace-builder.js';
import {
  answerOf,
  initializeParams,
  withDeadline,
  Notifier,
  responseErrorOf,
  seededRandom,
  spawnServer,
  type ServerProcess,
} from './support.js';

/**
 * The seed of the writes and kill instants (the test's name and every failure message say it); `LANE_CRASH_SEED`
 * replays another. The instants are then the same, though what a kill hits at an instant depends on the machine.
 */
const SEED = Number(process.env['LANE_CRASH_SEED'] ?? 20_260_124);
/** Kill-and-restart cycles per loop; two loops run side by side on two projects. */
const CYCLES_PER_LOOP = Number(process.env['LANE_CRASH_CYCLES'] ?? 100);
/**
 * Kills land between 0 and this many ms after the writes are sent: about how long a fresh server takes to
 * commit that many writes (the first one, with the lock to take and a cold JIT, takes longest), so kills
 * spread over the whole stream, from before the first commit to after the last.
 */
const killWindowMs = (writes: number): number => 30 + 15 * writes;

/**
 * How the kill window of the next cycle is stretched: a loaded machine commits several times slower, and with
 * a fixed window every kill would land before the first write is acknowledged, so the loop would test only the
 * start of commits. A cycle whose kill came before any acknowledgement stretches the window, one whose writes
 * were all acknowledged shrinks it again (never below the window above), so the kills keep landing among the
 * commits whatever the machine's speed.
 */
function nextWindowScale(scale: number, acknowledged: number, sent: number): number {
  if (acknowledged === 0) return Math.min(scale * 1.5, 40);
  if (acknowledged === sent) return Math.max(scale / 1.25, 1);
  return scale;
}

/** What the loop reads of `packer/projectStatus`. */
interface ProjectStatusSeen {
  readonly lastRecovery: { operationId: string; outcome: string } | null;
  readonly divergence: { diverged: boolean; changes: readonly { path: string; change: string }[] };
  readonly watching: { state: 'off' | 'starting' | 'watching' | 'degraded' };
}

/** One asset as the model knows it. `uuid` is null for a created asset until a restart reveals it. */
interface ModelAsset {
  readonly uuid: string | null;
  readonly root: string;
  readonly name: string;
  readonly assetId: number | null;
  readonly included: boolean;
}

/** What the workspace holds: assets, quarantined assets and the registry's next id. */
interface Model {
  readonly assets: readonly ModelAsset[];
  readonly quarantine: readonly ModelAsset[];
  readonly nextId: number;
}

/** A write the test sent, with the model it leads to. */
interface SentWrite {
  readonly operationId: string;
  readonly mutation: MutationIntent;
  readonly via: 'request' | 'notification';
  readonly after: Model;
}

const DECLARATION = {
  type: 'blob',
  inputs: { data: ['data.bin'] },
  output: { format: 'BLOB/raw_v1', codec: 'NONE' },
  preload: { enabled: false },
};

function referenceOf(asset: ModelAsset): { assetUuid: string } | { root: string } {
  return asset.uuid !== null ? { assetUuid: asset.uuid } : { root: asset.root };
}

/**
 * Picks a write that is valid in `model` and returns it with the model after it. Every root a write
 * creates has a fresh name, so no write ever collides with another or lands inside another root.
 */
function nextWrite(
  model: Model,
  random: ReturnType<typeof seededRandom>,
  fresh: () => number,
): { mutation: MutationIntent; after: Model } {
  const replace = (asset: ModelAsset, changes: Partial<ModelAsset>): readonly ModelAsset[] =>
    model.assets.map((candidate) => (candidate === asset ? { ...asset, ...changes } : candidate));
  const without = (asset: ModelAsset): readonly ModelAsset[] => model.assets.filter((candidate) => candidate !== asset);
  const registered = model.assets.filter((asset) => asset.assetId !== null);
  const unregistered = model.assets.filter((asset) => asset.assetId === null);
  const restorable = model.quarantine.filter((entry) => entry.uuid !== null);
  const kinds: string[] = ['rename', 'relocate', 'relocate', 'createAsset', 'setBuildInclusion'];
  if (model.assets.length > 4) kinds.push('quarantine', 'quarantine', 'remove');
  if (restorable.length > 0) kinds.push('restore', 'restore', 'restore');
  if (unregistered.length > 0) kinds.push('register', 'register');
  if (model.assets.length < 6) kinds.push('createAsset', 'createAsset');
  let kind = random.pick(kinds);
  if (model.assets.length === 0 || (kind === 'setBuildInclusion' && registered.length === 0)) kind = 'createAsset';
  const asset = random.pick(model.assets.length > 0 ? model.assets : [null as unknown as ModelAsset]);
  const n = fresh();
  switch (kind) {
    case 'rename':
      return {
        mutation: { kind: 'rename', asset: referenceOf(asset), name: `name-${n}` },
        after: { ...model, assets: replace(asset, { name: `name-${n}` }) },
      };
    case 'relocate':
      return {
        mutation: { kind: 'relocate', asset: referenceOf(asset), to: `moved/m${n}` },
        after: { ...model, assets: replace(asset, { root: `moved/m${n}` }) },
      };
    case 'quarantine':
      return {
        mutation: { kind: 'quarantine', asset: referenceOf(asset) },
        after: {
          ...model,
          assets: without(asset),
          quarantine: [...model.quarantine, { ...asset, included: asset.assetId !== null && asset.included }],
        },
      };
    case 'restore': {
      const entry = random.pick(restorable);
      return {
        mutation: { kind: 'restore', asset: { assetUuid: entry.uuid! } },
        after: {
          ...model,
          assets: [...model.assets, entry],
          quarantine: model.quarantine.filter((candidate) => candidate !== entry),
        },
      };
    }
    case 'remove':
      return { mutation: { kind: 'remove', asset: referenceOf(asset) }, after: { ...model, assets: without(asset) } };
    case 'register': {
      const target = random.pick(unregistered);
      return {
        mutation: { kind: 'register', root: target.root },
        after: {
          ...model,
          assets: model.assets.map((candidate) =>
            candidate === target ? { ...target, assetId: model.nextId, included: true } : candidate,
          ),
          nextId: model.nextId + 1,
        },
      };
    }
    case 'setBuildInclusion': {
      const target = random.pick(registered);
      return {
        mutation: { kind: 'setBuildInclusion', asset: referenceOf(target), included: !target.included },
        after: {
          ...model,
          assets: model.assets.map((candidate) =>
            candidate === target ? { ...target, included: !target.included } : candidate,
          ),
        },
      };
    }
    default: {
      const register = random.next() < 0.5;
      const created: ModelAsset = {
        uuid: null,
        root: `made/c${n}`,
        name: `made-${n}`,
        assetId: register ? model.nextId : null,
        included: register,
      };
      return {
        mutation: {
          kind: 'createAsset',
          root: created.root,
          declaration: { name: created.name, ...DECLARATION },
          register,
        },
        after: { ...model, assets: [...model.assets, created], nextId: register ? model.nextId + 1 : model.nextId },
      };
    }
  }
}

/** The comparable form of a model: sorted by root, unknown uuids left out. */
function comparable(model: Model): string {
  const shape = (asset: ModelAsset): unknown => ({
    root: asset.root,
    name: asset.name,
    assetId: asset.assetId,
    included: asset.included,
    ...(asset.uuid !== null ? { uuid: asset.uuid } : {}),
  });
  const byRoot = (a: ModelAsset, b: ModelAsset): number => (a.root < b.root ? -1 : a.root > b.root ? 1 : 0);
  return JSON.stringify(
    {
      assets: [...model.assets].sort(byRoot).map(shape),
      quarantine: [...model.quarantine].sort(byRoot).map(shape),
      nextId: model.nextId,
    },
    null,
    1,
  );
}

/** `disk` with the uuids left out where `candidate` does not know them yet (assets created since the last restart). */
function asKnownBy(disk: Model, candidate: Model): Model {
  const unknown = (list: readonly ModelAsset[]): Set<string> =>
    new Set(list.filter((asset) => asset.uuid === null).map((asset) => asset.root));
  const assets = unknown(candidate.assets);
  const quarantine = unknown(candidate.quarantine);
  return {
    ...disk,
    assets: disk.assets.map((asset) => (assets.has(asset.root) ? { ...asset, uuid: null } : asset)),
    quarantine: disk.quarantine.map((asset) => (quarantine.has(asset.root) ? { ...asset, uuid: null } : asset)),
  };
}

/** Reads what the disk holds, checking on the way that the registry is valid, canonical and agrees with the anchors. */
function readDisk(assetsDir: string, listed: readonly AssetSummary[]): { model: Model; problems: string[] } {
  const problems: string[] = [];
  const registryText = readFileSync(join(assetsDir, '.prometeu', 'index.json'), 'utf8');
  const registry = JSON.parse(registryText) as {
    schema_version: number;
    next_asset_id: number;
    assets: { asset_id: number; asset_uuid: string; root: string; included_in_build: boolean }[];
  };
  if (registryText !== canonicalJson(registry)) problems.push('the registry is not canonical');
  const ids = registry.assets.map((entry) => entry.asset_id);
  if (ids.some((id, index) => index > 0 && id <= ids[index - 1]!))
    problems.push(`registry ids are not strictly increasing: ${ids.join(', ')}`);
  if (ids.some((id) => id >= registry.next_asset_id))
    problems.push(`next_asset_id ${registry.next_asset_id} is not above every id`);
  if (new Set(registry.assets.map((entry) => entry.asset_uuid)).size !== ids.length)
    problems.push('two registry entries share a uuid');
  if (new Set(registry.assets.map((entry) => entry.root)).size !== ids.length)
    problems.push('two registry entries share a root');
  for (const entry of registry.assets) {
    const anchorPath = join(assetsDir, entry.root, 'asset.json');
    if (!existsSync(anchorPath)) problems.push(`registered root ${entry.root} has no asset.json`);
    else if ((JSON.parse(readFileSync(anchorPath, 'utf8')) as { asset_uuid: string }).asset_uuid !== entry.asset_uuid)
      problems.push(`${entry.root}/asset.json does not carry the registered uuid`);
  }
  const quarantine: ModelAsset[] = [];
  const quarantineDir = join(assetsDir, '.prometeu', 'quarantine');
  for (const name of existsSync(quarantineDir) ? readdirSync(quarantineDir) : []) {
    const manifestPath = join(quarantineDir, name, 'manifest.json');
    if (!existsSync(manifestPath) || !existsSync(join(quarantineDir, name, 'root', 'asset.json'))) {
      problems.push(`quarantine folder ${name} is incomplete`);
      continue;
    }
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      asset_uuid: string;
      root: string;
      asset_id: number | null;
      included_in_build: boolean;
      name: string;
    };
    quarantine.push({
      uuid: manifest.asset_uuid,
      root: manifest.root,
      name: manifest.name,
      assetId: manifest.asset_id,
      included: manifest.included_in_build,
    });
  }
  for (const asset of listed) if (asset.state !== 'ok') problems.push(`${asset.root} is ${asset.state}`);
  const assets = listed.map((asset) => ({
    uuid: asset.assetUuid,
    root: asset.root,
    name: asset.name ?? '',
    assetId: asset.assetId ?? null,
    included: asset.includedInBuild,
  }));
  return { model: { assets, quarantine, nextId: registry.next_asset_id }, problems };
}

/** Leftovers of an interrupted write anywhere under `assets/`: the journal, trash, temporary files. */
function debris(assetsDir: string): string[] {
  const found: string[] = [];
  const walk = (relative: string): void => {
    for (const entry of readdirSync(join(assetsDir, relative), { withFileTypes: true })) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (path === '.prometeu/journal.json' || path === '.prometeu/trash' || entry.name.endsWith('.tmp'))
        found.push(path);
      if (entry.isDirectory()) walk(path);
    }
  };
  walk('');
  return found;
}

/** What one loop saw, for the report and for checking that the kills landed where they should. */
interface LoopStats {
  kills: number;
  killedWithWritesInFlight: number;
  journalsRecovered: number;
  unacknowledgedButApplied: number;
  writesSent: number;
  writesAcknowledged: number;
  /** Restarts that found the project diverged (the watcher's view) and reconciled before writing. */
  reconciled: number;
  /** For each of those restarts: where the kill landed and what the server reported as diverged. */
  divergences: string[];
}

/**
 * Runs `cycles` kill-and-restart cycles on a fresh project. Each cycle starts the server, checks the disk
 * against the model, sends a few writes without waiting, kills the server after a seeded delay, and
 * records which writes were acknowledged.
 */
async function killLoop(dir: string, seed: number, cycles: number): Promise<LoopStats> {
  const random = seededRandom(seed);
  let counter = 0;
  const fresh = (): number => ++counter;
  const roots = ['a/hero', 'a/slime', 'b/crate', 'b/barrel', 'c/door', 'c/key', 'd/theme', 'd/jump'];
  const written = writeProject(dir, {
    assets: roots.map((root, index) => ({ root, registered: index < 5, included: index !== 2 })),
  });
  const assetsDir = written.assetsDir;
  let model: Model = {
    assets: roots.map((root, index) => ({
      uuid: uuidFor(root),
      root,
      name: root.slice(2),
      assetId: index < 5 ? index + 1 : null,
      included: index < 5 && index !== 2,
    })),
    quarantine: [],
    nextId: 6,
  };
  let inFlight: SentWrite[] = [];
  let acknowledged = 0;
  const stats: LoopStats = {
    kills: 0,
    killedWithWritesInFlight: 0,
    journalsRecovered: 0,
    unacknowledgedButApplied: 0,
    writesSent: 0,
    writesAcknowledged: 0,
    reconciled: 0,
    divergences: [],
  };
  const notifier = new Notifier();
  /** Invariant: the stretch of the kill window for the next cycle (see {@link nextWindowScale}). */
  let windowScale = 1;

  for (let cycle = 0; cycle <= cycles; cycle++) {
    const where = `seed ${seed}, cycle ${cycle}`;
    const journalFound = existsSync(join(assetsDir, '.prometeu', 'journal.json'));
    const logPath = join(assetsDir, '.prometeu', 'fingerprint.log');
    const logBefore = existsSync(logPath) ? readFileSync(logPath, 'utf8') : '';
    const lastSent = inFlight.map((write) => `${write.operationId} ${JSON.stringify(write.mutation)}`);
    const acknowledgedBefore = acknowledged;
    const server: ServerProcess = spawnServer(notifier);
    try {
      const opened = await answerOf(
        server,
        server.connection.sendRequest('initialize', initializeParams(dir)),
        `${where}: initialize`,
      );
      const projectId = (opened as { projects: { projectId?: string; error?: unknown }[] }).projects[0]?.projectId;
      expect(projectId, `${where}: the project did not open: ${JSON.stringify(opened)}`).toBeDefined();
      // The status is read once the watcher has verified the disk: until then (`starting`) the divergence is not
      // known yet. A commit the killed server made but had not yet logged in its fingerprints is then reported
      // as a change between runs, and the loop reconciles before it writes.
      const readStatus = async (): Promise<ProjectStatusSeen> =>
        (await answerOf(
          server,
          server.connection.sendRequest('packer/projectStatus', { projectId }),
          `${where}: projectStatus`,
        )) as ProjectStatusSeen;
      const status = await withDeadline(
        (async () => {
          for (;;) {
            const seen = await readStatus();
            if (seen.watching.state !== 'starting') return seen;
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        })(),
        `${where}: the watcher to verify the disk`,
      );
      // Invariant 6: the next start says what it recovered, and nothing of the interrupted write is left.
      if (journalFound) {
        stats.journalsRecovered++;
        expect(status.lastRecovery, `${where}: a journal was found, so lastRecovery must tell`).toMatchObject({
          outcome: 'completed',
        });
        expect(
          inFlight.map((write) => write.operationId),
          `${where}: the recovered operation ${status.lastRecovery?.operationId} is one of the writes in flight`,
        ).toContain(status.lastRecovery?.operationId);
      } else {
        expect(status.lastRecovery, `${where}: no journal was found`).toBeNull();
      }
      expect(debris(assetsDir), `${where}: leftovers of an interrupted write`).toEqual([]);

      // Every acknowledged write is on disk; each write in flight is wholly applied or wholly absent, in order.
      const listed = (await answerOf(
        server,
        server.connection.sendRequest('packer/listAssets', { projectId }),
        `${where}: listAssets`,
      )) as { assets: AssetSummary[] };
      const disk = readDisk(assetsDir, listed.assets);
      expect(disk.problems, `${where}: the workspace on disk is inconsistent`).toEqual([]);
      const candidates = [model, ...inFlight.map((write) => write.after)];
      const matched = candidates.findIndex(
        (candidate, index) =>
          index >= acknowledged && comparable(asKnownBy(disk.model, candidate)) === comparable(candidate),
      );
      if (matched < 0) {
        const expected = candidates[acknowledged]!;
        expect(
          comparable(asKnownBy(disk.model, expected)),
          `${where}: the disk matches no state between the acknowledged writes (${acknowledged}) and all ${inFlight.length} writes sent (${inFlight.map((write) => `${write.operationId} ${JSON.stringify(write.mutation)}`).join(', ')}); shown against the acknowledged state`,
        ).toBe(comparable(expected));
      }
      if (matched > acknowledged) stats.unacknowledgedButApplied++;
      // From now on the disk is the model; it also tells the uuids of created assets.
      model = disk.model;
      inFlight = [];
      acknowledged = 0;
      if (cycle === cycles) {
        await answerOf(server, server.connection.sendRequest('shutdown'), `${where}: shutdown`);
        void server.connection.sendNotification('exit');
        expect((await withDeadline(server.exited, `${where}: the server to exit`)).code).toBe(0);
        break;
      }
      if (status.divergence.diverged) {
        stats.reconciled++;
        stats.divergences.push(
          JSON.stringify({
            where,
            changes: status.divergence.changes,
            journalFound,
            lastRecovery: status.lastRecovery,
            acknowledged: acknowledgedBefore,
            sent: lastSent,
            matched,
            logTail: logBefore.split('\n').slice(-4),
          }),
        );
        await answerOf(server, server.connection.sendRequest('packer/reconcile', { projectId }), `${where}: reconcile`);
      }

      // Send a few writes at once, then kill the server at a seeded instant while they commit.
      const count = 2 + random.int(4);
      let state = model;
      for (let index = 0; index < count; index++) {
        const { mutation, after } = nextWrite(state, random, fresh);
        state = after;
        inFlight.push({
          operationId: `w-${seed}-${cycle}-${index}`,
          mutation,
          via: random.next() < 0.25 ? 'notification' : 'request',
          after,
        });
      }
      const answers = new Map<string, { outcome?: string; reasons?: unknown; error?: unknown }>();
      const eventsBefore = server.events.length;
      for (const write of inFlight) {
        const params = { projectId, operationId: write.operationId, mutation: write.mutation, consent: true };
        if (write.via === 'notification')
          void server.connection.sendNotification('packer/submitMutation', params).catch(() => undefined);
        else {
          server.connection.sendRequest('packer/applyMutation', params).then(
            (result) => answers.set(write.operationId, result as { outcome: string; reasons: unknown }),
            (error: unknown) => {
              // Errors the client makes up when the connection dies (-32097 to -32099) are no answer.
              const described = responseErrorOf(error);
              if (described !== null && !(described.code >= -32099 && described.code <= -32097))
                answers.set(write.operationId, { error: described });
            },
          );
        }
      }
      stats.writesSent += inFlight.length;
      const delay = random.next() * killWindowMs(inFlight.length) * windowScale;
      await new Promise((resolve) => setTimeout(resolve, delay));
      await withDeadline(server.kill(), `${where}: the server to die`);
      stats.kills++;

      // What was acknowledged before the kill: a response, or the terminal event of a submission.
      const terminals = new Map<string, PackerEvent>();
      for (const event of server.events.slice(eventsBefore)) {
        if (
          event.operationId !== undefined &&
          (event.kind === 'operation.succeeded' ||
            event.kind === 'operation.failed' ||
            event.kind === 'operation.cancelled')
        )
          terminals.set(event.operationId, event);
      }
      // A submission's answer is its terminal event's body: the outcome, or the error when it failed as a bug.
      const outcomes = inFlight.map((write) => {
        if (write.via === 'request') return answers.get(write.operationId);
        const body = terminals.get(write.operationId)?.body as
          { outcome?: Record<string, unknown>; error?: unknown } | undefined;
        return body === undefined
          ? undefined
          : { ...body.outcome, ...(body.error !== undefined ? { error: body.error } : {}) };
      });
      acknowledged = outcomes.findIndex((outcome) => outcome === undefined);
      if (acknowledged < 0) acknowledged = inFlight.length;
      // The lane answers in order: nothing after the first unanswered write may have an answer.
      expect(
        outcomes.slice(acknowledged).every((outcome) => outcome === undefined),
        `${where}: answers out of order`,
      ).toBe(true);
      for (const [index, outcome] of outcomes.slice(0, acknowledged).entries()) {
        expect(
          outcome,
          `${where}: ${inFlight[index]!.operationId} (${JSON.stringify(inFlight[index]!.mutation)}) was not applied`,
        ).toMatchObject({ outcome: 'applied' });
      }
      stats.writesAcknowledged += acknowledged;
      if (acknowledged < inFlight.length) stats.killedWithWritesInFlight++;
      windowScale = nextWindowScale(windowScale, acknowledged, inFlight.length);
    } finally {
      server.dispose();
      await withDeadline(server.exited, `${where}: the killed server to be gone`);
    }
  }
  return stats;
}

describe('SIGKILL at random instants during commits', () => {
  const tempDir = useTempDirs('packer-lane-crash-');

  it(
    `leaves the disk before or after each write, keeps every acknowledged write, and reports recoveries (seed ${SEED}, ${2 * CYCLES_PER_LOOP} kills)`,
    { timeout: 300_000 },
    async ({ annotate }) => {
      const loops = await Promise.all([
        killLoop(tempDir(), SEED, CYCLES_PER_LOOP),
        killLoop(tempDir(), SEED + 1, CYCLES_PER_LOOP),
      ]);
      const total = loops.reduce((sum, stats) => ({
        kills: sum.kills + stats.kills,
        killedWithWritesInFlight: sum.killedWithWritesInFlight + stats.killedWithWritesInFlight,
        journalsRecovered: sum.journalsRecovered + stats.journalsRecovered,
        unacknowledgedButApplied: sum.unacknowledgedButApplied + stats.unacknowledgedButApplied,
        writesSent: sum.writesSent + stats.writesSent,
        writesAcknowledged: sum.writesAcknowledged + stats.writesAcknowledged,
        reconciled: sum.reconciled + stats.reconciled,
        divergences: [...sum.divergences, ...stats.divergences],
      }));
      await annotate(`kills and what they hit: ${JSON.stringify(total)}`);
      expect(total.kills).toBe(2 * CYCLES_PER_LOOP);
      // The kills must have spread over the commits: some writes were acknowledged before a kill, kills hit
      // writes in flight, journals were found, and some unacknowledged writes were found applied.
      expect(total.writesAcknowledged, JSON.stringify(total)).toBeGreaterThan(0);
      expect(total.killedWithWritesInFlight, JSON.stringify(total)).toBeGreaterThan(total.kills / 4);
      expect(total.journalsRecovered, JSON.stringify(total)).toBeGreaterThan(0);
      expect(total.unacknowledgedButApplied, JSON.stringify(total)).toBeGreaterThan(0);
      // Nothing edits the disk behind the packer here: a restart that finds the project diverged is the packer
      // reporting its own commit (or recovery) as an outside change. Each is described: the kill's cycle, what
      // was reported, whether a journal was found, the writes then in flight and the last lines of the log.
      expect(total.divergences, `restarts that found the project diverged (seed ${SEED})`).toEqual([]);
      expect(total.reconciled).toBe(0);
    },
  );
});
