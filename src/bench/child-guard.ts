/**
 * For processes the bench starts: exit when the bench process goes away, however it went (even
 * SIGKILL, which leaves it no chance to stop its children). The bench spawns each child with an
 * IPC channel; the channel closes when the parent dies, and that is the signal.
 */
export function exitWithParent(): void {
  if (process.channel === undefined) return; // started by hand, not by the bench
  // Unreferenced, so the channel alone never keeps a child alive after it has stopped itself.
  process.channel.unref();
  process.once('disconnect', () => {
    process.exit(0);
  });
}
