/**
 * The dispatch table: every packer request, named once with its lane and its handler. The transport
 * validates params against the method's schema, then runs the handler the way its lane says.
 */
import { packerRequests, type PackerRequestName, type ParamsOf, type ResultOf } from '@prometeu/packer-protocol';
import type { PreparedWrite, ReadContext, ServerContext } from '../handlers/context.js';
import {
  closeProject,
  openProject,
  prepareApplyMutation,
  prepareInitWorkspace,
  prepareReconcile,
  preparePack,
} from '../handlers/projects.js';
import * as reads from '../handlers/reads.js';

type MaybePromise<T> = T | Promise<T>;

/** How one request is served. */
export type Route<N extends PackerRequestName> =
  | {
      readonly lane: 'read';
      readonly handle: (
        context: ReadContext,
        params: ParamsOf<(typeof packerRequests)[N]>,
      ) => MaybePromise<ResultOf<(typeof packerRequests)[N]>>;
    }
  | {
      readonly lane: 'server';
      readonly handle: (
        context: ServerContext,
        params: ParamsOf<(typeof packerRequests)[N]>,
      ) => MaybePromise<ResultOf<(typeof packerRequests)[N]>>;
    }
  | {
      readonly lane: 'write';
      readonly prepare: (
        context: ServerContext,
        params: ParamsOf<(typeof packerRequests)[N]>,
      ) => MaybePromise<PreparedWrite<ResultOf<(typeof packerRequests)[N]>>>;
    };

/** Every packer request and how it is served. A test checks each lane against the protocol declaration. */
export const routes: { readonly [N in PackerRequestName]: Route<N> } = {
  openProject: { lane: 'server', handle: openProject },
  closeProject: { lane: 'server', handle: closeProject },
  initWorkspace: { lane: 'write', prepare: prepareInitWorkspace },
  projectStatus: { lane: 'read', handle: reads.projectStatus },
  listAssets: { lane: 'read', handle: reads.listAssets },
  getAssetDetails: { lane: 'read', handle: reads.getAssetDetails },
  doctor: { lane: 'read', handle: reads.doctor },
  packSummary: { lane: 'read', handle: reads.packSummary },
  events: { lane: 'read', handle: reads.events },
  previewMutation: { lane: 'read', handle: reads.previewMutation },
  applyMutation: { lane: 'write', prepare: prepareApplyMutation },
  reconcile: { lane: 'write', prepare: prepareReconcile },
  pack: { lane: 'write', prepare: preparePack },
};

/** Method string to short name. */
export const routeByMethod: ReadonlyMap<string, PackerRequestName> = new Map(
  (Object.keys(packerRequests) as PackerRequestName[]).map((name) => [packerRequests[name].method, name]),
);
