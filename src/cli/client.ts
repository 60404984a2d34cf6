/** The small HTTP client behind `rlog append`, `list` and `health`. */
export interface ClientAnswer {
  readonly status: number;
  readonly body: unknown;
}

export class ClientError extends Error {
  override readonly name = 'ClientError';
}

export async function call(
  url: string,
  init: RequestInit & { timeoutMs?: number } = {},
): Promise<ClientAnswer> {
  const { timeoutMs, ...rest } = init;
  let response: Response;
  try {
    response = await fetch(
      url,
      timeoutMs === undefined ? rest : { ...rest, signal: AbortSignal.timeout(timeoutMs) },
    );
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    throw new ClientError(
      cause === 'ECONNREFUSED'
        ? `nothing answers at ${new URL(url).origin}: is the node running? (start a cluster with "npm start")`
        : `cannot reach ${new URL(url).origin}: ${cause ?? (error as Error).message}`,
    );
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, body };
}

export function errorText(body: unknown): string {
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return error?.code === undefined ? JSON.stringify(body) : `${error.code}: ${error.message ?? ''}`;
}
