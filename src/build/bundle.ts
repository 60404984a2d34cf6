/**
 * The last step of `npm run build`: `rlog` as one file. dist/cli/rlog.js (compiled by tsc) and
 * everything it imports, the dependencies in node_modules included, bundled by esbuild into
 * dist/cli/rlog.bundle.js, which dist/cli/main.js loads (src/cli/main.ts: it turns on Node's
 * compile cache first). main.js is the file `rlog` (package.json's bin), `npm start`, the Docker
 * image, the launcher and so every test that starts a node run.
 *
 * Why: a node's start was mostly Node resolving, reading and compiling ~300 modules, one file at
 * a time (0.78 s from spawn to listening on this project's 2-core VM, Node 20, against 0.46 s for
 * the bundle), and every restart (a catch-up, a failover test, a container) pays it.
 *
 * The bundle must sit where the compiled file would: dist/<directory>/<file>.js, two levels under
 * the package root, because modules find package.json and the dashboard's files relative to
 * their own URL (`new URL('../../package.json', import.meta.url)`), which in the bundle is the
 * bundle's. The unbundled dist/cli/rlog.js runs the same and stays for debugging.
 */
import { build } from 'esbuild';
import { chmod } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('../cli/rlog.js', import.meta.url));
const OUTFILE = fileURLToPath(new URL('../cli/rlog.bundle.js', import.meta.url));
const MAIN = fileURLToPath(new URL('../cli/main.js', import.meta.url));

await build({
  entryPoints: [ENTRY],
  outfile: OUTFILE,
  bundle: true,
  platform: 'node',
  format: 'esm',
  // The oldest Node line the code runs on (package.json's engines).
  target: 'node20',
  // CommonJS dependencies call `require` for Node's own modules; an ES module has none.
  banner: {
    js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);",
  },
  // Chained through tsc's maps to src/: `node --enable-source-maps dist/cli/main.js` shows
  // TypeScript lines in stack traces.
  sourcemap: 'linked',
  legalComments: 'none',
  // Without comments and indentation the file is 2.9 MB instead of 4.2, and ASCII: esbuild keeps
  // dependencies' comments, and a few hold "’" or "§", which made Node decode the whole file into
  // a two-byte string (8.4 MB). Six alternating starts of a secondary (spawn to GET /health,
  // Node 20): 432 against 402 ms, 339 against 313 ms of CPU, 76 against 70 ms compiling the
  // bundle. Names are kept (no identifier or syntax minification): a stack trace still names its
  // functions, and the source map gives their lines in src/.
  minifyWhitespace: true,
  logLevel: 'warning',
});
// `./dist/cli/main.js` runs by itself, as the bundle did (tsc keeps the #! line, not the mode).
await chmod(MAIN, 0o755);
