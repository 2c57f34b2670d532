// Bodies stream with backpressure: a 1 GiB upload and a slow reader keep Dito's memory bounded;
// response size limits follow contract section 4.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { request, sleep, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const MiB = 1024 * 1024;

describe('bodies and memory', () => {
  let upstream: Upstream;
  let big: Upstream;
  let dito: DitoProcess;

  before(async () => {
    upstream = await startUpstream();
    const chunk = Buffer.alloc(64 * 1024, 97);
    big = await startUpstream((req, res) => {
      // 256 MiB streamed with backpressure, unless a size is asked for.
      const total = Number(new URL(req.url!, 'http://x').searchParams.get('bytes') ?? 256 * MiB);
      const chunked = req.url!.includes('chunked');
      res.writeHead(200, chunked ? {} : { 'content-length': total });
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
          sent += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    dito = await startDito(
      baseConfig(
        [
          { path: '^/stream', target_url: big.url, disable_response_buffering: true },
          {
            path: '^/limited-stream',
            target_url: big.url,
            disable_response_buffering: true,
            max_response_body_size: 100_000,
          },
          { path: '^/limited', target_url: big.url, max_response_body_size: 100_000 },
          { path: '^/big', target_url: big.url },
          { path: '^/', target_url: upstream.url },
        ],
        { response_limits: { max_response_body_size: 512 * MiB } },
      ),
    );
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
    await big?.close();
  });

  test('a 1 GiB POST goes through with bounded memory', async () => {
    const post = (total: number) =>
      new Promise<string>((resolve, reject) => {
        const chunk = Buffer.alloc(256 * 1024, 1);
        const req = httpRequest(`${dito.url}/upload`, {
          method: 'POST',
          agent: false,
          headers: { 'content-length': total },
        });
        req.on('error', reject);
        req.on('response', (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve(text));
        });
        let sent = 0;
        const pump = () => {
          while (sent < total) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
          req.end();
        };
        pump();
      });
    const before = dito.memory().current;
    // A 256 MiB upload first: V8 lets garbage buffers pile up to its GC threshold (about 80 MiB
    // on Node 20, 100 MiB on Node 24) whatever the body size. What must not happen is growth with
    // the body: four times the bytes afterwards may not raise the peak noticeably.
    assert.equal(JSON.parse(await post(256 * MiB)).bodyLength, 256 * MiB);
    const warmPeak = dito.memory().peak;
    assert.equal(JSON.parse(await post(1024 * MiB)).bodyLength, 1024 * MiB);
    const peak = dito.memory().peak;
    const extra = peak - warmPeak;
    assert.ok(extra < 48 * MiB, `1 GiB raised the peak by ${Math.round(extra / MiB)} MiB over 256 MiB's`);
    const growth = peak - before;
    assert.ok(growth < 160 * MiB, `peak RSS grew by ${Math.round(growth / MiB)} MiB`);
  });

  test('a slow reader does not make Dito buffer the upstream body (streaming mode)', async () => {
    const before = dito.memory().current;
    const req = httpRequest(`${dito.url}/stream`, { agent: false });
    const [res] = (await once(req.end(), 'response')) as [import('node:http').IncomingMessage];
    res.pause();
    // Give the upstream time to push as much as it can into the pipe.
    await sleep(1500);
    const growth = dito.memory().current - before;
    assert.ok(growth < 64 * MiB, `RSS grew by ${Math.round(growth / MiB)} MiB with a stalled reader`);
    res.destroy();
  });

  test('streaming: first bytes reach the client before the upstream finishes', async () => {
    const req = httpRequest(`${dito.url}/stream`, { agent: false });
    const [res] = (await once(req.end(), 'response')) as [import('node:http').IncomingMessage];
    assert.equal(res.statusCode, 200);
    const [first] = (await once(res, 'data')) as [Buffer];
    assert.ok(first.length > 0);
    res.destroy();
  });

  test('Content-Length over the limit → 413 JSON before any byte', async () => {
    const reply = await request(`${dito.url}/limited?bytes=200000`);
    assert.equal(reply.status, 413);
    const body = reply.json<{ error: { message: string; details: { limit_bytes: number; path: string } } }>();
    assert.equal(body.error.message, 'Response body size exceeds limit');
    assert.deepEqual(body.error.details, { limit_bytes: 100_000, path: '/limited' });
  });

  test('buffered: a chunked body over the limit → 413 JSON', async () => {
    const reply = await request(`${dito.url}/limited?bytes=200000&chunked=1`);
    assert.equal(reply.status, 413);
  });

  test('buffered: a body under the limit is sent whole with Content-Length', async () => {
    const reply = await request(`${dito.url}/limited?bytes=99000&chunked=1`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.length, 99_000);
    assert.equal(reply.headers['content-length'], '99000');
  });

  test('streaming: over the limit after headers → the client connection is aborted', async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const req = httpRequest(`${dito.url}/limited-stream?bytes=300000&chunked=1`, { agent: false });
        req.on('error', reject);
        req.on('response', (res) => {
          res.on('data', () => {});
          res.on('error', reject);
          res.on('aborted', () => reject(new Error('aborted')));
          res.on('end', () => resolve('complete'));
        });
        req.end();
      }),
    );
    await waitFor(() => dito.logs.length >= 0);
  });
});
