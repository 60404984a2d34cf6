import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileErrors, validate } from '@readme/openapi-parser';
import { Type } from '@sinclair/typebox';
import { renderApiPage } from './api-docs-page.js';
import { jsonSchema, openApiDocument } from './openapi.js';
import { FaultsBody } from '../protocol/messages.js';
import { AppendBody, ReadQuery } from './schemas.js';

describe('openApiDocument', () => {
  const document = openApiDocument('1.2.3');

  it('is a valid OpenAPI 3.1 document', async () => {
    // The parser dereferences in place: give it a copy.
    const result = await validate(structuredClone(document) as never);
    assert.ok(result.valid, result.valid ? '' : compileErrors(result));
  });

  it('uses the schemas that validate requests', () => {
    const schemas = document.components['schemas'] as Record<string, unknown>;
    assert.deepEqual(schemas['AppendRequest'], jsonSchema(AppendBody));
    assert.deepEqual(schemas['FaultsRequest'], jsonSchema(FaultsBody));
    const read = document.paths['/logs']?.['get'];
    assert.deepEqual(
      read?.parameters?.map((parameter) => parameter['name']),
      Object.keys(ReadQuery.properties),
    );
  });

  it('describes every public route and its alias, and no internal one', () => {
    assert.deepEqual(Object.keys(document.paths).sort(), [
      '/',
      '/admin/faults',
      '/admin/secondaries/{name}/faults',
      '/dashboard/events',
      '/dashboard/state',
      '/docs',
      '/health',
      '/logs',
      '/logs/{id}',
      '/messages',
      '/messages/{id}',
      '/metrics',
      '/openapi.json',
    ]);
    assert.deepEqual(Object.keys(document.paths['/logs'] ?? {}).sort(), ['get', 'post']);
    assert.equal(document.info['version'], '1.2.3');
  });

  it('writes TypeBox tuples as JSON Schema 2020-12 prefixItems', () => {
    const tuple = jsonSchema(Type.Tuple([Type.Integer(), Type.String()]));
    assert.deepEqual(tuple['prefixItems'], [{ type: 'integer' }, { type: 'string' }]);
    assert.equal(tuple['items'], false);
  });
});

describe('renderApiPage', () => {
  const page = renderApiPage(openApiDocument('1.2.3'));

  it('shows every operation with an anchor and a curl line', () => {
    for (const id of ['post-logs', 'get-logs', 'get-logs-id', 'get-health', 'put-admin-faults']) {
      assert.match(page, new RegExp(`id="${id}"`), id);
    }
    assert.match(page, /curl -X POST http:\/\/127\.0\.0\.1:8000\/logs/);
    assert.match(page, /<html lang="en">/);
  });

  it('escapes what it shows', () => {
    const document = openApiDocument('<b>');
    assert.doesNotMatch(renderApiPage(document), /<b>/);
  });
});
