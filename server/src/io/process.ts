/** Whether another process is alive, for stale locks, stale temporary files and the client's processId. */

/** True when a process with this pid exists (even one this process may not signal). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
