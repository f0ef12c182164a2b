/**
 * Projects: opening, closing, status, and initialising a workspace's registry.
 */
import { z } from 'zod';
import { DivergentChange, FolderUri, ProjectId, ProjectParams, Revision, WriteParams } from './common.js';
import { defineRequest } from './method.js';
import { lazy } from './lazy.js';

/** Project lifecycle states. */
export const ProjectState = /* @__PURE__ */ lazy(() =>
  z
    .enum(['loading', 'ready', 'diverged', 'failed'])
    .describe(
      '`loading`: the first snapshot is being built (crawl, declarations, registry); the project is known under its id, `revision` is 0 and the counts are zero until it is published, `projectStatus` and `events` answer at once and every other request on it waits for that snapshot. `ready`: the snapshot matches what the packer knows; `diverged`: the disk changed behind its back; `failed`: it could not be loaded.',
    ),
);
export type ProjectState = z.infer<typeof ProjectState>;

/** What the project's writer lane is doing. */
export const WriterLaneStatus = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    running: z.strictObject({ operationId: z.string(), operation: z.string() }).nullable(),
    queued: z.number().int().nonnegative(),
  }),
);

/** Divergence between the snapshot and the disk. */
export const DivergenceSummary = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    diverged: z.boolean(),
    sinceRevision: Revision.nullable().describe('The snapshot that no longer matches the disk.'),
    changes: z.array(DivergentChange),
  }),
);

/** How the project's workspace is watched. */
export const WatchingStatus = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    state: z
      .enum(['off', 'starting', 'watching', 'degraded'])
      .describe('`degraded`: the watcher failed; the disk is verified every `verifyIntervalMs` instead.'),
    backend: z.enum(['chokidar', 'parcel', 'none']),
    reason: z.string().optional(),
    autoReconcile: z.boolean().describe('Whether the server reconciles by itself after external changes settle.'),
  }),
);

/** Counts of the snapshot. */
export const ProjectCounts = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    roots: z.number().int().nonnegative().describe('Folders with an `asset.json`.'),
    registered: z.number().int().nonnegative(),
    unregistered: z.number().int().nonnegative(),
    missing: z.number().int().nonnegative().describe('Registry entries whose root has no `asset.json`.'),
    includedInBuild: z.number().int().nonnegative(),
    errors: z.number().int().nonnegative(),
    warnings: z.number().int().nonnegative(),
    blocking: z.number().int().nonnegative().describe('Diagnostics that block a pack.'),
    validationPending: z
      .number()
      .int()
      .nonnegative()
      .describe(
        'Assets whose format checks have not run yet (`validation: "pending"`); 0 once the snapshot is fully validated.',
      ),
  }),
);

/** `packer/openProject` and `packer/projectStatus` result. */
export const ProjectStatus = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    projectId: ProjectId,
    rootUri: z.string(),
    revision: Revision,
    state: ProjectState,
    workspaceInitialized: z.boolean().describe('Whether `assets/.prometeu/index.json` exists.'),
    failure: z.string().optional().describe('Why the project is `failed`.'),
    divergence: DivergenceSummary,
    counts: ProjectCounts,
    writerLane: WriterLaneStatus,
    watching: WatchingStatus,
    writer: z
      .enum(['available', 'owned', 'heldByOther'])
      .describe(
        "`owned`: this server holds the project's writer lock; `heldByOther`: another packer process does, so writes are refused; `available`: nobody does.",
      ),
    lastRecovery: z
      .strictObject({
        operationId: z.string(),
        outcome: z
          .enum(['completed', 'rolledBack', 'failed', 'pending'])
          .describe(
            '`completed`: the interrupted write was finished; `rolledBack`: it was undone; `failed`: it could be neither, and its journal was moved aside (diagnostic `journal-unrecoverable`); `pending`: the disk refuses writes (read-only, full, no permission), so the journal stays where it is (diagnostic `journal-pending`), writes answer `WriteFailed`, and the next write, reconcile or open on a writable disk finishes it.',
          ),
        message: z.string(),
        setAside: z
          .string()
          .optional()
          .describe(
            'With outcome `failed`: where the journal was moved, relative to `assets/` (`.prometeu/journal-unrecoverable-<time>.json`); the `journal-unrecoverable` diagnostic names it until a person removes it.',
          ),
      })
      .nullable()
      .describe('What the last open found in the journal of an interrupted write, and what it did.'),
  }),
);
export type ProjectStatus = z.infer<typeof ProjectStatus>;

export const openProject = /* @__PURE__ */ defineRequest({
  method: 'packer/openProject',
  lane: 'server',
  params: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      rootUri: FolderUri,
      autoReconcile: z
        .boolean()
        .optional()
        .describe(
          "Reconcile automatically after external changes settle (default: the `initialize` setting, else false). Also changes an open project's setting.",
        ),
    }),
  ),
  result: ProjectStatus,
  summary:
    'Opens the project at `rootUri` (a folder holding `assets/`) and returns its status once its first snapshot is published. While it loads, the project is already known under its `projectId` (announced by `project.stateChanged` with `state: "loading"`). Opening the same folder again returns the same `projectId` (joining a load in progress).',
});

export const closeProject = /* @__PURE__ */ defineRequest({
  method: 'packer/closeProject',
  lane: 'server',
  params: /* @__PURE__ */ lazy(() => z.strictObject({ ...ProjectParams })),
  result: /* @__PURE__ */ lazy(() => z.strictObject({ projectId: ProjectId, closed: z.literal(true) })),
  summary: 'Closes a project after its writer lane drains; its `projectId` becomes unknown.',
});

export const projectStatus = /* @__PURE__ */ defineRequest({
  method: 'packer/projectStatus',
  lane: 'read',
  answeredWhileFailed: true,
  answeredWhileLoading: true,
  params: /* @__PURE__ */ lazy(() => z.strictObject({ ...ProjectParams })),
  result: ProjectStatus,
  summary: "The project's revision, state, divergence, counts and writer lane.",
});

export const initWorkspace = /* @__PURE__ */ defineRequest({
  method: 'packer/initWorkspace',
  lane: 'write',
  params: /* @__PURE__ */ lazy(() =>
    z
      .strictObject({
        projectId: ProjectId.optional(),
        rootUri: FolderUri.optional().describe(
          'A folder not opened yet; `assets/` is created if absent and the project is opened.',
        ),
        ...WriteParams,
      })
      .refine((p) => (p.projectId === undefined) !== (p.rootUri === undefined), {
        message: 'give exactly one of projectId and rootUri',
      }),
  ),
  result: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      operationId: z.string(),
      projectId: ProjectId,
      outcome: z.enum(['created', 'alreadyValid']),
      revision: Revision,
      registryPath: z.string().describe('Path of `index.json`, relative to the project root.'),
    }),
  ),
  summary:
    'Creates `assets/.prometeu/index.json` if absent. Refuses to overwrite an existing one; an invalid one is an error, never rewritten.',
});

/** What a reconcile found between the two snapshots, by asset. */
export const SnapshotDiff = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    added: z
      .array(
        z.strictObject({
          root: z.string(),
          assetUuid: z.string().nullable(),
          assetId: z.number().int().positive().optional(),
        }),
      )
      .describe('Roots that appeared.'),
    removed: z
      .array(
        z.strictObject({
          root: z.string(),
          assetUuid: z.string().nullable(),
          assetId: z.number().int().positive().optional(),
        }),
      )
      .describe('Roots that vanished.'),
    moved: z
      .array(
        z.strictObject({
          from: z.string(),
          to: z.string(),
          assetUuid: z.string(),
          assetId: z.number().int().positive().optional(),
        }),
      )
      .describe('Roots found elsewhere with the same asset_uuid.'),
    changed: z
      .array(
        z.strictObject({
          root: z.string(),
          assetUuid: z.string().nullable(),
          assetId: z.number().int().positive().optional(),
        }),
      )
      .describe('Roots whose declaration, inputs or diagnostics changed.'),
    diagnosticsBefore: z.number().int().nonnegative(),
    diagnosticsAfter: z.number().int().nonnegative(),
  }),
);

export const reconcile = /* @__PURE__ */ defineRequest({
  method: 'packer/reconcile',
  lane: 'write',
  params: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      ...ProjectParams,
      ...WriteParams,
    }),
  ),
  result: /* @__PURE__ */ lazy(() =>
    z.strictObject({
      operationId: z.string(),
      projectId: ProjectId,
      previousRevision: Revision,
      revision: Revision,
      diff: SnapshotDiff,
      clearedChanges: z.number().int().nonnegative().describe('How many divergent paths the new snapshot accepts.'),
      accepted: z
        .array(DivergentChange)
        .describe(
          'The divergent paths the new snapshot accepts (including input content changes, which the asset diff does not show).',
        ),
    }),
  ),
  summary:
    "Accepts the disk's current truth into a new snapshot and says what changed between the two. Registry consequences become diagnostics with safe fixes (a moved root offers a relocate); the registry itself is never edited.",
});
