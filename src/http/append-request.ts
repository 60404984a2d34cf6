import { parse as parseQuery } from 'node:querystring';
import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { ApiError } from './api-error.js';
import { AppendBody, AppendQuery } from './schemas.js';

/**
 * An append as it arrives on node:http (the append endpoint, master-routes.ts): which path it
 * names, and its body and query checked against the schemas the OpenAPI document describes
 * (schemas.ts), refused in the words fastify's validator used for them before, so that a client
 * reads the same message: `body: timeoutMs must be integer`.
 */

/** The paths of the append endpoint: `/logs`, and its alias `/messages`. */
export const APPEND_PATHS: readonly string[] = ['/logs', '/messages'];

/** A request target split as fastify's router splits it: the path, and what follows `?` or `#`. */
export interface Target {
  readonly path: string;
  readonly query: string;
}

/**
 * The target of a request for `/logs` or `/messages`; undefined for any other path, and for a
 * path with a malformed %-escape (fastify answers that one with its 400).
 */
export function appendTarget(url: string): Target | undefined {
  let end = url.length;
  for (let index = 0; index < url.length; index++) {
    const code = url.charCodeAt(index);
    // '?' or '#'.
    if (code === 0x3f || code === 0x23) {
      end = index;
      break;
    }
  }
  let path = url.slice(0, end);
  if (path.charCodeAt(0) !== 0x2f) path = pathOfAbsoluteForm(path);
  if (path.includes('%')) {
    try {
      path = decodeURI(path);
    } catch {
      return undefined;
    }
  }
  if (!APPEND_PATHS.includes(path)) return undefined;
  return { path, query: end === url.length ? '' : url.slice(end + 1) };
}

/** `http://host/logs` (the absolute form a proxy may send) as `/logs`; anything else as is. */
function pathOfAbsoluteForm(target: string): string {
  const scheme = target.indexOf('://');
  if (scheme < 0) return target;
  const slash = target.indexOf('/', scheme + 3);
  return slash < 0 ? '/' : target.slice(slash);
}

const bodyCheck = TypeCompiler.Compile(AppendBody);
const queryCheck = TypeCompiler.Compile(AppendQuery);

/** The body, checked against AppendBody: 400 naming the first field that does not fit. */
export function checkAppendBody(body: unknown): AppendBody {
  if (bodyCheck.Check(body)) return body;
  const first = bodyCheck.Errors(body).First();
  const field = fieldOf(first);
  throw new ApiError(
    400,
    'INVALID_REQUEST',
    field === ''
      ? 'body: must be a JSON object such as {"message":"hi"}'
      : `body: ${field} ${wording(first)}`,
  );
}

/** The query string's `w`, checked against AppendQuery (a repeated `w` is no string). */
export function checkAppendQuery(query: string): AppendQuery {
  if (query === '') return {};
  const parsed: unknown = { ...parseQuery(query) };
  if (queryCheck.Check(parsed)) return parsed;
  const first = queryCheck.Errors(parsed).First();
  throw new ApiError(400, 'INVALID_REQUEST', `querystring: ${fieldOf(first)} ${wording(first)}`);
}

/** The failed value's place, as `messages.1`; '' for the whole value. */
function fieldOf(error: ValueError | undefined): string {
  return (error?.path ?? '').slice(1).replaceAll('/', '.');
}

/** What is wrong with the value, worded as ajv (fastify's validator) worded it. */
function wording(error: ValueError | undefined): string {
  if (error === undefined) return 'is invalid';
  const schema: TSchema = error.schema;
  switch (error.type) {
    case ValueErrorType.Object:
      return 'must be object';
    case ValueErrorType.String:
      return 'must be string';
    case ValueErrorType.Array:
      return 'must be array';
    case ValueErrorType.Integer:
      return 'must be integer';
    case ValueErrorType.ArrayMinItems:
      return `must NOT have fewer than ${String(schema['minItems'])} items`;
    case ValueErrorType.IntegerMinimum:
      return `must be >= ${String(schema['minimum'])}`;
    case ValueErrorType.IntegerMaximum:
      return `must be <= ${String(schema['maximum'])}`;
    case ValueErrorType.StringMaxLength:
      return `must NOT have more than ${String(schema['maxLength'])} characters`;
    default:
      return error.message;
  }
}
