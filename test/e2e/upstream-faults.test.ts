// Broken upstreams (anchors F1, F2, F5): resets, garbage, ambiguous framing, 1xx floods, silence.
// Dito answers each request correctly (502/504 JSON, or a visibly cut response) and stays up.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { request } from '../helpers/net.js';
import { type RawUpstream, startRawUpstream, startUpstream, type Upstream } from '../helpers/upstream.js';

const OK_HEAD = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

describe('upstream faults', () => {
  const raws: Record<string, RawUpstream> = {};
  let healthy: Upstream;
  let dito: DitoProcess;

  before(async () => {
    healthy = await startUpstream();
    raws.reset = await startRawUpstream((s) => s.resetAndDestroy());
    raws.midBody = await startRawUpstream((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
      setTimeout(() => s.resetAndDestroy(), 50);
    });
    raws.garbage = await startRawUpstream((s) => s.end('this is not HTTP at all\r\n\r\n'));
    raws.clte = await startRawUpstream((s) =>
      s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
    );
    raws.flood1xx = await startRawUpstream((s) => {
      s.write('HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n'.repeat(200));
      s.end(OK_HEAD);
    });
    raws.silent = await startRawUpstream(() => {
      // Accepts, reads the head, never answers.
    });
    raws.neverReads = await startRawUpstream((s) => s.pause());
    dito = await startDito(
      baseConfig(
        [
          { path: '^/reset', target_url: raws.reset!.url },
          { path: '^/mid-body-stream', target_url: raws.midBody!.url, disable_response_buffering: true },
          { path: '^/mid-body', target_url: raws.midBody!.url },
          { path: '^/garbage', target_url: raws.garbage!.url },
          { path: '^/clte', target_url: raws.clte!.url },
          { path: '^/flood', target_url: raws.flood1xx!.url },
          { path: '^/silent', target_url: raws.silent!.url },
          { path: '^/never-reads', target_url: raws.neverReads!.url },
          { path: '^/', target_url: healthy.url },
        ],
        { request_timeout: '1s' },
      ),
    );
  });

  after(async () => {
    await dito.stop();
    await healthy.close();
    for (const raw of Object.values(raws)) await raw.close();
  });

  const expectJson = async (path: string, status: number, init: Parameters<typeof request>[1] = {}) => {
    const reply = await request(`${dito.url}${path}`, init);
    assert.equal(reply.status, status, `${path}: ${reply.text}`);
    assert.equal(reply.json<{ error: { code: number } }>().error.code, status);
    // The process is still up and serving everyone else.
    assert.equal((await request(`${dito.url}/healthy`)).status, 200);
  };

  test('reset before headers → 502 (a GET retried once first)', async () => {
    const accepted = raws.reset!.accepted;
    await expectJson('/reset', 502);
    assert.equal(raws.reset!.accepted - accepted, 2, 'one retry for an idempotent request');
    const post = raws.reset!.accepted;
    await expectJson('/reset', 502, { method: 'POST', body: 'x' });
    assert.equal(raws.reset!.accepted - post, 1, 'a POST with a body is never retried');
  });

  test('garbage, or Content-Length with Transfer-Encoding, from the upstream → 502', async () => {
    await expectJson('/garbage', 502);
    await expectJson('/clte', 502);
  });

  test('a flood of 1xx answers is skipped and the final answer relayed', async () => {
    const reply = await request(`${dito.url}/flood`);
    assert.equal(reply.status, 200);
    assert.equal(reply.text, 'ok');
  });

  test('an upstream that never answers, or never reads the body → 504', async () => {
    await expectJson('/silent', 504);
    await expectJson('/never-reads', 504, { method: 'POST', body: Buffer.alloc(8 * 1024 * 1024) });
  });

  test('reset mid-body: buffered → 502 JSON; streamed → the client connection is cut, never a clean 200', async () => {
    await expectJson('/mid-body', 502);
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(`${dito.url}/mid-body-stream`, { agent: false });
      req.on('error', () => resolve('cut'));
      req.on('response', (res) => {
        res.on('data', () => {});
        res.on('error', () => resolve('cut'));
        res.on('aborted', () => resolve('cut'));
        res.on('end', () => resolve('complete'));
      });
      req.end();
    });
    assert.equal(outcome, 'cut');
  });
});
