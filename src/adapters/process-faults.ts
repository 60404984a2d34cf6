import type { Logger } from './logger.js';

/** The exit code of a process killed by SIGKILL, as a shell reports it. */
const KILLED_EXIT_CODE = 137;

/**
 * The real process faults of `POST /admin/kill` and `/admin/stop` (see process-fault-routes.ts):
 * this process kills itself with SIGKILL, or blocks its only thread for a while, which is what
 * SIGSTOP then SIGCONT would do to it (connections wait in the kernel, timers fire late).
 */
export function processFaults(logger: Logger): {
  kill(): void;
  stop(durationMs: number): void;
} {
  return {
    kill() {
      logger.warn({ event: 'fault-kill' }, 'killed by fault injection (POST /admin/kill)');
      process.kill(process.pid, 'SIGKILL');
      // As PID 1 of a container the signal is ignored: end all the same, without cleanup.
      process.exit(KILLED_EXIT_CODE);
    },
    stop(durationMs) {
      logger.warn(
        { event: 'fault-stop', durationMs },
        `stopped by fault injection for ${durationMs} ms (POST /admin/stop)`,
      );
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, durationMs);
      logger.warn({ event: 'fault-stop-ended', durationMs }, 'going on after POST /admin/stop');
    },
  };
}
