/**
 * The event stream: the `packer/event` envelope and its kinds, and the `packer/events` replay request.
 */
import { z } from 'zod';
import {
  AssetReference,
  DivergentChange,
  OperationClass,
  ProjectId,
  ProjectParams,
  Revision,
  Severity,
} from './common.js';
import { defineNotification, defineRequest } from './method.js';
import { ProjectState } from './projects.js';
import { lazy } from './lazy.js';

/** Operation lifecycle kinds, in the order they can occur. */
export const OperationEventKinds = [
  'operation.queued',
  'operation.started',
  'operation.progress',
  'operation.succeeded',
  'operation.failed',
  'operation.cancelled',
] as const;
/** The three terminal kinds: exactly one ends every started or queued operation. */
export const TerminalEventKinds = ['operation.succeeded', 'operation.failed', 'operation.cancelled'] as const;
export type TerminalEventKind = (typeof TerminalEventKinds)[number];

/** Whether an event kind is terminal. */
export function isTerminalKind(kind: string): kind is TerminalEventKind {
  return (TerminalEventKinds as readonly string[]).includes(kind);
}

const envelope = {
  projectId: ProjectId,
  epoch: /* @__PURE__ */ lazy(() => z.string().describe('Changes whenever the server process restarts.')),
  sequence: /* @__PURE__ */ lazy(() =>
    z.number().int().positive().describe('Per project, consecutive from 1 within an epoch.'),
  ),
  operationId: /* @__PURE__ */ lazy(() =>
    z.string().optional().describe('Absent only for events no operation caused.'),
  ),
  time: /* @__PURE__ */ lazy(() => z.string().describe('ISO 8601 time the event was recorded.')),
};

/** What started or ended; the operation's method and class. */
const OperationHead = {
  operation: /* @__PURE__ */ lazy(() =>
    z.string().describe('The operation kind, for example `initWorkspace` or `applyMutation`.'),
  ),
  operationClass: OperationClass,
};

export const OperationQueuedEvent = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...envelope,
    kind: z.literal('operation.queued'),
    body: z.strictObject({
      ...OperationHead,
      position: z.number().int().nonnegative().describe('Writes ahead of it in the lane.'),
    }),
  }),
);
export const OperationStartedEvent = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...envelope,
    kind: z.literal('operation.started'),
    body: z.strictObject({ ...OperationHead, baseRevision: Revision }),
  }),
);
export const OperationProgressEvent = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...envelope,
    kind: z.literal('operation.progress'),
    body: z.strictObject({
      done: z.number().nonnegative(),
      total: z.number().nonnegative().optional(),
      unit: z.string().optional(),
      message: z.string().optional(),
      merged: z
        .number()
        .int()
        .positive()
        .optional()
        .describe('On a live connection: how many progress events this one replaced.'),
    }),
  }),
);
const terminalBody = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...OperationHead,
    revision: Revision.optional().describe('The revision after the operation, when it changed state.'),
    outcome: z.record(z.string(), z.unknown()).describe("The same body the write's response carries."),
  }),
);
export const OperationSucceededEvent = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...envelope,
    kind: z.literal('operation.succeeded'),
    body: terminalBody,
  }),
);
export const OperationFailedEvent = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...envelope,
    kind: z.literal('operation.failed'),
    body: terminalBody.extend({
      error: z.strictObject({ code: z.number(), message: z.string(), data: z.unknown().optional() }).optional(),
    }),
  }),
);
export const OperationCancelledEvent = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...envelope,
    kind: z.literal('operation.cancelled'),
    body: z.strictObject({
      ...OperationHead,
      started: z.boolean().describe('False when it was cancelled while still queued.'),
    }),
  }),
);
/** An asset named in an event: its root and, where known, its identity. */
export const ChangedAsset = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    root: z.string().describe('Relative to `assets/`.'),
    assetUuid: z.string().optional().describe('When the asset has a readable `asset_uuid`.'),
    assetId: z.number().int().positive().optional().describe('When the asset is registered.'),
  }),
);

/** Which assets a new snapshot changed, so a client refetches only those. */
export const SnapshotAssetChanges = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    added: z.array(ChangedAsset).describe('Roots that appeared.'),
    removed: z.array(ChangedAsset).describe('Roots that vanished (their identity as the previous snapshot knew it).'),
    changed: z
      .array(ChangedAsset)
      .describe('Roots whose declaration, inputs, registry entry (name, inclusion) or diagnostics changed.'),
    moved: z
      .array(
        z.strictObject({
          from: z.string(),
          to: z.string(),
          assetUuid: z.string(),
          assetId: z.number().int().positive().optional(),
        }),
      )
      .describe('Roots found elsewhere with the same `asset_uuid` (neither in `added` nor in `removed`).'),
  }),
);

export const SnapshotPublishedEvent = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...envelope,
    kind: z.literal('snapshot.published'),
    body: z.strictObject({
      revision: Revision,
      previousRevision: Revision.nullable(),
      cause: z
        .enum(['open', 'initWorkspace', 'mutation', 'reconcile', 'recovery', 'validation'])
        .describe(
          'What produced the snapshot. `validation`: the format checks of pending assets finished and their results (diagnostics, input hashes) joined the snapshot; nothing on disk changed.',
        ),
      assets: SnapshotAssetChanges.optional().describe(
        'What changed since `previousRevision`; absent for the first snapshot of a project (`previousRevision` null), which a client reads whole.',
      ),
    }),
  }),
);
export const DivergenceDetectedEvent = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...envelope,
    kind: z.literal('divergence.detected'),
    body: z.strictObject({
      revision: Revision.describe('The snapshot that no longer matches the disk.'),
      changes: z.array(DivergentChange),
      assets: z.array(AssetReference).describe('The assets the changes touch, by root.'),
      between: z.boolean().describe('True when the changes happened while no packer was running (found on open).'),
    }),
  }),
);
export const WatchStateChangedEvent = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...envelope,
    kind: z.literal('watch.stateChanged'),
    body: z.strictObject({
      state: z.enum(['off', 'starting', 'watching', 'degraded']),
      backend: z.enum(['chokidar', 'parcel', 'none']),
      reason: z
        .string()
        .optional()
        .describe('Why watching is degraded; the server then verifies the disk periodically.'),
    }),
  }),
);
export const ProjectStateChangedEvent = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...envelope,
    kind: z.literal('project.stateChanged'),
    body: z.strictObject({
      state: ProjectState,
      previousState: ProjectState.nullable().describe('Null for the first event of a project (its load starting).'),
      revision: Revision.describe('The current snapshot: 0 while `loading`, then the first snapshot.'),
      failure: z.string().optional().describe('Why the project is `failed`.'),
    }),
  }),
);
/** One asset whose diagnostics a new snapshot changed. */
export const DiagnosticsChangedAsset = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    root: z.string().describe('Relative to `assets/`.'),
    assetUuid: z.string().optional().describe('When the asset has a readable `asset_uuid`.'),
    assetId: z.number().int().positive().optional().describe('When the asset is registered.'),
    previousWorstSeverity: Severity.nullable().describe('Before: null when it had none (or did not exist).'),
    worstSeverity: Severity.nullable().describe('Now: null when it has none (or is gone).'),
    diagnosticCount: z.number().int().nonnegative().describe('How many diagnostics it has now.'),
  }),
);

export const DiagnosticsChangedEvent = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    ...envelope,
    kind: z.literal('diagnostics.changed'),
    body: z.strictObject({
      revision: Revision.describe('The snapshot whose diagnostics differ; its `snapshot.published` came just before.'),
      previousRevision: Revision,
      assets: z.array(DiagnosticsChangedAsset).describe('Every asset whose diagnostics changed, by root.'),
      project: z
        .strictObject({
          previousWorstSeverity: Severity.nullable(),
          worstSeverity: Severity.nullable(),
          diagnosticCount: z.number().int().nonnegative(),
        })
        .optional()
        .describe('Present when the diagnostics not tied to one asset (the registry file) changed.'),
    }),
  }),
);

/** A `packer/event` notification's params. */
export const PackerEvent = /* @__PURE__ */ lazy(() =>
  z
    .discriminatedUnion('kind', [
      OperationQueuedEvent,
      OperationStartedEvent,
      OperationProgressEvent,
      OperationSucceededEvent,
      OperationFailedEvent,
      OperationCancelledEvent,
      SnapshotPublishedEvent,
      DivergenceDetectedEvent,
      WatchStateChangedEvent,
      DiagnosticsChangedEvent,
      ProjectStateChangedEvent,
    ])
    .describe('One event of the authoritative per-project stream.'),
);
export type PackerEvent = z.infer<typeof PackerEvent>;
export type PackerEventKind = PackerEvent['kind'];

/** Server to client: one event. */
export const eventNotification = /* @__PURE__ */ defineNotification({
  method: 'packer/event',
  direction: 'serverToClient',
  lane: 'none',
  params: PackerEvent,
  summary: 'The authoritative event stream of every open project, sent to every connection.',
});

/** Replays retained events. */
export const events = /* @__PURE__ */ defineRequest({
  method: 'packer/events',
  lane: 'read',
  answeredWhileFailed: true,
  answeredWhileLoading: true,
  params: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      ...ProjectParams,
      afterSequence: z
        .number()
        .int()
        .nonnegative()
        .describe('Return events with a greater sequence; 0 for all retained.'),
      operationId: z.string().optional().describe('Only the events of this operation.'),
      epoch: z
        .string()
        .optional()
        .describe('The epoch `afterSequence` belongs to; a different one is an `EpochMismatch` error.'),
      limit: z.number().int().positive().max(100000).optional().describe('At most this many events (default 10000).'),
    }),
  ),
  result: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      epoch: z.string(),
      events: z.array(PackerEvent),
      lastSequence: z.number().int().nonnegative().describe('The newest sequence of the project.'),
      firstRetainedSequence: z
        .number()
        .int()
        .nonnegative()
        .describe('The oldest sequence still retained (0 when none).'),
      dropped: z
        .boolean()
        .describe(
          'True when events after `afterSequence` are no longer retained: the caller must resynchronise from a read.',
        ),
      more: z.boolean().describe('True when `limit` cut the answer short.'),
    }),
  ),
  summary: 'The retained events after a sequence, in order; the same answer every time for the same arguments.',
});
