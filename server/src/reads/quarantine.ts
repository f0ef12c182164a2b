/**
 * The `packer/listQuarantine` read: the quarantined assets of the pinned snapshot (whose quarantine
 * manifests are read with every snapshot), in the wire's shape.
 */
import type { ResultOf, packerRequests } from '@prometeu/packer-protocol';
import type { ReadContext } from '../dispatch/context.js';

type Requests = typeof packerRequests;

/** `packer/listQuarantine`. */
export function listQuarantine(context: ReadContext): ResultOf<Requests['listQuarantine']> {
  const { snapshot } = context;
  return {
    revision: snapshot.revision,
    entries: snapshot.quarantine.map((entry) => ({
      assetUuid: entry.assetUuid,
      name: entry.name,
      type: entry.type,
      originalRoot: entry.root,
      quarantinedAt: entry.quarantinedAt,
      ...(entry.assetId !== null ? { assetId: entry.assetId } : {}),
      includedInBuild: entry.includedInBuild,
    })),
  };
}
