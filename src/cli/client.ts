/** The small HTTP client behind `rlog append`, `list`, `health`, `wait` and `rlog shell`. */
export interface ClientAnswer {
  readonly status: number;
  readonly body: unknown;
}

export class ClientError extends Error {
  override readonly name = 'ClientError';

  constructor(
    message: string,
    /** True when no answer came at all (refused, broken, timed out): worth trying again later. */
    readonly unreachable = false,
  ) {
    super(message);
  }
}

export interface CallOptions extends RequestInit {
  /** Give up after this long; absent: wait as long as the server takes (appends block by design). */
  readonly timeoutMs?: number;
}

export async function call(url: string, init: CallOptions = {}): Promise<ClientAnswer> {
  const { timeoutMs, signal, ...rest } = init;
  const signals = [
    ...(signal === undefined || signal === null ? [] : [signal]),
    ...(timeoutMs === undefined ? [] : [AbortSignal.timeout(timeoutMs)]),
  ];
  const origin = new URL(url).origin;
  let response: Response;
  try {
    response = await fetch(
      url,
      signals.length === 0 ? rest : { ...rest, signal: AbortSignal.any(signals) },
    );
  } catch (error) {
    throw new ClientError(unreachableText(origin, error, timeoutMs), true);
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

function unreachableText(origin: string, error: unknown, timeoutMs: number | undefined): string {
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError') {
    return `no answer from ${origin} within ${timeoutMs ?? 0} ms: is the node paused or overloaded?`;
  }
  if (name === 'AbortError') return `stopped waiting for ${origin}`;
  const cause = (error as { cause?: { code?: string } }).cause?.code;
  return cause === 'ECONNREFUSED'
    ? `nothing answers at ${origin}: is the node running? (start a cluster with "npm start")`
    : `cannot reach ${origin} (${cause ?? (error as Error).message}): is the node running?`;
}

export function errorText(body: unknown): string {
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return error?.code === undefined ? JSON.stringify(body) : `${error.code}: ${error.message ?? ''}`;
}
