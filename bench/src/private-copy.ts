/** Private copies of cached workspaces in a temporary folder, for benchmarks that write into the tree they measure. */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A copy of a project folder that is deleted when the benchmark is done with it. */
export interface PrivateCopy {
  /** The copied project folder (it holds `assets/`). */
  readonly projectDir: string;
  /** Milliseconds the copy took. */
  readonly copyMs: number;
  /** Deletes the copy and its temporary parent. */
  remove(): void;
}

/**
 * Copies `sourceDir` (a project folder) into a new folder under the system's temporary folder, which is on
 * the same file system as the cached workspaces on this machine (checked with `df`), so writes and fsyncs
 * cost the same as they would in place. `label` names the temporary folder.
 */
export function copyToTemporary(sourceDir: string, label: string): PrivateCopy {
  const parent = mkdtempSync(join(tmpdir(), `prometeu-bench-${label}-`));
  const projectDir = join(parent, 'project');
  const started = performance.now();
  try {
    cpSync(sourceDir, projectDir, { recursive: true });
  } catch (error) {
    rmSync(parent, { recursive: true, force: true });
    throw error;
  }
  const copyMs = performance.now() - started;
  return { projectDir, copyMs, remove: () => rmSync(parent, { recursive: true, force: true }) };
}
