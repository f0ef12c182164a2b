/**
 * Files of the packer's own installation (not of any project), such as the diagnostics reference an editor
 * links to. Kept in io/ because only io/ touches the file system.
 */
import { existsSync } from 'node:fs';

/** Whether the file at `url` (a `file:` URL inside the installation) exists. */
export function installedFileExists(url: URL): boolean {
  return url.protocol === 'file:' && existsSync(url);
}
