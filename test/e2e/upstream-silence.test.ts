// The upstream silence limit, kept by the proxy rather than by undici's timers, seen from the wire.
// Dito runs in this process so that the limit (300 s in service) can be shortened to 400 ms:
// a silent upstream gives 504, one that stops mid-body has the client's response cut short,
// one that is slow but never silent that long is relayed whole, and a client that stops reading
// (the relay pauses the upstream) is not taken for a silent upstream; a pool retries a silent target
// on the next one, and that attempt is watched too.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { upstreamSilence } from '../../src/proxy/silence-watch.js';
import { DitoApp } from '../../src/runtime/app.js';
import { writeConfig } from '../helpers/dito.js';
import { request, sleep } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const LIMIT_MS = 400;
const BIG_BODY = 8 * 1024 * 1024;

describe('upstream silence limit', () => {
  let upstream: Upstream;
  let silentTargets: Upstream[];
  let app: DitoApp;
  let base: string;
  let port: number;

  before(async () => {
    upstreamSilence.retune(LIMIT_MS, 50);
    upstream = await startUpstream((req, res) => {
      switch (req.url) {
        case '/silent':
          return; // never answers
        case '/stops-mid-body':
          res.writeHead(200, { 'content-length': '100' });
          res.write('x'.repeat(10));
          return; // and then nothing
        case '/slow-but-steady': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          let sent = 0;
          const timer = setInterval(() => {
            res.write(`chunk ${sent}\n`);
            if (++sent === 6) {
              clearInterval(timer);
              res.end();
            }
          }, 200);
          return;
        }
        case '/big':
          res.writeHead(200, { 'content-length': String(BIG_BODY) });
          res.end(Buffer.alloc(BIG_BODY, 'b'));
          return;
      }
    });
    silentTargets = [await startUpstream(() => {}), await startUpstream(() => {})];
    const configPath = writeConfig({
      port: 0,
      logging: { enabled: false },
      request_timeout: 0,
      // Streamed, as the cut mid-body and the paused relay need (buffered answers end as 502 JSON).
      locations: [
        {
          path: '^/pool/',
          targets: silentTargets.map((t) => t.url),
          retries: { attempts: 1, on: ['timeout'] },
        },
        { path: '^/', target_url: upstream.url, disable_response_buffering: true },
      ],
    });
    app = await DitoApp.create({ configPath });
    port = await app.start();
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    await app.stop('test');
    await upstream.close();
    for (const target of silentTargets) await target.close();
    upstreamSilence.retune(300_000, 5_000);
  });

  test('no answer at all: 504 after the limit', async () => {
    const started = performance.now();
    const reply = await request(`${base}/silent`);
    const elapsed = performance.now() - started;
    assert.equal(reply.status, 504);
    assert.equal(reply.json<{ error: { message: string } }>().error.message, 'Gateway Timeout');
    assert.ok(elapsed >= LIMIT_MS - 10 && elapsed < LIMIT_MS + 600, `took ${elapsed} ms`);
  });

  test('silent mid-body: the client gets the start and then a cut connection', async () => {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /stops-mid-body HTTP/1.1\r\nHost: x\r\n\r\n');
    const started = performance.now();
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    const elapsed = performance.now() - started;
    const text = Buffer.concat(chunks).toString('latin1');
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /content-length: 100/i);
    assert.ok(text.endsWith('\r\n\r\nxxxxxxxxxx'), `got ${JSON.stringify(text.slice(-40))}`);
    assert.ok(elapsed >= LIMIT_MS - 10 && elapsed < LIMIT_MS + 600, `closed after ${elapsed} ms`);
  });

  test('slow but never silent for the limit: relayed whole', async () => {
    const reply = await request(`${base}/slow-but-steady`);
    assert.equal(reply.status, 200);
    assert.equal(reply.text.split('\n').filter(Boolean).length, 6);
  });

  test('a pool retries a silent target on the other, and the retry is watched as well: 504', async () => {
    const started = performance.now();
    const reply = await request(`${base}/pool/x`);
    const elapsed = performance.now() - started;
    assert.equal(reply.status, 504);
    assert.ok(elapsed >= 2 * LIMIT_MS - 10 && elapsed < 2 * LIMIT_MS + 1000, `took ${elapsed} ms`);
    assert.deepEqual(
      silentTargets.map((t) => t.requests.length),
      [1, 1],
    );
  });

  test('a client that stops reading is not taken for a silent upstream', async () => {
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    // Read the head, then nothing for three times the limit: the relay pauses the upstream.
    await once(socket, 'data');
    socket.pause();
    await sleep(3 * LIMIT_MS);
    let received = 0;
    socket.on('data', (c: Buffer) => {
      received += c.length;
    });
    socket.resume();
    await once(socket, 'close');
    // Everything after the first read: at least the body less what that first read carried.
    assert.ok(
      received >= BIG_BODY - 1024 * 1024,
      `received ${received} of ${BIG_BODY} bytes after the pause`,
    );
    assert.equal(upstreamSilence.size, 0);
  });
});
