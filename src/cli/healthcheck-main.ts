#!/usr/bin/env node
/**
 * The image's HEALTHCHECK entry: `rlog healthcheck` without the rest of the CLI. Docker starts it
 * every 5 s in each container; loading commander and every command (dist/cli/main.js) took
 * ~0.6 s of CPU per run (~0.35 s since it is one bundled file), which on a busy 2-core machine
 * could pass Docker's 3 s --timeout and mark a healthy node unhealthy. This loads Node's own
 * modules only (~0.13 s of CPU a run, Node's own start included).
 */
import { healthcheck } from './healthcheck.js';

healthcheck(process.env).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`rlog healthcheck: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
