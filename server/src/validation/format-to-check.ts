/** Which format implementation checks a declaration, under the same condition the snapshot and the pack use. */
import type { AssetDeclarationFile } from '@prometeu/packer-protocol';
import { formatCheckable } from '../domain/format-results.js';
import type { AssetFormat } from '../pack/formats/format.js';
import { formatNamed } from '../pack/formats/registry.js';

/**
 * The format whose checks run on this declaration, or undefined when they cannot: the declaration is
 * invalid, or its `output.format` is not the one its type requires. The pack runs a format under exactly
 * the same condition (with every input present).
 */
export function formatToCheck(declaration: AssetDeclarationFile | null): AssetFormat | undefined {
  if (!formatCheckable(declaration)) return undefined;
  return formatNamed(declaration!.output.format);
}
