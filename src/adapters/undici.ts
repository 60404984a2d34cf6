/**
 * undici, loaded on first use rather than when the process starts: its module init is 40-59 ms
 * of a node's ~0.3 s of start-up CPU (profiled starts of a secondary, Node 20), and a secondary of
 * a fixed master or `rlog --help` never send a request with it. In the bundle
 * (src/build/bundle.ts) a dynamic import of a bundled package runs its init when first called.
 * Every module that calls undici goes through here; `import type` from 'undici' costs nothing.
 */
type Undici = typeof import('undici');

let loaded: Undici | undefined;
let loading: Promise<Undici> | undefined;

/** undici, loading it the first time. */
export function undici(): Promise<Undici> {
  loading ??= import('undici').then((module) => {
    loaded = module;
    return module;
  });
  return loading;
}

/** undici if it is loaded already: for a hot path that must not wait a turn each time. */
export function undiciIfLoaded(): Undici | undefined {
  return loaded;
}
