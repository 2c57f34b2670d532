// Response limits, rule by rule (contract section 4), beyond the cases in bodies.test.ts:
// the effective limit (location over global), early 413 in both modes, the exact boundary,
// streaming that really streams, a visible truncation, HEAD, and a warn line per limit hit.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { request, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const GLOBAL_LIMIT = 1000;

/** Reads a response to its end or its abort; tells which, and how many bytes came. */
function readAll(res: IncomingMessage): Promise<{ bytes: number; complete: boolean }> {
  return new Promise((resolve) => {
    let bytes = 0;
    res.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    res.on('end', () => resolve({ bytes, complete: res.complete }));
    res.on('error', () => resolve({ bytes, complete: false }));
    res.on('aborted', () => resolve({ bytes, complete: false }));
  });
}

describe('response limits', () => {
  let sized: Upstream;
  let gated: Upstream;
  let releaseGate: (() => void) | undefined;
  let dito: DitoProcess;

  before(async () => {
    // `?bytes=N` answers N bytes; `&chunked=1` without a Content-Length, in 100-byte pieces.
    sized = await startUpstream((req, res) => {
      const query = new URL(req.url!, 'http://x').searchParams;
      const total = Number(query.get('bytes') ?? 0);
      const chunked = query.has('chunked');
      res.writeHead(200, chunked ? {} : { 'content-length': total });
      if (req.method === 'HEAD') return void res.end();
      for (let sent = 0; sent < total; sent += 100) res.write(Buffer.alloc(Math.min(100, total - sent), 97));
      res.end();
    });
    // Sends its first bytes, then waits for the test to let it finish.
    gated = await startUpstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first bytes;');
      releaseGate = () => res.end('the rest');
    });
    dito = await startDito(
      baseConfig(
        [
          { path: '^/global', target_url: sized.url },
          { path: '^/larger', target_url: sized.url, max_response_body_size: 5000 },
          { path: '^/smaller', target_url: sized.url, max_response_body_size: 100 },
          { path: '^/stream', target_url: sized.url, disable_response_buffering: true },
          { path: '^/gated', target_url: gated.url, disable_response_buffering: true },
        ],
        { response_limits: { max_response_body_size: GLOBAL_LIMIT } },
      ),
    );
  });

  after(async () => {
    releaseGate?.();
    await dito?.stop();
    await sized?.close();
    await gated?.close();
  });

  const limitDetails = (reply: Awaited<ReturnType<typeof request>>) =>
    reply.json<{ error: { code: number; details: { limit_bytes: number; path: string } } }>().error;

  test('effective limit: the global one when the location sets none', async () => {
    assert.equal((await request(`${dito.url}/global?bytes=${GLOBAL_LIMIT}`)).status, 200);
    const over = await request(`${dito.url}/global?bytes=${GLOBAL_LIMIT + 1}`);
    assert.equal(over.status, 413);
    assert.deepEqual(limitDetails(over).details, { limit_bytes: GLOBAL_LIMIT, path: '/global' });
  });

  test('effective limit: a location limit > 0 overrides the global one, larger or smaller', async () => {
    const larger = await request(`${dito.url}/larger?bytes=4000`);
    assert.equal(larger.status, 200);
    assert.equal(larger.body.length, 4000);
    assert.equal(limitDetails(await request(`${dito.url}/larger?bytes=6000`)).details.limit_bytes, 5000);

    const smaller = await request(`${dito.url}/smaller?bytes=500`);
    assert.equal(smaller.status, 413);
    assert.equal(limitDetails(smaller).details.limit_bytes, 100);
  });

  test('buffered: a chunked body exactly at the limit is sent whole with a Content-Length', async () => {
    const reply = await request(`${dito.url}/global?bytes=${GLOBAL_LIMIT}&chunked=1`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-length'], String(GLOBAL_LIMIT));
    assert.equal(reply.headers['transfer-encoding'], undefined);
    const over = await request(`${dito.url}/global?bytes=${GLOBAL_LIMIT + 1}&chunked=1`);
    assert.equal(over.status, 413);
    assert.equal(over.headers['content-type'], 'application/json; charset=utf-8');
  });

  test('streaming: a Content-Length over the limit gives 413 JSON before any byte', async () => {
    const reply = await request(`${dito.url}/stream?bytes=${GLOBAL_LIMIT + 1}`);
    assert.equal(reply.status, 413);
    assert.deepEqual(limitDetails(reply).details, { limit_bytes: GLOBAL_LIMIT, path: '/stream' });
  });

  test('streaming: a chunked body over the limit is cut after the headers, visibly (no clean end)', async () => {
    const req = httpRequest(`${dito.url}/stream?bytes=${GLOBAL_LIMIT * 5}&chunked=1`, { agent: false });
    const [res] = (await once(req.end(), 'response')) as [IncomingMessage];
    assert.equal(res.statusCode, 200);
    const { bytes, complete } = await readAll(res);
    assert.equal(complete, false, 'the truncated response must not look complete');
    assert.ok(bytes <= GLOBAL_LIMIT, `${bytes} bytes reached the client`);
  });

  test('streaming: under the limit, chunked bodies flow through complete', async () => {
    const reply = await request(`${dito.url}/stream?bytes=${GLOBAL_LIMIT}&chunked=1`);
    assert.equal(reply.status, 200);
    assert.equal(reply.body.length, GLOBAL_LIMIT);
  });

  test('streaming: the first bytes reach the client before the upstream finishes', async () => {
    const req = httpRequest(`${dito.url}/gated`, { agent: false });
    const [res] = (await once(req.end(), 'response')) as [IncomingMessage];
    const [first] = (await once(res, 'data')) as [Buffer];
    // The upstream is still holding its response open at this point.
    assert.equal(first.toString(), 'first bytes;');
    assert.ok(releaseGate !== undefined);
    const rest = readAll(res);
    releaseGate();
    assert.equal((await rest).complete, true);
  });

  test('HEAD carries no body: a large Content-Length is not over the limit', async () => {
    const reply = await request(`${dito.url}/global?bytes=${GLOBAL_LIMIT * 10}`, { method: 'HEAD' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-length'], String(GLOBAL_LIMIT * 10));
  });

  test('every limit hit logs one warn line naming the limit, the path and how it was hit', async () => {
    const ids = ['limit-hit-length', 'limit-hit-buffered', 'limit-hit-streaming'];
    await request(`${dito.url}/smaller?bytes=500`, { headers: { 'x-request-id': ids[0] } });
    await request(`${dito.url}/global?bytes=${GLOBAL_LIMIT + 1}&chunked=1`, {
      headers: { 'x-request-id': ids[1] },
    });
    await request(`${dito.url}/stream?bytes=${GLOBAL_LIMIT * 3}&chunked=1`, {
      headers: { 'x-request-id': ids[2] },
    }).catch(() => undefined);
    const ofId = (msg: string) => (id: string) => dito.logs.find((l) => l.msg === msg && l.request_id === id);
    const hits = await waitFor(() => {
      const lines = ids.map(ofId('response body over the size limit'));
      return lines.every(Boolean) ? lines : undefined;
    });
    assert.deepEqual(
      hits!.map((l) => [l!.level, l!.path, l!.limit_bytes, l!.stage]),
      [
        ['warn', '/smaller', 100, 'content_length'],
        ['warn', '/global', GLOBAL_LIMIT, 'buffered'],
        ['warn', '/stream', GLOBAL_LIMIT, 'streaming'],
      ],
    );
    // The access log line carries the error code the metrics layer counts.
    const access = await waitFor(() => {
      const lines = ids.map(ofId('request'));
      return lines.every(Boolean) ? lines : undefined;
    });
    assert.deepEqual(
      access!.map((l) => l!.error),
      ids.map(() => 'DITO_ERR_RESPONSE_TOO_LARGE'),
    );
  });
});
