/**
 * Entry of a cluster node started by the bench: `rlog master` / `rlog secondary` exactly (same
 * code, same environment variables), plus exiting with the bench process if it dies.
 */
import { exitWithParent } from './child-guard.js';

exitWithParent();
await import('../cli/main.js');
