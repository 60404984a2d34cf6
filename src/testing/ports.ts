import { createServer } from 'node:net';

/** True when nothing listens on `port` at `host` (checked by listening on it for a moment). */
export function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => {
      resolve(false);
    });
    probe.listen(port, host, () => {
      probe.close(() => {
        resolve(true);
      });
    });
  });
}

/** A base port in 20000..39999 with the next `count - 1` ports free too (as `rlog cluster` needs). */
export async function consecutiveFreePorts(count: number, host: string): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 20_000);
    const checks = await Promise.all(
      Array.from({ length: count }, (_, i) => isPortFree(base + i, host)),
    );
    if (checks.every(Boolean)) return base;
  }
  throw new Error(`no run of ${count} free ports found in 50 attempts`);
}
