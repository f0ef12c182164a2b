/**
 * The declaration draft `packer create` sends with its `createAsset` intent, built from the asset types the
 * server advertises in `initialize` (`capabilities.experimental.packer.assetTypes`). The server fills what it
 * owns (`schema_version`, a fresh `asset_uuid`) and validates the rest; the CLI keeps no table of its own.
 */
import type { AssetTypeCapability } from '@prometeu/packer-protocol';

/** What `packer create` was asked for, before the server's types are known. */
export interface CreateRequest {
  readonly type: string;
  /** The new root, relative to `assets/`. */
  readonly root: string;
  /** The asset's name; the root's last folder when absent. */
  readonly name: string | undefined;
  readonly register: boolean;
}

/**
 * The `asset.json` draft (without `schema_version` and `asset_uuid`, which the server fills) for a new
 * asset of `type` at `root`, named `name` (default: the root's last folder), with the output format and the
 * first codec the server advertises for the type. No inputs and no preload: the diagnostics of the new
 * asset say which inputs its format needs. Returns an error message when the server advertises no such type.
 */
export function createDraft(
  assetTypes: readonly AssetTypeCapability[],
  type: string,
  root: string,
  name: string | undefined,
): Record<string, unknown> | string {
  const advertised = assetTypes.find((candidate) => candidate.type === type);
  if (advertised === undefined || advertised.codecs.length === 0)
    return `the server supports the asset types ${assetTypes.map((candidate) => candidate.type).join(', ')}, not '${type}'.`;
  return {
    name: name ?? root.split('/').pop() ?? root,
    type,
    inputs: {},
    output: { format: advertised.format, codec: advertised.codecs[0]! },
    preload: { enabled: false },
  };
}
