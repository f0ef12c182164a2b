/**
 * The declaration draft `packer create` sends with its `createAsset` intent. The server fills what it owns
 * (`schema_version`, a fresh `asset_uuid`) and validates the rest; the CLI only supplies the output contract
 * of the type, because the server does not advertise its types yet (see {@link CREATE_TYPES}).
 */

/**
 * The output contract of each asset type `packer create` can draft: the only `output.format` the server
 * allows for the type and its first allowed codec. It mirrors the server's asset type table, and exists
 * only until `initialize` advertises the types (`capabilities.experimental.packer.assetTypes`, not in the
 * protocol yet); the server re-checks whatever is sent, so a stale entry is a blocker, never a wrong asset.
 */
export const CREATE_TYPES: Readonly<Record<string, { readonly format: string; readonly codec: string }>> =
  Object.freeze({
    blob: { format: 'BLOB/raw_v1', codec: 'NONE' },
    glyph_bank: { format: 'GLYPH/indexed_v1', codec: 'NONE' },
    sound_bank: { format: 'SOUNDS/pcm16le_v1', codec: 'NONE' },
  });

/**
 * The `asset.json` draft (without `schema_version` and `asset_uuid`, which the server fills) for a new
 * asset of `type` at `root`, named `name` (default: the root's last folder). No inputs and no preload:
 * the diagnostics of the new asset say which inputs its format needs. Returns an error message when the
 * type is not one {@link CREATE_TYPES} knows.
 */
export function createDraft(type: string, root: string, name: string | undefined): Record<string, unknown> | string {
  const contract = Object.hasOwn(CREATE_TYPES, type) ? CREATE_TYPES[type] : undefined;
  if (contract === undefined)
    return `create knows the asset types ${Object.keys(CREATE_TYPES).join(', ')}, not '${type}'.`;
  return {
    name: name ?? root.split('/').pop() ?? root,
    type,
    inputs: {},
    output: { format: contract.format, codec: contract.codec },
    preload: { enabled: false },
  };
}
