import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileErrors, validate } from '@readme/openapi-parser';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import fc from 'fast-check';
import { renderApiPage } from './api-docs-page.js';
import { jsonSchema, openApiDocument } from './openapi.js';
import { FRESH_ELECTION_STATE } from '../core/election-state.js';
import { Election } from '../core/election.js';
import { failoverHealth } from '../node/failover/failover-health.js';
import type { Rollback } from '../node/failover/rollbacks.js';
import { FaultsBody, StopBody } from '../protocol/messages.js';
import {
  FailoverHealthAnswer,
  ProcessFaultAnswer,
  RollbacksAnswer,
} from './failover-response-schemas.js';
import { AppendBody, EntryParams, MAX_URL_INTEGER, ReadQuery } from './schemas.js';

/** The parts of a JSON Schema these tests read. */
interface JsonSchema {
  readonly type?: string;
  readonly $ref?: string;
  readonly anyOf?: readonly JsonSchema[];
  readonly oneOf?: readonly JsonSchema[];
  readonly properties?: Record<string, JsonSchema>;
}

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
      '/admin/kill',
      '/admin/nodes/{name}/kill',
      '/admin/nodes/{name}/stop',
      '/admin/rollbacks',
      '/admin/secondaries/{name}/faults',
      '/admin/stop',
      '/dashboard/events',
      '/dashboard/state',
      '/docs',
      '/health',
      '/logs',
      '/logs/stream',
      '/logs/{id}',
      '/messages',
      '/messages/stream',
      '/messages/{id}',
      '/metrics',
      '/openapi.json',
    ]);
    assert.deepEqual(Object.keys(document.paths['/logs'] ?? {}).sort(), ['get', 'post']);
    assert.equal(document.info['version'], '1.2.3');
  });

  it('describes since, limit and id as the integers their validators accept', () => {
    const documented = { type: 'integer', minimum: 0, maximum: MAX_URL_INTEGER };
    for (const [path, name] of [
      ['/logs', 'since'],
      ['/logs', 'limit'],
      ['/logs', 'waitMs'],
      ['/logs/stream', 'since'],
      ['/logs/{id}', 'id'],
    ] as const) {
      const parameter = document.paths[path]?.['get']?.parameters?.find((p) => p['name'] === name);
      assert.deepEqual(parameter?.['schema'], documented, `${path} ${name}`);
    }
    // Validated as text (schemas.ts): every documented integer, written in decimal, passes; a
    // value outside the range, or any other spelling of a number, does not.
    const accepts = (text: string): boolean =>
      Value.Check(ReadQuery, { since: text, limit: text }) &&
      Value.Check(EntryParams, { id: text });
    const inRange = fc.bigInt({ min: 0n, max: BigInt(MAX_URL_INTEGER) });
    fc.assert(
      fc.property(inRange, (n) => accepts(n.toString())),
      { seed: 13, numRuns: 300 },
    );
    const outOfRange = fc.oneof(
      fc.bigInt({ min: BigInt(MAX_URL_INTEGER) + 1n, max: 10n ** 30n }),
      fc.bigInt({ min: -(10n ** 30n), max: -1n }),
    );
    fc.assert(
      fc.property(outOfRange, (n) => !accepts(n.toString())),
      { seed: 13, numRuns: 300 },
    );
    for (const spelling of ['', '1e3', '0x10', '1.0', ' 1', '+1', '1_000']) {
      assert.equal(accepts(spelling), false, JSON.stringify(spelling));
    }
    assert.ok(accepts(String(MAX_URL_INTEGER)) && !accepts(String(MAX_URL_INTEGER + 1)));
  });

  it('describes NOT_MASTER with a nullable master and Retry-After', () => {
    const notMaster = document.paths['/logs']?.['post']?.responses['421'];
    const headers = notMaster?.['headers'] as Record<string, unknown> | undefined;
    assert.ok(headers !== undefined && 'Retry-After' in headers);
    const error = (document.components['schemas'] as Record<string, JsonSchema>)['Error'];
    const master = error?.properties?.['master'];
    assert.deepEqual(
      master?.anyOf?.map((option) => option.type),
      ['string', 'null'],
    );
  });

  it("describes a failover node's health as the node builds it, and the rollbacks and kill answers", () => {
    const election = new Election({
      self: 'n1',
      peers: ['n1', 'n2', 'n3'],
      electionTimeoutMs: 1000,
      random: () => 0.5,
      initial: FRESH_ELECTION_STATE,
      lastId: () => 0,
      nowMs: 0,
    });
    const health = failoverHealth({
      self: 'n1',
      election,
      masterUrl: (name) => `http://${name}.example:8000`,
      logId: null,
      lastId: 0,
      commitId: 0,
      incarnation: 'i-1',
      role: { kind: 'follower', node: undefined },
      faults: { delayMs: 0, errorRate: 0, partitioned: false },
      rolledBackEntries: 0,
    });
    assert.ok(
      Value.Check(FailoverHealthAnswer, health),
      JSON.stringify([...Value.Errors(FailoverHealthAnswer, health)]),
    );
    const withMaster = {
      ...health,
      role: 'master',
      status: 'read-only',
      master: { name: 'n1', url: 'http://n1.example:8000' },
    };
    assert.ok(Value.Check(FailoverHealthAnswer, withMaster));
    assert.ok(
      !Value.Check(FailoverHealthAnswer, { ...health, role: 'follower' }),
      'the role is as /health names it',
    );
    const rollback: Rollback = {
      atMs: 1234.5,
      epoch: 3,
      master: 'n2',
      fromId: 7,
      toId: 8,
      entries: [
        { id: 7, epoch: 2, message: 'a' },
        { id: 8, epoch: 2, message: 'b' },
      ],
      keys: [['key-7', 7, 2]],
    };
    const listed = JSON.parse(
      JSON.stringify({ rolledBackEntries: 2, rollbacks: [rollback] }),
    ) as unknown;
    assert.ok(Value.Check(RollbacksAnswer, listed));
    assert.ok(Value.Check(ProcessFaultAnswer, { node: 'n1', fault: 'stop', durationMs: 5000 }));
    const schemas = document.components['schemas'] as Record<string, JsonSchema>;
    assert.deepEqual(schemas['FailoverHealth'], jsonSchema(FailoverHealthAnswer));
    assert.deepEqual(schemas['StopRequest'], jsonSchema(StopBody));
    const health200 = document.paths['/health']?.['get']?.responses['200'] as unknown as {
      content: { 'application/json': { schema: JsonSchema } };
    };
    assert.ok(
      health200.content['application/json'].schema.oneOf?.some(
        (option) => option.$ref === '#/components/schemas/FailoverHealth',
      ),
    );
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
