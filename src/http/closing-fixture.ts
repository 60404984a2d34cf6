import type { FastifyInstance } from 'fastify';

/** What a test of a request that arrives while the server closes holds on to. */
export interface HeldDuringClose {
  /** Resolves once `GET /slow` is being handled. */
  readonly inFlight: Promise<void>;
  /** Resolves once the server has started to close (fastify's preClose). */
  readonly closing: Promise<void>;
  /** Lets `GET /slow` answer (200 `{"slow":true}`). */
  readonly release: () => void;
}

/**
 * Adds `GET /slow`, answered only once `release()` is called, and a preClose hook: a client can
 * then keep a connection busy while `app.close()` starts, and send its next request behind it.
 */
export function holdDuringClose(app: FastifyInstance): HeldDuringClose {
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered = (): void => undefined;
  const inFlight = new Promise<void>((resolve) => {
    entered = resolve;
  });
  app.get('/slow', async () => {
    entered();
    await released;
    return { slow: true };
  });
  let closingStarted = (): void => undefined;
  const closing = new Promise<void>((resolve) => {
    closingStarted = resolve;
  });
  app.addHook('preClose', (done) => {
    closingStarted();
    done();
  });
  return {
    inFlight,
    closing,
    release: () => {
      release();
    },
  };
}
