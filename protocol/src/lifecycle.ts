/**
 * The packer-specific parts of LSP's `initialize`: what the client may ask for in
 * `initializationOptions` and what the server declares under `capabilities.experimental.packer`.
 */
import { z } from 'zod';
import { FolderUri, ProjectId, Revision } from './common.js';
import { ProjectState } from './projects.js';
import { lazy } from './lazy.js';

/** The wire protocol version; bumped on any change a client can observe. */
export const PACKER_PROTOCOL_VERSION = '0.1.0';

/**
 * The longest typing pause a client may set (`diagnosticsDelayMs`), in ms: one hour. Node runs a timer set
 * beyond 2^31 − 1 ms after 1 ms, so an unbounded value would mean no pause at all.
 */
export const MAX_DIAGNOSTICS_DELAY_MS = 3_600_000;

/** `initialize` params, as far as the packer reads them. Unknown LSP fields are accepted and ignored. */
export const InitializeParams = /* @__PURE__ */ lazy(() =>
  z.looseObject({
    processId: z.number().int().nullable().describe('The client process; the server exits when it dies.'),
    clientInfo: z.looseObject({ name: z.string(), version: z.string().optional() }).optional(),
    rootUri: z.string().nullable().optional(),
    workspaceFolders: z
      .array(z.looseObject({ uri: FolderUri, name: z.string() }))
      .nullable()
      .optional()
      .describe('Each is opened as a project.'),
    capabilities: z
      .looseObject({})
      .describe(
        'LSP client capabilities. With `window.workDoneProgress: true`, work the server starts itself (the verification pass when a project starts watching, auto-reconcile) is shown as `$/progress` on a token the server creates with `window/workDoneProgress/create`; it is never cancellable.',
      ),
    trace: z.enum(['off', 'messages', 'verbose']).optional(),
    initializationOptions: z
      .looseObject({
        autoReconcile: z
          .boolean()
          .optional()
          .describe('Default auto-reconcile setting for every project this connection opens.'),
        diagnosticsDelayMs: z
          .number()
          .nonnegative()
          .max(MAX_DIAGNOSTICS_DELAY_MS, { error: `must be at most ${MAX_DIAGNOSTICS_DELAY_MS} ms (one hour)` })
          .optional()
          .describe(
            'How long typing must pause before an open asset.json or index.json is validated, in ms (default 150; 0 validates every change; at most 3600000, one hour).',
          ),
      })
      .optional(),
  }),
);

/** One input role of an asset type: how many files it takes and what each must hold. */
export const InputRoleCapability = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    role: z.string().describe('The key under `inputs` in `asset.json`.'),
    min: z.number().int().nonnegative().describe('At least this many files.'),
    max: z.number().int().positive().describe('At most this many files.'),
    rule: z.string().describe('What each file must hold, in words, for a person.'),
  }),
);

/** One asset type the server supports, from the tables it validates with. */
export const AssetTypeCapability = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    type: z.string().describe('The `type` of `asset.json`, for example `glyph_bank`.'),
    format: z.string().describe('The one `output.format` the type allows.'),
    codecs: z.array(z.string()).describe('The `output.codec` values the type allows.'),
    inputs: z.array(InputRoleCapability).describe('The input roles, in the order a create form would ask for them.'),
  }),
);
export type AssetTypeCapability = z.infer<typeof AssetTypeCapability>;

/** What the server offers, under `capabilities.experimental.packer`. */
export const PackerCapabilities = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    protocolVersion: z.string(),
    requests: z.array(z.string()).describe('Every packer request method the server answers.'),
    notifications: z.array(z.string()).describe('Every packer notification the server accepts or sends.'),
    mutations: z.array(z.string()).describe('Mutation kinds the server can preview and apply.'),
    doctorScopes: z.array(z.enum(['registered', 'workspace'])),
    assetTypes: z
      .array(AssetTypeCapability)
      .describe('Every asset type the server can validate and pack, so a create wizard hard-codes none.'),
    formats: z.array(z.string()).describe('Every output format id the server can build, for example `BLOB/raw_v1`.'),
  }),
);

/** One project opened from a workspace folder at `initialize`. */
export const InitialProject = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    rootUri: z.string(),
    projectId: ProjectId.optional(),
    revision: Revision.optional(),
    state: ProjectState.optional(),
    error: z
      .strictObject({ code: z.number(), message: z.string() })
      .optional()
      .describe('Why the folder could not be opened.'),
  }),
);

/** `initialize` result. */
export const InitializeResult = /* @__PURE__ */ lazy(() =>
  z.strictObject({
    serverInfo: z.strictObject({ name: z.string(), version: z.string() }),
    capabilities: z
      .looseObject({
        experimental: z.strictObject({ packer: PackerCapabilities }),
      })
      .describe("The standard LSP server capabilities (text document sync, hover...) and the packer's own."),
    projects: z.array(InitialProject).describe('The workspace folders, opened as projects, in the order given.'),
  }),
);
export type InitializeResult = z.infer<typeof InitializeResult>;
