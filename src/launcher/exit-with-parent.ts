/**
 * For processes a launcher starts (nodes, the bench's no-op server and readers): exit when the
 * launching process goes away, however it went (even SIGKILL, which leaves it no chance to stop
 * its children). The launcher spawns each child with an IPC channel; the channel closes when the
 * parent dies, and that is the signal. A process started by hand or by a container has no
 * channel, and this does nothing.
 */
export function exitWithParent(): void {
  if (process.channel === undefined) return;
  // Unreferenced, so the channel alone never keeps a child alive after it has stopped itself.
  process.channel.unref();
  process.once('disconnect', () => {
    process.exit(0);
  });
}
