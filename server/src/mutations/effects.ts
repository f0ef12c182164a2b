/**
 * The concrete effect of a mutation: file actions and the new registry. Plans produce effects; the
 * executor performs them under a journal. Paths are relative to `assets/`.
 */
import type { RegistryFile } from '@prometeu/packer-protocol';

/** One file-system action. Each one can tell, from the disk, whether it has been done. */
export type FileAction =
  /** Create (`before` null) or replace (`before` the old text) a file. */
  | { readonly kind: 'writeFile'; readonly path: string; readonly content: string; readonly before: string | null }
  /** Move a folder; the destination's parents are created. */
  | { readonly kind: 'moveFolder'; readonly from: string; readonly to: string }
  /** Delete a folder with everything in it (moved into the trash first, so a crash cannot half-delete it). */
  | { readonly kind: 'deleteFolder'; readonly path: string };

/** What applying a plan does. */
export interface MutationEffect {
  readonly actions: readonly FileAction[];
  /** The registry after the mutation, or null when it does not change. */
  readonly registry: RegistryFile | null;
}

/** The quarantine folder, relative to `assets/`. */
export const QUARANTINE_FOLDER = '.prometeu/quarantine';

/** Where a quarantined asset's folder and manifest live. */
export function quarantinePaths(assetUuid: string): { folder: string; root: string; manifest: string } {
  const folder = `${QUARANTINE_FOLDER}/${assetUuid}`;
  return { folder, root: `${folder}/root`, manifest: `${folder}/manifest.json` };
}
