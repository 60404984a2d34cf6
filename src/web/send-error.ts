import type { FastifyReply } from 'fastify';

/**
 * Error codes of the dashboard's own routes, beyond the API's (`ErrorCode` in api-error.ts).
 * `SECONDARY_UNREACHABLE`: the master got no usable answer from a secondary it forwards to.
 * `DASHBOARD_NOT_BUILT`: the page's files are missing from this build.
 */
export type DashboardErrorCode = 'SECONDARY_UNREACHABLE' | 'DASHBOARD_NOT_BUILT';

/** Sends the API's error envelope with one of the dashboard's own codes. */
export function sendError(
  reply: FastifyReply,
  statusCode: number,
  code: DashboardErrorCode,
  message: string,
  headers: Readonly<Record<string, string>> = {},
): FastifyReply {
  return reply
    .code(statusCode)
    .headers(headers)
    .send({ status: 'error', error: { code, message } });
}
