// Contract section 4 (WebSocket) through the front door: a real `ws` upstream and client on both
// sides of `bin/dito`. Messages of every kind, control frames, subprotocols, extensions, close
// codes, header rules, handshake failures and the teardown rules.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { freePort, rawExchange, request, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { closed, nextMessage, openClient, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream.js';

const HANDSHAKE =
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

function rawUpgrade(port: number, path: string, extra = ''): Promise<string> {
  return rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: dito.test\r\n${HANDSHAKE}${extra}\r\n`);
}

function jsonBody(raw: string): { error: { code: number; message: string }; request_id: string } {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as {
    error: { code: number; message: string };
    request_id: string;
  };
}

describe('WebSocket proxying', () => {
  let upstream: WsUpstream;
  let deflateUpstream: WsUpstream;
  let httpUpstream: Upstream;
  let refusing: Server;
  let silent: NetServer;
  const silentSockets = new Set<Socket>();
  let dito: DitoProcess;
  let deadPort: number;

  before(async () => {
    upstream = await startWsUpstream({
      handleProtocols: (offered) => (offered.has('chosen') ? 'chosen' : false),
      responseHeaders: ['X-Upstream-Says', 'hello', 'Set-Cookie', 'session=1; HttpOnly'],
    });
    deflateUpstream = await startWsUpstream({ perMessageDeflate: { threshold: 0 } });
    httpUpstream = await startUpstream();
    refusing = createHttpServer();
    refusing.on('upgrade', (_req, socket: Socket) => {
      const body = '{"denied":true}';
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
          `X-Why: policy\r\nConnection: close\r\n\r\n${body}`,
      );
    });
    refusing.listen(0, '127.0.0.1');
    await once(refusing, 'listening');
    silent = createNetServer((socket) => {
      silentSockets.add(socket);
      socket.on('close', () => silentSockets.delete(socket));
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    deadPort = await freePort();
    const ws = (path: string, target: string, extra: object = {}) => ({
      path,
      target_url: target,
      enable_websocket: true,
      ...extra,
    });
    dito = await startDito(
      baseConfig(
        [
          ws('^/ws/', upstream.url, {
            additional_headers: { 'X-Added': 'dito' },
            excluded_headers: ['X-Drop-Me'],
          }),
          ws('^/replaced', `http://127.0.0.1:${upstream.port}/fixed?from=target`, { replace_path: true }),
          ws('^/deflate', deflateUpstream.url),
          ws('^/dead', `ws://127.0.0.1:${deadPort}`),
          ws('^/silent', `ws://127.0.0.1:${(silent.address() as { port: number }).port}`, {
            transport: { http: { response_header_timeout: '300ms' } },
          }),
          ws('^/refuse', `ws://127.0.0.1:${(refusing.address() as { port: number }).port}`),
          ws('^/idle', upstream.url, { websocket: { idle_timeout: '300ms' } }),
          ws('^/http-too', httpUpstream.url),
          { path: '^/plain', target_url: httpUpstream.url },
        ],
        { metrics: { enabled: true } },
      ),
    );
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
    await deflateUpstream?.close();
    await httpUpstream?.close();
    for (const socket of silentSockets) socket.destroy();
    silent?.close();
    refusing?.close();
  });

  const url = (path: string) => `ws://127.0.0.1:${dito.port}${path}`;
  const lastLog = (msg: string, requestId: string) =>
    dito.logs.find((entry) => entry.msg === msg && entry.request_id === requestId);

  test('text, binary, fragmented and 16 MiB messages echo intact; the access log counts them', async () => {
    const client = await openClient(url('/ws/echo'), undefined, { headers: { 'x-request-id': 'ws-echo-1' } });
    client.send('héllo wörld');
    let reply = await nextMessage(client);
    assert.equal(reply.isBinary, false);
    assert.equal(reply.data.toString('utf8'), 'héllo wörld');

    const binary = Buffer.from([0, 1, 2, 255, 254, 0, 10, 13]);
    client.send(binary);
    reply = await nextMessage(client);
    assert.equal(reply.isBinary, true);
    assert.deepEqual(reply.data, binary);

    // One message in three frames; the upstream reassembles it and echoes it whole.
    client.send('frag-1|', { fin: false });
    client.send('frag-2|', { fin: false });
    client.send('frag-3', { fin: true });
    reply = await nextMessage(client);
    assert.equal(reply.data.toString(), 'frag-1|frag-2|frag-3');

    const big = Buffer.alloc(16 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    client.send(big);
    reply = await nextMessage(client);
    assert.equal(reply.data.length, big.length);
    assert.ok(reply.data.equals(big), '16 MiB message changed on the way');

    client.close(1000);
    assert.equal((await closed(client)).code, 1000);
    const entry = (await waitFor(() => lastLog('websocket closed', 'ws-echo-1')))!;
    assert.equal(entry.messages_in, 4);
    assert.equal(entry.messages_out, 4);
    assert.equal(entry.client_close_code, 1000);
    assert.equal(entry.end, 'closed');
    assert.ok((entry.bytes_in as number) > big.length);
  });

  test('metrics: active connections, messages, bytes per direction, connection durations', async () => {
    const scrape = async () => {
      const text = (await request(`${dito.url}/metrics`)).text;
      const value = (series: string) => {
        const line = text.split('\n').find((l) => l.startsWith(`${series} `));
        return line === undefined ? 0 : Number(line.slice(series.length + 1));
      };
      return {
        active: value('websocket_connections_active'),
        inbound: value('websocket_messages_total{direction="inbound"}'),
        outbound: value('websocket_messages_total{direction="outbound"}'),
        bytesIn: value('dito_websocket_transferred_bytes_total{direction="inbound"}'),
        bytesOut: value('dito_websocket_transferred_bytes_total{direction="outbound"}'),
        durations: value('dito_websocket_connection_duration_seconds_count'),
      };
    };
    await waitFor(async () => (await scrape()).active === 0);
    const before = await scrape();
    const client = await openClient(url('/ws/metrics'));
    assert.equal((await scrape()).active, 1);
    for (const text of ['one', 'two', 'three']) {
      client.send(text);
      await nextMessage(client);
    }
    client.close();
    await closed(client);
    const after = await waitFor(async () => {
      const now = await scrape();
      return now.active === 0 && now.durations > before.durations ? now : undefined;
    });
    assert.equal(after!.inbound - before.inbound, 3);
    assert.equal(after!.outbound - before.outbound, 3);
    // Three masked 3–5 byte frames plus a close frame, and their echoes unmasked.
    assert.ok(after!.bytesIn - before.bytesIn >= 3 * 9);
    assert.ok(after!.bytesOut - before.bytesOut >= 3 * 5);
    assert.equal(after!.durations - before.durations, 1);
  });

  test('ping and pong pass through with their payloads', async () => {
    const client = await openClient(url('/ws/ping'));
    const connection = upstream.connections.at(-1)!;
    const pong = once(client, 'pong');
    client.ping(Buffer.from('heartbeat'));
    const [payload] = (await pong) as [Buffer];
    assert.equal(payload.toString(), 'heartbeat');
    assert.equal(connection.pings.at(-1)?.toString(), 'heartbeat');
    client.close();
    await closed(client);
  });

  test('every offered subprotocol reaches the upstream; its choice reaches the client', async () => {
    const client = await openClient(url('/ws/protocols'), ['one', 'chosen', 'three']);
    assert.equal(client.protocol, 'chosen');
    const seen = upstream.handshakes.at(-1)!;
    const offered = String(seen.headers['sec-websocket-protocol']).split(',');
    assert.deepEqual(
      offered.map((name) => name.trim()),
      ['one', 'chosen', 'three'],
    );
    client.close();
    await closed(client);
  });

  test('header rules as for HTTP, both ways: client headers, X-Forwarded-*, additions, exclusions', async () => {
    const client = new WebSocket(url('/ws/chat?room=1'), {
      headers: {
        Cookie: 'a=1; b=2',
        Authorization: 'Bearer token',
        'X-Custom': 'custom value',
        'X-Drop-Me': 'secret',
        'X-Forwarded-For': '198.51.100.7',
        'X-Request-ID': 'ws-headers-1',
        Origin: 'https://app.example',
      },
    });
    // 'open' follows 'upgrade' in the same tick: listen for both first.
    const upgraded = once(client, 'upgrade');
    await once(client, 'open');
    const [response] = (await upgraded) as [{ headers: Record<string, string | string[]> }];
    const seen = upstream.handshakes.at(-1)!;
    assert.equal(seen.url, '/ws/chat?room=1');
    assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
    assert.equal(seen.headers.cookie, 'a=1; b=2');
    assert.equal(seen.headers.authorization, 'Bearer token');
    assert.equal(seen.headers['x-custom'], 'custom value');
    assert.equal(seen.headers.origin, 'https://app.example');
    assert.equal(seen.headers['x-drop-me'], undefined);
    assert.equal(seen.headers['x-added'], 'dito');
    assert.equal(seen.headers['x-forwarded-for'], '198.51.100.7, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${dito.port}`);
    assert.equal(seen.headers['x-real-ip'], '127.0.0.1');
    assert.equal(seen.headers['x-request-id'], 'ws-headers-1');
    assert.equal(seen.headers.upgrade, 'websocket');
    assert.equal(seen.headers.connection, 'Upgrade');
    // The upstream's 101 headers reach the client, with Dito's request id.
    assert.equal(response.headers['x-upstream-says'], 'hello');
    assert.deepEqual(response.headers['set-cookie'], ['session=1; HttpOnly']);
    assert.equal(response.headers['x-request-id'], 'ws-headers-1');
    client.close();
    await closed(client);
  });

  test('replace_path sends the target path and keeps both queries; http targets work', async () => {
    const client = await openClient(url('/replaced/anything?q=1'));
    assert.equal(upstream.handshakes.at(-1)!.url, '/fixed?from=target&q=1');
    client.send('via http target');
    assert.equal((await nextMessage(client)).data.toString(), 'via http target');
    client.close();
    await closed(client);
  });

  test('close code 4001 from the client reaches the upstream', async () => {
    const client = await openClient(url('/ws/close-client'));
    const connection = upstream.connections.at(-1)!;
    // Listen before closing: the client's close event may come before the upstream's.
    const clientClosed = closed(client);
    client.close(4001, 'client says bye');
    assert.deepEqual(await connection.closed, { code: 4001, reason: 'client says bye' });
    assert.equal((await clientClosed).code, 4001);
  });

  test('close code 4001 from the upstream reaches the client', async () => {
    const client = await openClient(url('/ws/close-upstream'));
    const clientClosed = closed(client);
    upstream.connections.at(-1)!.socket.close(4001, 'upstream says bye');
    assert.deepEqual(await clientClosed, { code: 4001, reason: 'upstream says bye' });
  });

  test('permessage-deflate is negotiated end to end', async () => {
    const client = await openClient(url('/deflate'), undefined, { perMessageDeflate: true });
    assert.match(client.extensions, /permessage-deflate/);
    const text = 'compressible '.repeat(10_000);
    client.send(text);
    assert.equal((await nextMessage(client)).data.toString(), text);
    client.close();
    await closed(client);
  });

  test('an unreachable upstream gives 502 JSON and no upgrade', async () => {
    const raw = await rawUpgrade(dito.port, '/dead', 'X-Request-ID: ws-dead-1\r\n');
    assert.match(raw, /^HTTP\/1\.1 502 /);
    assert.match(raw, /content-type: application\/json; charset=utf-8/i);
    assert.doesNotMatch(raw, /upgrade: websocket/i);
    const body = jsonBody(raw);
    assert.equal(body.error.code, 502);
    assert.equal(body.error.message, 'Bad Gateway');
    assert.equal(body.request_id, 'ws-dead-1');
  });

  test('an upstream that never answers the upgrade gives 504 JSON', async () => {
    const started = Date.now();
    const raw = await rawUpgrade(dito.port, '/silent');
    assert.match(raw, /^HTTP\/1\.1 504 /);
    assert.equal(jsonBody(raw).error.message, 'Gateway Timeout');
    assert.ok(Date.now() - started < 3000);
  });

  test("an upstream's non-101 answer is relayed to the client", async () => {
    const raw = await rawUpgrade(dito.port, '/refuse', 'X-Request-ID: ws-refused-1\r\n');
    assert.match(raw, /^HTTP\/1\.1 403 Forbidden/);
    assert.match(raw, /x-why: policy/i);
    assert.match(raw, /x-request-id: ws-refused-1/i);
    assert.ok(raw.endsWith('{"denied":true}'));
  });

  test('an upgrade on a location without enable_websocket is served as plain HTTP', async () => {
    const raw = await rawUpgrade(dito.port, '/plain');
    assert.match(raw, /^HTTP\/1\.1 200 /);
    const seen = httpUpstream.requests.at(-1)!;
    assert.equal(seen.url, '/plain');
    assert.equal(seen.headers.upgrade, undefined);
  });

  test('a non-WebSocket upgrade (h2c) on a WebSocket location is served as plain HTTP', async () => {
    const raw = await rawExchange(
      dito.port,
      'GET /http-too HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
    );
    assert.match(raw, /^HTTP\/1\.1 200 /);
    assert.equal(httpUpstream.requests.at(-1)!.headers.upgrade, undefined);
    // And plain requests on a WebSocket location are proxied as usual.
    assert.equal((await request(`${dito.url}/http-too`)).status, 200);
  });

  test('an idle connection is closed with 1001 on both sides after websocket.idle_timeout', async () => {
    const client = await openClient(url('/idle'));
    const connection = upstream.connections.at(-1)!;
    // Traffic keeps it open past the timeout.
    for (let i = 0; i < 4; i++) {
      client.send(`keep ${i}`);
      await nextMessage(client);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(client.readyState, WebSocket.OPEN);
    const started = Date.now();
    const result = await closed(client);
    assert.equal(result.code, 1001);
    assert.ok(Date.now() - started < 2000);
    assert.equal((await connection.closed).code, 1001);
  });

  test('an upstream that dies mid-stream closes the client promptly (1014)', async () => {
    const client = await openClient(url('/ws/killed'));
    const connection = upstream.connections.at(-1)!;
    const clientClosed = closed(client);
    const sending = setInterval(
      () => client.readyState === WebSocket.OPEN && client.send('x'.repeat(1000)),
      1,
    );
    await nextMessage(client);
    const killedAt = Date.now();
    // Like a killed process: the TCP connection goes, no close frame.
    (connection.socket as unknown as { _socket: Socket })._socket.destroy();
    const result = await clientClosed;
    clearInterval(sending);
    assert.ok(Date.now() - killedAt < 1000, 'client not closed promptly');
    assert.equal(result.code, 1014);
  });

  test('a client that vanishes closes the upstream connection (1001)', async () => {
    const client = await openClient(url('/ws/client-vanishes'));
    const connection = upstream.connections.at(-1)!;
    client.terminate();
    assert.equal((await connection.closed).code, 1001);
  });
});
