import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  advertisedUrlOf,
  ConfigError,
  envName,
  loadNodeConfig,
  OPTIONS,
  optionHelp,
  type FailoverConfig,
} from './config.js';

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

  it('warns about a port browsers refuse (the Fetch bad ports), on either role and with failover', () => {
    const badPort =
      /port 10080 is one of the ports browsers and fetch\(\) refuse .* pick another --port \/ PORT/;
    for (const role of ['master', 'secondary']) {
      const loaded = loadNodeConfig(role, [], { PORT: '10080' });
      assert.equal(loaded.config.port, 10080, 'the node still serves there');
      assert.deepEqual(loaded.warnings.filter((warning) => badPort.test(warning)).length, 1, role);
      assert.deepEqual(loadNodeConfig(role, ['--port', '10081'], {}).warnings, [], role);
    }
    const peers = 'master=http://127.0.0.1:10080,sub1=http://127.0.0.1:8001,sub2=http://h:8002';
    const failover = loadNodeConfig('master', [], { ...FAILOVER_ENV, PEERS: peers }).warnings;
    assert.equal(failover.length, 1);
    assert.match(failover[0] ?? '', badPort);
    assert.match(failover[0] ?? '', /in its PEERS URL/);
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

  it('lists each role its own options in --help, and the failover options in both', () => {
    assert.match(optionHelp('master'), /--heartbeat-interval-ms\s+HEARTBEAT_INTERVAL_MS/);
    assert.doesNotMatch(optionHelp('master'), /--delay-ms/);
    assert.match(optionHelp('secondary'), /--master\s+MASTER_URL/);
    for (const role of ['master', 'secondary'] as const) {
      const help = optionHelp(role);
      assert.match(help, /--failover\s+FAILOVER\s+automatic failover/);
      assert.match(help, /--peers\s+PEERS\s+with --failover: every node, this one included/);
      assert.match(help, /--election-timeout-ms\s+ELECTION_TIMEOUT_MS\s.*\(default 1500\)/);
      assert.match(help, /--advertised-url\s+ADVERTISED_URL\s+with --failover/);
    }
  });
});

const PEERS = 'master=http://127.0.0.1:8000, sub1=http://127.0.0.1:8001/, sub2=http://h:8002';
/** A failover node's minimal environment: the switch, its durable state and every node. */
const FAILOVER_ENV = { FAILOVER: 'true', DATA_DIR: '/tmp/rlog-failover', PEERS };

function loadFailover(
  role: string,
  env: Record<string, string>,
  argv: string[] = [],
): { config: FailoverConfig; warnings: readonly string[] } {
  const { config, warnings } = loadNodeConfig(role, argv, { ...FAILOVER_ENV, ...env });
  assert.equal(config.role, 'failover');
  return { config, warnings };
}

describe('loadNodeConfig with FAILOVER', () => {
  it('leaves every role as it was when FAILOVER is unset or false', () => {
    for (const env of [{}, { FAILOVER: 'false' }]) {
      assert.equal(loadNodeConfig('master', [], env).config.role, 'master');
      assert.equal(loadNodeConfig('secondary', [], env).config.role, 'secondary');
    }
  });

  it('makes ROLE=master the node named master of PEERS, with the others as its peers', () => {
    const { config, warnings } = loadFailover('master', {});
    assert.deepEqual(warnings, []);
    assert.equal(config.preferredRole, 'master');
    assert.equal(config.name, 'master');
    assert.equal(config.port, 8000, 'the port of its PEERS URL');
    assert.deepEqual(config.failover.peers, [
      { name: 'master', url: 'http://127.0.0.1:8000' },
      { name: 'sub1', url: 'http://127.0.0.1:8001' },
      { name: 'sub2', url: 'http://h:8002' },
    ]);
    assert.deepEqual(
      config.secondaries.map((peer) => peer.name),
      ['sub1', 'sub2'],
    );
    assert.equal(config.masterUrl, undefined);
    assert.equal(config.failover.electionTimeoutMs, 1500);
    assert.equal(config.heartbeatIntervalMs, 500, 'a third of the election timeout');
    assert.equal(config.failover.advertisedUrl, 'http://127.0.0.1:8000');
  });

  it('picks the entry NODE_NAME names, and advertises ADVERTISED_URL for it', () => {
    const { config } = loadFailover('secondary', {
      NODE_NAME: 'sub2',
      ADVERTISED_URL: 'http://localhost:8002/',
    });
    assert.equal(config.preferredRole, 'secondary');
    assert.equal(config.name, 'sub2');
    assert.equal(config.port, 8002);
    assert.deepEqual(
      config.secondaries.map((peer) => peer.name),
      ['master', 'sub1'],
    );
    assert.equal(config.failover.advertisedUrl, 'http://localhost:8002');
    assert.equal(advertisedUrlOf(config, 'sub2'), 'http://localhost:8002');
    assert.equal(advertisedUrlOf(config, 'sub1'), 'http://127.0.0.1:8001');
    assert.equal(advertisedUrlOf(config, 'sub9'), undefined);
  });

  it('reads the flags as well, and PORT, HEARTBEAT_INTERVAL_MS and the timeout when given', () => {
    const { config } = loadNodeConfig(
      'secondary',
      [
        '--failover',
        '--peers',
        PEERS,
        '--name=sub1',
        '--data-dir=/tmp/rlog',
        '--election-timeout-ms=3000',
        '--port=9001',
      ],
      {},
    );
    assert.equal(config.role, 'failover');
    assert.equal(config.port, 9001);
    assert.equal(config.failover.electionTimeoutMs, 3000);
    assert.equal(config.heartbeatIntervalMs, 1000);
    const given = loadFailover('master', { HEARTBEAT_INTERVAL_MS: '200' }).config;
    assert.equal(given.heartbeatIntervalMs, 200);
  });

  it('takes the options of both roles without a warning', () => {
    const { config, warnings } = loadFailover('secondary', {
      NODE_NAME: 'sub1',
      API_TOKEN: 't',
      MAX_INFLIGHT_BATCHES: '8',
      DELAY_MS: '10-20',
      ERROR_RATE: '0.5',
    });
    assert.deepEqual(warnings, []);
    assert.equal(config.apiToken, 't');
    assert.equal(config.maxInflightBatches, 8);
    assert.deepEqual(config.delay, { minMs: 10, maxMs: 20 });
    assert.equal(config.errorRate, 0.5);
  });

  it('ignores SECONDARIES and MASTER_URL with a warning that PEERS replaces them', () => {
    const { config, warnings } = loadFailover('master', {
      SECONDARIES: 'x=http://x:1',
      MASTER_URL: 'http://y:2',
    });
    assert.deepEqual(
      config.secondaries.map((peer) => peer.name),
      ['sub1', 'sub2'],
    );
    assert.equal(config.masterUrl, undefined);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0] ?? '', /SECONDARIES is not used with --failover.*PEERS replaces it/);
    assert.match(warnings[1] ?? '', /MASTER_URL is not used with --failover.*PEERS replaces it/);
  });

  it('ignores the failover options without FAILOVER, with a warning', () => {
    const { config, warnings } = loadNodeConfig('master', [], {
      PEERS,
      ELECTION_TIMEOUT_MS: '2000',
      ADVERTISED_URL: 'http://a:1',
    });
    assert.equal(config.role, 'master');
    assert.deepEqual(config.secondaries, []);
    assert.equal(warnings.length, 3);
    for (const [index, variable] of ['PEERS', 'ELECTION_TIMEOUT_MS', 'ADVERTISED_URL'].entries()) {
      assert.match(
        warnings[index] ?? '',
        new RegExp(`${variable} applies only with --failover / FAILOVER; ignored`),
      );
    }
  });

  const invalid: [string, string, Record<string, string>, RegExp[]][] = [
    [
      'no DATA_DIR',
      'master',
      { DATA_DIR: '' },
      [
        /FAILOVER is true but --data-dir \/ DATA_DIR is not set/,
        /failover needs durable state \(a node that forgets its vote could vote twice in one epoch\)/,
        /set DATA_DIR \/ --data-dir/,
      ],
    ],
    [
      'an empty PEERS',
      'master',
      { PEERS: ' , ' },
      [/FAILOVER needs --peers \/ PEERS/, /this one included/, /set PEERS=master=http/, /got none/],
    ],
    [
      'a NODE_NAME not in PEERS',
      'secondary',
      { NODE_NAME: 'sub9' },
      [
        /--name \/ NODE_NAME "sub9" is not in --peers \/ PEERS \(master, sub1, sub2\)/,
        /add this node to PEERS or set NODE_NAME to its entry/,
      ],
    ],
    [
      'a master without NODE_NAME, PEERS without master',
      'master',
      { PEERS: 'a=http://a:1,b=http://b:2' },
      [/NODE_NAME "master" \(a master's default\) is not in --peers \/ PEERS \(a, b\)/],
    ],
    [
      'a secondary without NODE_NAME',
      'secondary',
      {},
      [
        /--name \/ NODE_NAME is not set/,
        /picks this node's entry in --peers \/ PEERS \(master, sub1, sub2\)/,
        /set NODE_NAME to one of them/,
      ],
    ],
    [
      'a PEERS entry without a name',
      'master',
      { PEERS: 'master=http://m:1,http://h:2' },
      [/--peers \/ PEERS: "http:\/\/h:2" has no name/, /write each node as name=url/],
    ],
    [
      'a PEERS name twice',
      'master',
      { PEERS: 'master=http://m:1,master=http://h:2' },
      [/--peers \/ PEERS names a node twice \("master"\)/, /give each one its own name/],
    ],
    [
      'a PEERS URL twice',
      'master',
      { PEERS: 'master=http://m:1,sub1=http://m:1/' },
      [/--peers \/ PEERS gives http:\/\/m:1 to two nodes/, /list each node once, at its own URL/],
    ],
    [
      'a PEERS URL without http',
      'master',
      { PEERS: 'master=m:1' },
      [/--peers \/ PEERS \(master\): "m:1" must start with http:\/\/ or https:\/\//],
    ],
    [
      'a bad PEERS name',
      'master',
      { PEERS: 'master=http://m:1,b@d=http://b:2' },
      [/--peers \/ PEERS: node name "b@d" may hold only letters/],
    ],
    [
      'an election timeout out of range',
      'master',
      { ELECTION_TIMEOUT_MS: '20' },
      [
        /--election-timeout-ms \/ ELECTION_TIMEOUT_MS must be an integer from 50 to 600000; got "20"/,
      ],
    ],
    [
      'an election timeout within two heartbeats',
      'master',
      { HEARTBEAT_INTERVAL_MS: '750' },
      [
        /ELECTION_TIMEOUT_MS \(1500\) must be greater than twice --heartbeat-interval-ms \/ HEARTBEAT_INTERVAL_MS \(750\)/,
        /a master heartbeats several times per election timeout/,
        /raise ELECTION_TIMEOUT_MS above 1500, or lower HEARTBEAT_INTERVAL_MS/,
      ],
    ],
    [
      'a bad ADVERTISED_URL',
      'master',
      { ADVERTISED_URL: 'nowhere' },
      [
        /--advertised-url \/ ADVERTISED_URL: "nowhere" is not a URL; write it as http:\/\/host:port/,
      ],
    ],
    [
      'a bad FAILOVER',
      'master',
      { FAILOVER: 'maybe' },
      [/--failover \/ FAILOVER must be true or false; got "maybe"/],
    ],
    [
      "the master's options out of order",
      'secondary',
      { NODE_NAME: 'sub1', SUSPECT_AFTER_MISSES: '4', UNHEALTHY_AFTER_MISSES: '3' },
      [/--unhealthy-after-misses \(3\) must be greater than --suspect-after-misses \(4\)/],
    ],
  ];
  for (const [name, role, env, patterns] of invalid) {
    it(`refuses ${name}, naming the option, the value and the fix`, () => {
      assert.throws(
        () => loadNodeConfig(role, [], { ...FAILOVER_ENV, ...env }),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError, String(error));
          for (const pattern of patterns) assert.match(error.message, pattern);
          return true;
        },
      );
    });
  }
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
