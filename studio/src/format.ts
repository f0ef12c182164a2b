// Formatting for display: sizes, progress, hashes. It changes how a packer value reads, never what it is.
import type { ProgressView } from './views.js';

/** A byte count for a person: `512 B`, `3.4 KiB`, `1.2 MiB`. */
export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / (1024 * 1024)).toFixed(1)} MiB`;
}

/** The packer's progress as text: `3/10 assets: hero` (or `3 assets` without a total). */
export function formatProgress(progress: ProgressView): string {
  const unit = progress.unit === null ? '' : ` ${progress.unit}`;
  const count = progress.total === null ? `${progress.done}${unit}` : `${progress.done}/${progress.total}${unit}`;
  return progress.message === null ? count : `${count}: ${progress.message}`;
}

/** The fraction done, for a progress bar, when the packer gave a total; null otherwise. */
export function progressFraction(progress: ProgressView): number | null {
  if (progress.total === null || progress.total === 0) return null;
  return Math.min(1, progress.done / progress.total);
}

/** The first characters of a hash, for a narrow column. */
export function shortHash(sha256: string, length = 12): string {
  return sha256.slice(0, length);
}
