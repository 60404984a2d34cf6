import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, envName, loadNodeConfig, OPTIONS, optionHelp } from './config.js';

describe('loadNodeConfig', () => {
  it('reads the role from the first argument, else ROLE', () => {
    assert.equal(loadNodeConfig('master', [], {}).config.role, 'master');
    assert.equal(loadNodeConfig(undefined, [], { ROLE: 'secondary' }).config.role, 'secondary');
    assert.throws(() => loadNodeConfig(undefined, [], {}), /role must be "master" or "secondary"/);
  });

  it('gives each role its documented defaults', () => {
    const master = loadNodeConfig('master', [], {}).config;
    assert.equal(master.name, 'master');
    assert.equal(master.port, 8000);
    assert.equal(master.host, '127.0.0.1');
    assert.equal(master.role === 'master' && master.heartbeatIntervalMs, 1000);
    assert.equal(master.maxMessageBytes, 65536);
    const secondary = loadNodeConfig('secondary', [], {}).config;
    assert.equal(secondary.port, 8001);
    assert.equal(secondary.faultInjection, false);
  });

  it('refuses connection limits that contradict each other, naming both options', () => {
    assert.throws(
      () =>
        loadNodeConfig('master', [], {
          MAX_BODY_BYTES: '2097152',
          MAX_INFLIGHT_BODY_BYTES: '1048576',
        }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /MAX_INFLIGHT_BODY_BYTES \(1048576\) must be at least .*MAX_BODY_BYTES \(2097152\)/.test(
          error.message,
        ),
    );
    assert.throws(
      () =>
        loadNodeConfig('secondary', [], { HEADERS_TIMEOUT_MS: '5000', REQUEST_TIMEOUT_MS: '1000' }),
      /REQUEST_TIMEOUT_MS \(1000\) must be at least .*HEADERS_TIMEOUT_MS \(5000\)/,
    );
    const config = loadNodeConfig('master', [], { MAX_CONNECTIONS: '64', API_TOKEN: 't' }).config;
    assert.equal(config.maxConnections, 64);
    assert.equal(config.role === 'master' && config.apiToken, 't');
  });

  it('ignores API_TOKEN on a secondary, with a warning that does not show it', () => {
    const loaded = loadNodeConfig('secondary', [], { API_TOKEN: 'very-secret' });
    assert.equal(loaded.warnings.length, 1);
    assert.match(loaded.warnings[0] ?? '', /API_TOKEN/);
    assert.doesNotMatch(loaded.warnings[0] ?? '', /very-secret/);
  });

  it('maps every flag to its variable, and the flag wins', () => {
    const env = {
      NODE_NAME: 'from-env',
      PORT: '9000',
      HEARTBEAT_INTERVAL_MS: '250',
      LOG_LEVEL: 'warn',
    };
    const fromEnv = loadNodeConfig('master', [], env).config;
    assert.equal(fromEnv.name, 'from-env');
    assert.equal(fromEnv.port, 9000);
    assert.equal(fromEnv.logLevel, 'warn');
    const fromFlags = loadNodeConfig('master', ['--name', 'flag', '--port=9001'], env).config;
    assert.equal(fromFlags.name, 'flag');
    assert.equal(fromFlags.port, 9001);
  });

  it('parses SECONDARIES with and without names', () => {
    const named = loadNodeConfig('master', [], {
      SECONDARIES: 'a=http://127.0.0.1:1, b=http://h:2/',
    }).config;
    assert.deepEqual(named.role === 'master' && named.secondaries, [
      { name: 'a', url: 'http://127.0.0.1:1' },
      { name: 'b', url: 'http://h:2' },
    ]);
    const unnamed = loadNodeConfig('master', [], { SECONDARIES: 'http://x:1,http://y:2' }).config;
    assert.deepEqual(unnamed.role === 'master' && unnamed.secondaries.map((peer) => peer.name), [
      'sub1',
      'sub2',
    ]);
  });

  it('parses DELAY_MS as a value or a range and ERROR_RATE as a probability', () => {
    const one = loadNodeConfig('secondary', [], { DELAY_MS: '200', ERROR_RATE: '0.25' }).config;
    assert.deepEqual(one.role === 'secondary' && one.delay, { minMs: 200, maxMs: 200 });
    assert.equal(one.role === 'secondary' && one.errorRate, 0.25);
    const range = loadNodeConfig('secondary', ['--delay-ms', '100-500'], {}).config;
    assert.deepEqual(range.role === 'secondary' && range.delay, { minMs: 100, maxMs: 500 });
  });

  it('reads the storage options; without a data dir they are ignored with a warning', () => {
    const durable = loadNodeConfig('master', ['--data-dir', '/tmp/rlog'], { FSYNC: 'interval' });
    assert.equal(durable.config.dataDir, '/tmp/rlog');
    assert.equal(durable.config.fsync, 'interval');
    assert.equal(durable.config.fsyncIntervalMs, 100);
    assert.deepEqual(durable.warnings, []);
    const memory = loadNodeConfig('secondary', [], { FSYNC: 'never' });
    assert.equal(memory.config.dataDir, undefined);
    assert.match(
      memory.warnings[0] ?? '',
      /FSYNC applies to a log on disk; ignored without --data-dir/,
    );
  });

  it('ignores an option of the other role with a warning', () => {
    const { config, warnings } = loadNodeConfig('secondary', [], { HEARTBEAT_INTERVAL_MS: '100' });
    assert.equal(config.role, 'secondary');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /HEARTBEAT_INTERVAL_MS is for the master only/);
  });

  const invalid: [string, string | undefined, Record<string, string>, string[], RegExp][] = [
    [
      'port out of range',
      'master',
      { PORT: '70000' },
      [],
      /--port \/ PORT must be an integer from 0 to 65535; got "70000"/,
    ],
    ['port not a number', 'master', {}, ['--port', 'abc'], /--port \/ PORT must be an integer/],
    [
      'bad secondary URL',
      'master',
      { SECONDARIES: 'sub1=localhost:8001' },
      [],
      /write it as http:\/\/host:port|must start with http/,
    ],
    [
      'duplicate names',
      'master',
      { SECONDARIES: 'a=http://h:1,a=http://h:2' },
      [],
      /names a secondary twice/,
    ],
    [
      'bad delay',
      'secondary',
      { DELAY_MS: 'soon' },
      [],
      /--delay-ms \/ DELAY_MS must be milliseconds/,
    ],
    ['inverted delay', 'secondary', { DELAY_MS: '500-100' }, [], /maximum below its minimum/],
    [
      'error rate over 1',
      'secondary',
      { ERROR_RATE: '1.5' },
      [],
      /ERROR_RATE must be a number from 0 to 1/,
    ],
    ['bad log level', 'master', { LOG_LEVEL: 'loud' }, [], /debug, info, warn or error/],
    ['unknown flag', 'master', {}, ['--nope'], /Unknown option '--nope'.*--help/],
    [
      'misses out of order',
      'master',
      { SUSPECT_AFTER_MISSES: '4', UNHEALTHY_AFTER_MISSES: '3' },
      [],
      /must be greater than/,
    ],
    [
      'bad master URL',
      'secondary',
      { MASTER_URL: 'nowhere' },
      [],
      /MASTER_URL: "nowhere" is not a URL/,
    ],
    [
      'bad boolean',
      'secondary',
      { FAULT_INJECTION: 'maybe' },
      [],
      /FAULT_INJECTION must be true or false/,
    ],
  ];
  for (const [name, role, env, argv, pattern] of invalid) {
    it(`refuses ${name} with a message naming the option`, () => {
      assert.throws(
        () => loadNodeConfig(role, argv, env),
        (error: unknown) => error instanceof ConfigError && pattern.test(error.message),
      );
    });
  }

  it('lists each role its own options in --help', () => {
    assert.match(optionHelp('master'), /--heartbeat-interval-ms\s+HEARTBEAT_INTERVAL_MS/);
    assert.doesNotMatch(optionHelp('master'), /--delay-ms/);
    assert.match(optionHelp('secondary'), /--master\s+MASTER_URL/);
  });
});

describe('README configuration table', () => {
  it('documents every option with its variable and flag', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const spec of Object.values(OPTIONS)) {
      const variable = 'env' in spec ? spec.env : envName(spec.flag);
      assert.match(
        readme,
        new RegExp(`\\| \`${variable}\`\\s*\\| \`--${spec.flag}\`\\s*\\|`),
        `${variable} missing`,
      );
    }
  });
});
