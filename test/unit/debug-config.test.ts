// debug-config: the effective config with defaults, secrets masked, and where each value came from.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { describeConfig, formatDuration } from '../../src/cli/debug-config.js';
import { parseConfigText } from '../../src/config/load.js';
import { REPO_ROOT, writeConfig } from '../helpers/dito.js';

const run = promisify(execFile);

const TEXT = `port: 9090
redis:
  enabled: true
  password: hunter2
request_timeout: 1m30s
locations:
  - path: ^/api
    target_url: http://127.0.0.1:9000
    additional_headers:
      Authorization: Bearer abc
      X-Env: dev
    auth:
      type: jwt
      secret: 0123456789abcdef0123456789abcdef-long-enough
      algorithms: [HS256]
  - path: ^/keys
    target_url: http://127.0.0.1:9000
    auth:
      type: api_key
      keys: ['${'a'.repeat(64)}']
`;

function lines() {
  const loaded = parseConfigText(TEXT, 'config.yaml');
  return new Map(describeConfig(loaded, TEXT).map((line) => [line.key, line]));
}

describe('debug-config', () => {
  test('values from the file name their line; the rest are defaults', () => {
    const byKey = lines();
    assert.deepEqual(byKey.get('port'), { key: 'port', value: '9090', source: 'config.yaml:1:7' });
    assert.deepEqual(byKey.get('hot_reload'), { key: 'hot_reload', value: 'false', source: 'default' });
    assert.equal(byKey.get('request_timeout')?.value, '1m30s');
    assert.equal(byKey.get('shutdown_timeout')?.value, '15s');
    assert.equal(byKey.get('locations[0].path')?.value, '"^/api"');
    assert.equal(byKey.get('locations[0].path')?.source, 'config.yaml:7:11');
    assert.equal(byKey.get('locations[0].replace_path')?.source, 'default');
    assert.equal(byKey.get('health.readiness_path')?.value, '"/readyz"');
  });

  test('secrets are masked wherever they are', () => {
    const byKey = lines();
    assert.equal(byKey.get('redis.password')?.value, '"<masked>"');
    assert.equal(byKey.get('locations[0].auth.secret')?.value, '"<masked>"');
    assert.equal(byKey.get('locations[0].additional_headers.Authorization')?.value, '"<masked>"');
    assert.equal(byKey.get('locations[0].additional_headers.X-Env')?.value, '"dev"');
    assert.equal(byKey.get('locations[1].auth.keys')?.value, '"<masked>"');
    const all = [...byKey.values()].map((line) => line.value).join('\n');
    assert.doesNotMatch(all, /hunter2|Bearer abc|0123456789abcdef|aaaaaaaa/);
  });

  test('durations print as Go durations', () => {
    assert.equal(formatDuration(0), '0');
    assert.equal(formatDuration(250), '250ms');
    assert.equal(formatDuration(90_000), '1m30s');
    assert.equal(formatDuration(3_661_500), '1h1m1s500ms');
  });

  test('the CLI prints the table, and a bad config as the loader reports it', async () => {
    const file = writeConfig(TEXT);
    const { stdout } = await run(process.execPath, [
      join(REPO_ROOT, 'dist/src/cli/debug-config.js'),
      '-f',
      file,
    ]);
    assert.match(stdout, /^redis\.password = "<masked>" +# .*config\.yaml:4:13$/m);
    assert.match(stdout, /^metrics\.path = "\/metrics" +# default$/m);
    const bad = writeConfig('prot: 1\n');
    await assert.rejects(
      run(process.execPath, [join(REPO_ROOT, 'dist/src/cli/debug-config.js'), '-f', bad]),
      {
        stderr: /config\.yaml:1:1: prot: unknown key/,
      },
    );
  });
});
