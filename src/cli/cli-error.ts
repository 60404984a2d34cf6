/** A failure of a client command that is not the cluster's answer ("no node named sub9", ...). */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** The text of an API error body, `CODE: message`, or the body as JSON when it is not one. */
export function errorText(body: unknown): string {
  const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  return error?.code === undefined ? JSON.stringify(body) : `${error.code}: ${error.message ?? ''}`;
}
