import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** Docker's own --timeout is the outer bound; this one makes the failure say why. */
const HEALTHCHECK_TIMEOUT_MS = 2000;

/**
 * `rlog healthcheck`: the container's HEALTHCHECK. Asks this node's own `GET /health` on
 * 127.0.0.1 at PORT (HTTPS with TLS_CERT, trusting TLS_CA or the certificate itself) and exits
 * 0 on 200, 1 otherwise, with the reason on stderr for `docker inspect`.
 *
 * Docker runs it every few seconds in every container, as a new process: it imports only Node's
 * own modules (lint-enforced), so that it starts in tens of milliseconds rather than loading the
 * whole CLI; the image runs it through healthcheck-main.ts.
 */
export async function healthcheck(env: NodeJS.ProcessEnv): Promise<number> {
  const port = env['PORT'] ?? '8000';
  const certFile = env['TLS_CERT'];
  const tls = certFile !== undefined && certFile !== '';
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/health`;
  try {
    const status = await getStatus(url, tls ? trustOptions(certFile, env['TLS_CA']) : undefined);
    if (status === 200) return 0;
    process.stderr.write(`rlog healthcheck: ${url} answered ${status}\n`);
    return 1;
  } catch (error) {
    const code = (error as { code?: string }).code;
    process.stderr.write(`rlog healthcheck: ${url}: ${code ?? (error as Error).message}\n`);
    return 1;
  }
}

interface TrustOptions {
  readonly ca: string;
  readonly checkServerIdentity: () => undefined;
}

function trustOptions(certFile: string, caFile: string | undefined): TrustOptions {
  const ca = readFileSync(caFile === undefined || caFile === '' ? certFile : caFile, 'utf8');
  // The certificate names the node's service name (sub1, ...), not 127.0.0.1: the chain is
  // checked, the name is not, since this asks the very process it runs beside.
  return { ca, checkServerIdentity: () => undefined };
}

/** The status of one GET, its body drained; rejects on a network error or after the timeout. */
function getStatus(url: string, trust: TrustOptions | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const answered = (response: IncomingMessage): void => {
      response.resume();
      response.on('end', () => {
        resolve(response.statusCode ?? 0);
      });
      response.on('error', reject);
    };
    const options = { timeout: HEALTHCHECK_TIMEOUT_MS, agent: false as const };
    const req =
      trust === undefined
        ? httpRequest(url, options, answered)
        : httpsRequest(url, { ...options, ...trust }, answered);
    req.on('timeout', () => {
      req.destroy(new Error(`no answer within ${HEALTHCHECK_TIMEOUT_MS} ms`));
    });
    req.on('error', reject);
    req.end();
  });
}
