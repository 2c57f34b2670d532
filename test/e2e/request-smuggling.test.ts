// Request smuggling and malformed framing (anchors H1–H5): every ambiguous request is refused with
// 400 and the connection closed, and the upstream never sees a request it could read differently.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { rawExchange } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const cases: Array<{ name: string; request: string }> = [
  {
    name: 'Content-Length with Transfer-Encoding',
    request:
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n',
  },
  {
    name: 'two different Content-Length values',
    request:
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 40\r\n\r\nhelloGET /smuggled HTTP/1.1\r\n\r\n',
  },
  { name: 'Content-Length: +5', request: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello' },
  { name: 'Content-Length: 0x5', request: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\nhello' },
  {
    name: 'Transfer-Encoding: chunked, gzip (chunked not last)',
    request: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n',
  },
  {
    name: 'Transfer-Encoding: xchunked',
    request: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
  },
  {
    name: 'a space before the colon',
    request: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello',
  },
  {
    name: 'obs-fold continuation line',
    request: 'GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n',
  },
  { name: 'bare LF line endings', request: 'GET / HTTP/1.1\nHost: x\nX-A: b\n\n' },
  { name: 'NUL in a header value', request: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n' },
  { name: 'CR inside a header value', request: 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n' },
  {
    name: 'chunk size with junk',
    request: 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5 junk\r\nhello\r\n0\r\n\r\n',
  },
];

describe('request smuggling and framing', () => {
  let upstream: Upstream;
  let dito: DitoProcess;

  before(async () => {
    upstream = await startUpstream();
    dito = await startDito(baseConfig([{ path: '^/', target_url: upstream.url }]));
  });

  after(async () => {
    await dito.stop();
    await upstream.close();
  });

  for (const c of cases) {
    test(`${c.name} → 400, connection closed, nothing smuggled upstream`, async () => {
      const before = upstream.requests.length;
      const text = await rawExchange(dito.port, c.request, 3000);
      assert.match(text, /^HTTP\/1.1 400 /, text.slice(0, 80));
      assert.match(text, /application\/json/);
      assert.equal(text.match(/HTTP\/1.1 /g)?.length, 1, 'exactly one answer on the connection');
      assert.ok(upstream.requests.length === before, 'the upstream saw no request');
      assert.ok(!upstream.requests.some((r) => r.url === '/smuggled'));
    });
  }

  test('10 MB of chunk extensions → refused quickly, memory bounded (CVE-2024-22019)', async () => {
    const before = dito.memory().current;
    const seen = upstream.requests.length;
    const extension = `;${'a'.repeat(1024)}`.repeat(10 * 1024);
    const text = await rawExchange(
      dito.port,
      `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1${extension}\r\nx\r\n0\r\n\r\n`,
      5000,
    );
    // Dito answers and closes; with megabytes still unread the kernel may reset the connection
    // before the client reads the answer, so an empty read is a refusal too.
    if (text !== '') assert.match(text, /^HTTP\/1.1 (400|413) /);
    assert.equal(upstream.requests.length, seen, 'nothing forwarded');
    assert.ok(dito.memory().current - before < 64 * 1024 * 1024);
  });

  test('a keep-alive connection carries two honest requests as two upstream requests', async () => {
    const before = upstream.requests.length;
    const text = await rawExchange(
      dito.port,
      'GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    assert.equal(text.match(/HTTP\/1.1 200/g)?.length, 2);
    assert.deepEqual(
      upstream.requests.slice(before).map((r) => r.url),
      ['/one', '/two'],
    );
  });
});
