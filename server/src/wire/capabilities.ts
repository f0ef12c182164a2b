/**
 * What `initialize` advertises about asset types and formats, built from the very tables the server
 * validates with (`domain/asset-types.ts` and the format registry), so the two cannot disagree.
 */
import type { z } from 'zod';
import type { AssetTypeCapability } from '@prometeu/packer-protocol';
import { ASSET_TYPES } from '../domain/asset-types.js';
import { FORMATS, formatNamed } from '../pack/formats/registry.js';

/** The asset types of `capabilities.experimental.packer.assetTypes`, by type name. */
export function assetTypeCapabilities(): z.input<typeof AssetTypeCapability>[] {
  return Object.entries(ASSET_TYPES)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([type, contract]) => ({
      type,
      format: contract.format,
      codecs: [...contract.codecs],
      inputs: (formatNamed(contract.format)?.inputRoles ?? []).map((rule) => ({
        role: rule.role,
        min: rule.min,
        max: rule.max,
        rule: rule.content,
      })),
    }));
}

/** The format ids of `capabilities.experimental.packer.formats`, sorted. */
export function formatCapabilities(): string[] {
  return [...FORMATS.keys()].sort();
}
