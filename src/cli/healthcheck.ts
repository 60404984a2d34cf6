import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';

/** Docker's own --timeout is the outer bound; this one makes the failure say why. */
const HEALTHCHECK_TIMEOUT_MS = 2000;

/**
 * `rlog healthcheck`: the container's HEALTHCHECK. Asks this node's own `GET /health` on
 * 127.0.0.1 at PORT (HTTPS with TLS_CERT, trusting TLS_CA or the certificate itself) and exits
 * 0 on 200, 1 otherwise, with the reason on stderr for `docker inspect`.
 */
export async function healthcheck(env: NodeJS.ProcessEnv): Promise<number> {
  const port = env['PORT'] ?? '8000';
  const certFile = env['TLS_CERT'];
  const scheme = certFile === undefined || certFile === '' ? 'http' : 'https';
  const url = `${scheme}://127.0.0.1:${port}/health`;
  try {
    let dispatcher: Agent | undefined;
    if (scheme === 'https') {
      const caFile = env['TLS_CA'];
      const ca = readFileSync(caFile === undefined || caFile === '' ? certFile! : caFile, 'utf8');
      // The certificate names the node's service name (sub1, ...), not 127.0.0.1: the chain is
      // checked, the name is not, since this asks the very process it runs beside.
      dispatcher = new Agent({ connect: { ca, checkServerIdentity: () => undefined } });
    }
    const response = await fetch(url, {
      signal: AbortSignal.timeout(HEALTHCHECK_TIMEOUT_MS),
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    await response.body?.cancel();
    if (response.status === 200) return 0;
    process.stderr.write(`rlog healthcheck: ${url} answered ${response.status}\n`);
    return 1;
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    process.stderr.write(`rlog healthcheck: ${url}: ${cause ?? (error as Error).message}\n`);
    return 1;
  }
}
