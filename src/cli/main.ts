#!/usr/bin/env node
/**
 * `rlog` (package.json's bin, `npm start`, the Docker image, the launcher): turns on Node's
 * module compile cache, then loads dist/cli/rlog.bundle.js, the whole CLI and its dependencies
 * in one file (src/build/bundle.ts).
 *
 * Why: compiling that 2.9 MB file is the largest single cost of a node's start (~90 ms of ~370 ms
 * of CPU in a profiled start, Node 20), and every restart pays it (a catch-up, a failover test, a
 * container). With the cache, V8's compiled code of the bundle is kept on disk and reused while
 * the file is unchanged: `rlog master` went from 348-466 to 265-369 ms from spawn to answering
 * GET /health (median 417 → 301 ms, 15 alternating starts each, Node 24). Node 22.1 and later
 * have the cache; on Node 20 `enableCompileCache` is absent and the bundle loads as before.
 *
 * The bundle is loaded with a dynamic import, after the cache is on: a static import would be
 * compiled before this module's body runs. Node keeps the cache in `os.tmpdir()/node-compile-cache`
 * unless NODE_COMPILE_CACHE names another directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 * Node writes the cache only at exit, and a node is often killed (kill -9 in tests, SIGKILL from
 * Docker): it is written as soon as the bundle has loaded.
 */
import nodeModule from 'node:module';

/** Present from Node 22.1 (`enableCompileCache`) and 22.10 (`flushCompileCache`). */
interface CompileCache {
  readonly enableCompileCache?: () => unknown;
  readonly flushCompileCache?: () => void;
}

const BUNDLE = './rlog.bundle.js';
const cache = nodeModule as CompileCache;

cache.enableCompileCache?.();
await import(BUNDLE);
cache.flushCompileCache?.();
