// Logs as an operator reads them: one JSON access line per request with the documented fields;
// verbose mode adds headers at debug with credentials masked; logging off means a silent stdout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { baseConfig, DITO_BIN, startDito, writeConfig } from '../helpers/dito.js';
import { freePort, request, sleep, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

describe('logging', () => {
  let upstream: Upstream;

  before(async () => {
    upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'set-cookie': 'session=secret-cookie', 'x-upstream': 'yes' });
      res.end('hello');
    });
  });

  after(async () => upstream.close());

  test('one access line per request with the documented fields', async () => {
    const dito = await startDito(baseConfig([{ path: '^/api/', target_url: upstream.url }]));
    try {
      await request(`${dito.url}/api/items?token=should-not-be-logged`, {
        method: 'POST',
        body: 'abcd',
        headers: { 'x-request-id': 'log-test-1' },
      });
      const line = (await waitFor(() =>
        dito.logs.find((l) => l.msg === 'request' && l.request_id === 'log-test-1'),
      ))!;
      assert.equal(line.method, 'POST');
      assert.equal(line.path, '/api/items');
      assert.equal(line.location, '^/api/');
      assert.equal(line.status, 200);
      assert.equal(line.bytes_in, 4);
      assert.equal(line.bytes_out, 5);
      assert.equal(line.upstream, upstream.url);
      assert.equal(typeof line.duration_ms, 'number');
      assert.equal(typeof line.upstream_ms, 'number');
      assert.equal(line.client_ip, '127.0.0.1');
      assert.equal(line.level, 'info');
      assert.ok(
        !JSON.stringify(dito.logs).includes('should-not-be-logged'),
        'the query string is not logged',
      );
    } finally {
      await dito.stop();
    }
  });

  test('verbose at debug adds request and response headers, credentials masked', async () => {
    const dito = await startDito(
      baseConfig([{ path: '^/', target_url: upstream.url }], {
        logging: { enabled: true, level: 'debug', verbose: true },
      }),
    );
    try {
      await request(`${dito.url}/v`, {
        headers: {
          authorization: 'Bearer secret-token',
          cookie: 'a=secret-cookie',
          'x-request-id': 'verbose-1',
        },
      });
      const line = (await waitFor(() =>
        dito.logs.find((l) => l.request_id === 'verbose-1' && l.msg === 'request'),
      ))!;
      assert.equal(line.level, 'debug');
      const requestHeaders = line.request_headers as Record<string, string>;
      const responseHeaders = line.response_headers as Record<string, string>;
      assert.equal(requestHeaders.authorization, '[redacted]');
      assert.equal(requestHeaders.cookie, '[redacted]');
      assert.equal(responseHeaders['x-upstream'], 'yes');
      assert.equal(responseHeaders['set-cookie'], '[redacted]');
      assert.ok(!JSON.stringify(dito.logs).includes('secret-'), 'no credential in any log line');
    } finally {
      await dito.stop();
    }
  });

  test('logging.enabled: false writes nothing to stdout', async () => {
    const port = await freePort();
    const file = writeConfig(
      baseConfig([{ path: '^/', target_url: upstream.url }], { port, logging: { enabled: false } }),
    );
    const proc = spawn(process.execPath, [DITO_BIN, '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    try {
      await waitFor(
        async () => (await request(`http://127.0.0.1:${port}/x`).catch(() => ({ status: 0 }))).status === 200,
      );
      await sleep(300);
    } finally {
      proc.kill('SIGTERM');
      await new Promise((resolve) => proc.once('exit', resolve));
    }
    assert.equal(stdout, '');
  });
});
