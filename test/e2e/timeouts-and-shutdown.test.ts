// Upstream silence → 504, response_header_timeout, and graceful SIGTERM with a request in flight.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { baseConfig, startDito } from '../helpers/dito.js';
import { request, sleep } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

describe('timeouts and shutdown', () => {
  let silent: Upstream;
  let slow: Upstream;

  before(async () => {
    silent = await startUpstream(() => {
      // Never answers.
    });
    slow = await startUpstream((_req, res) => {
      setTimeout(() => res.end('slow but sure'), 1500);
    });
  });

  after(async () => {
    await silent.close();
    await slow.close();
  });

  test('request_timeout: a silent upstream gives 504 JSON', async () => {
    const dito = await startDito(
      baseConfig([{ path: '^/', target_url: silent.url }], { request_timeout: '500ms' }),
    );
    try {
      const started = Date.now();
      const reply = await request(`${dito.url}/silent`);
      const elapsed = Date.now() - started;
      assert.equal(reply.status, 504);
      assert.equal(reply.json<{ error: { message: string } }>().error.message, 'Gateway Timeout');
      assert.ok(elapsed >= 450 && elapsed < 3000, `took ${elapsed} ms`);
    } finally {
      await dito.stop();
    }
  });

  test('response_header_timeout on the location gives 504 within about a second', async () => {
    const dito = await startDito(
      baseConfig([
        { path: '^/', target_url: silent.url, transport: { http: { response_header_timeout: '500ms' } } },
      ]),
    );
    try {
      const started = Date.now();
      const reply = await request(`${dito.url}/silent`);
      const elapsed = Date.now() - started;
      assert.equal(reply.status, 504);
      assert.equal(reply.json<{ error: { message: string } }>().error.message, 'Gateway Timeout');
      // 500 ms of silence after the request was written, not the 30 s request_timeout.
      assert.ok(elapsed >= 450 && elapsed < 1500, `took ${elapsed} ms`);
    } finally {
      await dito.stop();
    }
  });

  test('SIGTERM lets the in-flight request finish, refuses new connections, exits 0', async () => {
    const dito = await startDito(
      baseConfig([{ path: '^/', target_url: slow.url }], { shutdown_timeout: '10s' }),
    );
    const inFlight = request(`${dito.url}/slow`);
    await sleep(300);
    dito.proc.kill('SIGTERM');
    await sleep(200);
    await assert.rejects(request(`${dito.url}/after`, { timeoutMs: 2000 }));
    const reply = await inFlight;
    assert.equal(reply.status, 200);
    assert.equal(reply.text, 'slow but sure');
    assert.equal(await dito.exited, 0);
    assert.ok(dito.logs.some((l) => l.msg === 'stopped'));
  });

  test('SIGTERM drain is bounded by shutdown_timeout', async () => {
    const dito = await startDito(
      baseConfig([{ path: '^/', target_url: silent.url }], { shutdown_timeout: '500ms' }),
    );
    const hanging = request(`${dito.url}/forever`).catch((err: Error) => err);
    await sleep(200);
    const started = Date.now();
    assert.equal(await dito.stop('SIGTERM'), 0);
    assert.ok(Date.now() - started < 5000);
    await hanging;
  });
});
