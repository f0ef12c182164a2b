/** The most bytes the packer reads from each kind of file in a project, so no file can exhaust its memory. */
import { FileSizeLimits } from '@prometeu/packer-protocol';

type SizeLimitName = keyof typeof FileSizeLimits;

/**
 * Size limits of what the packer reads, in bytes, from the protocol's table (`FileSizeLimits`, which the
 * protocol reference lists with why each has its value). A file over its limit is refused by its size
 * (from `fstat`, before any byte is read) with the error code `EFBIG`; a file that grows while it is read
 * is cut off at the limit and refused the same way.
 */
export const SIZE_LIMITS = Object.fromEntries(
  Object.entries(FileSizeLimits).map(([name, limit]) => [name, limit.bytes]),
) as { readonly [Name in SizeLimitName]: number };
