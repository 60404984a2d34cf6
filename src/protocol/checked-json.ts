import type { Static, TSchema } from '@sinclair/typebox';
import type { TypeCheck } from '@sinclair/typebox/compiler';

/**
 * JSON text read and checked against a compiled schema: the value, or why it is not one, naming
 * `what` was read and the first field that does not fit (`body/epoch: Expected integer`). The
 * replication endpoint reads JSON bodies with it, the frame decoder a frame's head.
 */
export function parseChecked<T extends TSchema>(
  text: string,
  check: TypeCheck<T>,
  what: string,
):
  | { readonly ok: true; readonly value: Static<T> }
  | { readonly ok: false; readonly error: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: `${what} is not valid JSON` };
  }
  if (check.Check(value)) return { ok: true, value };
  const first = check.Errors(value).First();
  const message = first === undefined ? 'does not match the schema' : first.message;
  return { ok: false, error: `${what}${first?.path ?? ''}: ${message}` };
}
