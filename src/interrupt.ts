/**
 * What must be undone if the process is interrupted (SIGINT, SIGTERM) in the middle of a change:
 * a scan or staging dir, a partial package, an install not yet committed. The core registers
 * cleanups here while such work is open; the command layer runs them on a signal, then exits
 * 130/143. Cleanups are synchronous: a signal is handled between two steps of the event loop,
 * never inside one. SIGKILL leaves its leftovers to the next command, as a crash does.
 */
type Cleanup = () => void;

const cleanups = new Set<Cleanup>();

/** Registers `cleanup` until the returned function is called (when the work is done or undone). */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

/** Runs every registered cleanup, newest first; one that fails does not stop the others. */
export function runInterruptCleanups(): void {
  const all = [...cleanups].reverse();
  cleanups.clear();
  for (const cleanup of all) {
    try {
      cleanup();
    } catch {
      // exiting anyway: the next command's recovery sees what is left
    }
  }
}
