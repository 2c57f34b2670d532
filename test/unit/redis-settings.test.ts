// The `redis:` extensions (cluster, sentinel, timeouts, TLS CA) as the loader reads them, and the
// rule that decides whether a reload keeps the running Redis connection.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadConfigFile } from '../../src/config/load.js';
import { reconnectDelay, sameRedisSettings } from '../../src/redis/options.js';
import { writeConfig } from '../helpers/dito.js';

const load = (yaml: string) => loadConfigFile(writeConfig(yaml));

describe('redis settings', () => {
  test('the original keys keep their meaning; extensions have defaults', async () => {
    const { config } = await load(
      'redis:\n  enabled: true\n  host: cache.internal\n  port: "6380"\n  password: s3cret\n',
    );
    assert.equal(config.redis.host, 'cache.internal');
    assert.equal(config.redis.port, 6380);
    assert.equal(config.redis.password, 's3cret');
    assert.equal(config.redis.commandTimeoutMs, 200);
    assert.equal(config.redis.connectTimeoutMs, 2000);
    assert.equal(config.redis.keyPrefix, 'dito:');
    assert.equal(config.redis.cluster, undefined);
  });

  test('cluster and sentinel nodes are parsed as host:port', async () => {
    const cluster = await load(
      'redis:\n  enabled: true\n  command_timeout: 50ms\n  cluster:\n    nodes: ["10.0.0.1:7000", "[::1]:7001"]\n',
    );
    assert.deepEqual(cluster.config.redis.cluster?.nodes, [
      { host: '10.0.0.1', port: 7000 },
      { host: '::1', port: 7001 },
    ]);
    assert.equal(cluster.config.redis.commandTimeoutMs, 50);
    const sentinel = await load(
      'redis:\n  enabled: true\n  sentinel:\n    master_name: main\n    nodes: ["s1:26379"]\n    password: sp\n',
    );
    assert.deepEqual(sentinel.config.redis.sentinel, {
      masterName: 'main',
      nodes: [{ host: 's1', port: 26379 }],
      username: undefined,
      password: 'sp',
    });
  });

  test('bad combinations are config errors at their key', async () => {
    await assert.rejects(
      load('redis:\n  cluster:\n    nodes: ["a:1"]\n  sentinel:\n    master_name: m\n    nodes: ["b:2"]\n'),
      /redis\.sentinel: use either `cluster` or `sentinel`/,
    );
    await assert.rejects(
      load('redis:\n  db: 2\n  cluster:\n    nodes: ["a:1"]\n'),
      /redis\.db: .*database 0/,
    );
    await assert.rejects(load('redis:\n  cluster:\n    nodes: ["no-port"]\n'), /host:port/);
    await assert.rejects(load('redis:\n  command_timeout: 0\n'), /redis\.command_timeout/);
    await assert.rejects(load('redis:\n  ca_file: ca.pem\n'), /ca_file needs tls: true/);
  });

  test('rate_limiting.key accepts ip, auth and header:<Name> only', async () => {
    const location = (key: string) =>
      `locations:\n  - path: ^/\n    target_url: http://127.0.0.1:1\n    rate_limiting:\n      key: "${key}"\n`;
    for (const key of ['ip', 'auth', 'header:X-API-Key']) await load(location(key));
    await assert.rejects(load(location('cookie:session')), /expected "ip", "auth" or "header:<Header-Name>"/);
  });

  test('a reload keeps the connection only when every setting is the same', async () => {
    const a = (await load('redis:\n  enabled: true\n  cluster:\n    nodes: ["a:1", "b:2"]\n')).config.redis;
    const b = (await load('redis:\n  enabled: true\n  cluster:\n    nodes: ["a:1", "b:2"]\n')).config.redis;
    const c = (await load('redis:\n  enabled: true\n  cluster:\n    nodes: ["a:1", "b:3"]\n')).config.redis;
    assert.equal(sameRedisSettings(a, b), true);
    assert.equal(sameRedisSettings(a, c), false);
    assert.equal(sameRedisSettings(a, { ...a, keyPrefix: 'other:' }), false);
  });

  test('reconnect backoff grows and is capped', () => {
    assert.ok(reconnectDelay(0) < 200);
    for (let i = 0; i < 50; i++) assert.ok(reconnectDelay(i) <= 2100);
    assert.ok(reconnectDelay(20) >= 2000);
  });
});
