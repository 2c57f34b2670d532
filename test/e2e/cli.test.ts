// `bin/dito` as a user runs it: invalid configs are refused before anything listens, with one
// line naming file:line:col and key; `--check` validates without serving.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runDitoToExit, writeConfig } from '../helpers/dito.js';

const cases: Array<{ name: string; yaml: string; expect: RegExp }> = [
  {
    name: 'bad YAML',
    yaml: 'port: 8081\nlocations:\n  - path: "^/a"\n    target_url: [unclosed\n',
    expect: /:\d+:\d+: /,
  },
  {
    name: 'invalid regex',
    yaml: 'port: 8081\nlocations:\n  - path: "^/ok"\n    target_url: http://127.0.0.1:9\n  - path: "^/(broken"\n    target_url: http://127.0.0.1:9\n',
    expect: /:5:11: locations\[1\]\.path: invalid regular expression/,
  },
  {
    name: 'wrong type',
    yaml: 'port: 8081\nhot_reload: "sometimes"\nlocations: []\n',
    expect: /:2:13: hot_reload: /,
  },
  {
    name: 'unknown key with a suggestion',
    yaml: 'port: 8081\nlocations:\n  - path: "^/a"\n    targte_url: http://127.0.0.1:9\n    target_url: http://127.0.0.1:9\n',
    expect: /:4:5: locations\[0\]\.targte_url: .*target_url/,
  },
  {
    name: 'missing target_url',
    yaml: 'port: 8081\nlocations:\n  - path: "^/a"\n    replace_path: true\n',
    expect: /:\d+:\d+: locations\[0\].*target_url/,
  },
  {
    name: 'bad duration',
    yaml: 'port: 8081\ntransport:\n  http:\n    dial_timeout: 5 seconds\nlocations: []\n',
    expect: /:4:19: transport\.http\.dial_timeout: /,
  },
];

describe('CLI config validation', () => {
  for (const c of cases) {
    test(`refuses ${c.name} with exit 1 and file:line:col: key`, async () => {
      const file = writeConfig(c.yaml);
      const { code, stdout, stderr } = await runDitoToExit(['-f', file]);
      assert.equal(code, 1, stderr);
      assert.equal(stdout, '');
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line expected, got:\n${stderr}`);
      assert.ok(lines[0]!.startsWith(`${file}:`), lines[0]);
      assert.match(lines[0]!, c.expect);
    });
  }

  test('--check prints ok and exits 0 for a valid config, 1 with the error otherwise', async () => {
    const good = writeConfig('port: 8081\nlocations:\n  - path: "^/"\n    target_url: http://127.0.0.1:9\n');
    const ok = await runDitoToExit(['-f', good, '--check']);
    assert.equal(ok.code, 0);
    assert.equal(ok.stdout.trim(), 'ok');
    const bad = writeConfig('port: 8081\nlocations:\n  - path: "("\n    target_url: http://127.0.0.1:9\n');
    const refused = await runDitoToExit(['-f', bad, '--check']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /locations\[0\]\.path: invalid regular expression/);
  });

  test('an unknown middleware name is refused at its position', async () => {
    const file = writeConfig(
      'port: 8081\nlocations:\n  - path: "^/"\n    target_url: http://127.0.0.1:9\n    middlewares:\n      - no-such-thing\n',
    );
    const { code, stderr } = await runDitoToExit(['-f', file, '--check']);
    assert.equal(code, 1);
    assert.match(stderr, /:6:9: locations\[0\]\.middlewares\[0\]: unknown middleware "no-such-thing"/);
  });

  test('a missing config file is a clear error', async () => {
    const { code, stderr } = await runDitoToExit(['-f', '/nonexistent/dito.yaml']);
    assert.equal(code, 1);
    assert.match(stderr, /\/nonexistent\/dito\.yaml/);
  });

  test('unknown flags are usage errors', async () => {
    const { code, stderr } = await runDitoToExit(['--bogus']);
    assert.equal(code, 2);
    assert.match(stderr, /usage: dito/);
  });
});
