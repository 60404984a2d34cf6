import { setMaxListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LatencyHistogram } from './histogram.js';
import { HttpConnection } from './http-connection.js';
import { encodePost } from './http-wire.js';

/**
 * One client's connection, with one request in flight at a time: what differs between the
 * servers the generator drives (HTTP and Redis's RESP, each through a lean client of its own). The closed loop, the
 * windows, the histogram and the counting are the generator's alone.
 */
export interface LoadConnection {
  /**
   * Sends the request and waits for its whole answer: resolves undefined when it succeeded, or a
   * short text saying why when the server answered with a failure; rejects when no answer came.
   */
  send(): Promise<string | undefined>;
  /** Ends the connection at once; a request in flight rejects. */
  close(): Promise<void>;
}

/**
 * Opens one client's connection (it may connect lazily, on the first send). `signal` aborts when
 * the run is over: a request still in flight must then reject. `requestTimeoutMs` bounds the wait
 * for one answer.
 */
export type Connect = (signal: AbortSignal, requestTimeoutMs: number) => LoadConnection;

/** The HTTP target: a POST of the same body on each request. */
export interface HttpTarget {
  /** Scheme, host and port of the server, e.g. http://127.0.0.1:9110. */
  readonly origin: string;
  readonly path: string;
  /** Sent as is with every request; encoded once, so the generator's own cost stays flat. */
  readonly body: string | Uint8Array;
}

export type LoadOptions = LoadRunOptions & (HttpTarget | { readonly connect: Connect });

export interface LoadRunOptions {
  /** How many appends one successful request stands for (100 for a batch append). */
  readonly messagesPerRequest: number;
  /** Concurrent clients, each with its own keep-alive connection and one request in flight. */
  readonly clients: number;
  /** Measured time, after the warm-up. */
  readonly durationMs: number;
  /** Time before measuring: connections are opened and the JIT warms up; nothing is counted. */
  readonly warmupMs: number;
  /** Longest wait for one response; bounds the run when the server stalls. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Stops the run early (Ctrl-C); the result then covers the time measured until then. */
  readonly signal?: AbortSignal;
}

export interface LoadResult {
  readonly clients: number;
  /** Requests completed inside the measured window, answered or failed. */
  readonly requests: number;
  /** Appends carried by the successful (2xx) requests among them. */
  readonly messages: number;
  /** Requests among them that got a non-2xx status or no answer at all. */
  readonly errors: number;
  /** Length of the measured window. */
  readonly durationS: number;
  /** messages / durationS: appends per second. */
  readonly throughput: number;
  readonly requestsPerS: number;
  /** Latencies of the successful requests (0 when there were none). */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly meanMs: number;
  readonly maxMs: number;
  /** A few distinct errors, to say why a run went wrong. */
  readonly errorSamples: readonly string[];
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** After a failure without an answer (refused, reset), so a dead server does not spin a hot loop. */
const TRANSPORT_ERROR_PAUSE_MS = 10;
const MAX_ERROR_SAMPLES = 5;

/**
 * Why this does not use ReplicatedLogClient (src/client), as the CLI and the chaos clients do:
 * the generator measures the server, on the same few cores as the nodes, so its own cost per
 * request must stay flat and small. The client would add, per request, a JSON.stringify of the
 * body (a 100-message batch is re-encoded each time; here it is encoded once), a random
 * idempotency key, a parse of the answer (here it is only read to its end) and retry bookkeeping;
 * and a bench must count a failure, never retry it. It also drives the no-op server, which is
 * not a log. So its inner loop stays one request of bytes encoded once on one keep-alive connection
 * per loop, its answer read to its end (the latency includes the body) but not parsed.
 *
 * A closed-loop load generator: `clients` loops, each sending its next request as soon as the
 * previous one is answered, for a warm-up then `durationMs`. Requests completing inside the
 * measured window count; those in flight at its end are awaited (bounded by the request timeout)
 * but not counted, so the window holds only whole requests.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  checkLoadOptions(options);
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const connect = 'connect' in options ? options.connect : httpConnect(options);
  const tally = new LoadTally();

  options.signal?.throwIfAborted();
  const stop = linkRunStop(options.clients, options.signal);
  const clients = Array.from({ length: options.clients }, () =>
    connect(stop.signal, requestTimeoutMs),
  );

  const startedAtMs = performance.now();
  const measureFromMs = startedAtMs + options.warmupMs;
  const window: LoadWindow = { measureFromMs, measureUntilMs: measureFromMs + options.durationMs };

  const loops = Promise.all(
    clients.map((client) => clientLoop(client, window, stop.signal, tally)),
  );
  try {
    const drainTimer = waitUntil(window.measureUntilMs + requestTimeoutMs, stop.signal).then(() => {
      stop.abort(new Error('drain time over'));
    });
    await loops;
    stop.abort(new Error('run over')); // also ends drainTimer
    await drainTimer;
  } finally {
    stop.abort(new Error('run over'));
    stop.detach();
    await Promise.allSettled(clients.map((client) => client.close()));
  }
  return summarize(tally, window, stop.stoppedAtMs(), options);
}

/** Rejects at once a run that could not measure anything. */
function checkLoadOptions(options: LoadOptions): void {
  if (!Number.isInteger(options.clients) || options.clients < 1) {
    throw new RangeError(`clients must be a positive integer; got ${options.clients}`);
  }
  if (!(options.durationMs > 0) || !(options.warmupMs >= 0)) {
    throw new RangeError(
      `durationMs must be > 0 and warmupMs >= 0; got ${options.durationMs} and ${options.warmupMs}`,
    );
  }
}

/**
 * What the client loops count into. One object for the whole run, its fields bumped in place, so
 * counting a request allocates nothing.
 */
class LoadTally {
  requests = 0;
  successes = 0;
  errors = 0;
  readonly histogram = new LatencyHistogram();
  readonly errorSamples = new Set<string>();
}

/** The measured window, in performance.now() time: requests completing inside it count. */
interface LoadWindow {
  readonly measureFromMs: number;
  readonly measureUntilMs: number;
}

/** The run's own abort, tied to the caller's signal, and when it fired. */
interface RunStop {
  /** Every request in flight listens on it. */
  readonly signal: AbortSignal;
  abort(reason: unknown): void;
  /** When the abort fired (performance.now() time); undefined while the run goes on. */
  stoppedAtMs(): number | undefined;
  /** Unhooks it from the caller's signal, once the run is over. */
  detach(): void;
}

/**
 * Aborts the requests still in flight once the drain time is over, or at once on the caller's
 * signal.
 */
function linkRunStop(clients: number, callerSignal: AbortSignal | undefined): RunStop {
  const abort = new AbortController();
  // Every request in flight listens on it; more than the default 10 is expected, not a leak.
  setMaxListeners(clients + 10, abort.signal);
  let stoppedAtMs: number | undefined;
  // Recorded when the caller aborts, so that an interrupted run reports the time it really ran.
  abort.signal.addEventListener(
    'abort',
    () => {
      stoppedAtMs ??= performance.now();
    },
    { once: true },
  );
  const onCallerAbort = (): void => {
    abort.abort(callerSignal?.reason);
  };
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: abort.signal,
    abort: (reason) => {
      abort.abort(reason);
    },
    stoppedAtMs: () => stoppedAtMs,
    detach: () => {
      callerSignal?.removeEventListener('abort', onCallerAbort);
    },
  };
}

/**
 * One client's closed loop: its next request as soon as the previous one is answered, until the
 * window ends or the run is aborted. Per request it allocates nothing of its own and awaits only
 * the answer (and the pause after a transport error).
 */
async function clientLoop(
  client: LoadConnection,
  window: LoadWindow,
  signal: AbortSignal,
  tally: LoadTally,
): Promise<void> {
  while (!stopped(signal) && performance.now() < window.measureUntilMs) {
    const sentAtMs = performance.now();
    let ok = false;
    let failure: string | undefined;
    let answered = true;
    try {
      failure = await client.send();
      ok = failure === undefined;
    } catch (error) {
      // Aborted by the drain deadline or the caller, not the server's fault: not counted.
      if (stopped(signal)) return;
      answered = false;
      failure = errorText(error);
    }
    const doneAtMs = performance.now();
    if (doneAtMs >= window.measureFromMs && doneAtMs <= window.measureUntilMs) {
      tally.requests += 1;
      if (ok) {
        tally.successes += 1;
        tally.histogram.recordUs((doneAtMs - sentAtMs) * 1000);
      } else {
        tally.errors += 1;
        if (failure !== undefined && tally.errorSamples.size < MAX_ERROR_SAMPLES) {
          tally.errorSamples.add(failure);
        }
      }
    }
    if (!answered) await sleep(TRANSPORT_ERROR_PAUSE_MS);
  }
}

/** A function, not the property read inline: it changes while the loop awaits. */
function stopped(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** The result over the measured window, cut short where the run was stopped early. */
function summarize(
  tally: LoadTally,
  window: LoadWindow,
  stoppedAtMs: number | undefined,
  options: LoadRunOptions,
): LoadResult {
  const endMs = Math.min(stoppedAtMs ?? window.measureUntilMs, window.measureUntilMs);
  const durationS = Math.max(0, endMs - window.measureFromMs) / 1000;
  const messages = tally.successes * options.messagesPerRequest;
  const histogram = tally.histogram;
  const ms = (us: number): number => us / 1000;
  return {
    clients: options.clients,
    requests: tally.requests,
    messages,
    errors: tally.errors,
    durationS,
    throughput: durationS > 0 ? messages / durationS : 0,
    requestsPerS: durationS > 0 ? tally.requests / durationS : 0,
    p50Ms: ms(histogram.valueAtPercentileUs(50)),
    p99Ms: ms(histogram.valueAtPercentileUs(99)),
    p999Ms: ms(histogram.valueAtPercentileUs(99.9)),
    meanMs: ms(histogram.meanUs),
    maxMs: ms(histogram.maxUs),
    errorSamples: [...tally.errorSamples],
  };
}

/**
 * HTTP: an HttpConnection per loop (our own lean HTTP/1.1, http-wire.ts): exactly one connection
 * and one request per client. The request, body included, is encoded once.
 */
export function httpConnect(target: HttpTarget): Connect {
  const origin = new URL(target.origin);
  const request = encodePost(origin, target.path, target.body);
  const port = origin.port === '' ? 80 : Number(origin.port);
  return (signal, requestTimeoutMs) => {
    const connection = new HttpConnection(origin.hostname, port, requestTimeoutMs);
    signal.addEventListener(
      'abort',
      () => {
        connection.close();
      },
      { once: true },
    );
    return {
      send: async () => {
        const answer = await connection.send(request);
        if (answer.status >= 200 && answer.status < 300) return undefined;
        return `HTTP ${answer.status}: ${answer.bodyStart}`;
      },
      close: () => {
        connection.close();
        return Promise.resolve();
      },
    };
  };
}

/** Resolves at `atMs` (performance.now() time) or as soon as `signal` aborts. */
async function waitUntil(atMs: number, signal: AbortSignal): Promise<void> {
  const delayMs = Math.max(0, atMs - performance.now());
  try {
    await sleep(delayMs, undefined, { signal });
  } catch {
    // Aborted: the run is over one way or another.
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
