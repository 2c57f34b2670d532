// WebSocket upstreams over TLS: `wss` and `https` targets verified against a private CA from
// `ca_file`, a client certificate presented when the upstream demands one, and the 502s when
// verification or the client certificate is missing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testCerts } from '../helpers/certs.js';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { rawExchange } from '../helpers/net.js';
import { closed, nextMessage, openClient, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream.js';

describe('WebSocket proxying to TLS upstreams', () => {
  let mtlsUpstream: WsUpstream;
  let tlsUpstream: WsUpstream;
  let dito: DitoProcess;

  before(async () => {
    const certs = testCerts();
    mtlsUpstream = await startWsUpstream({ tls: { certs, requireClientCert: true } });
    tlsUpstream = await startWsUpstream({ tls: { certs } });
    const mtls = { ca_file: certs.caCert, cert_file: certs.clientCert, key_file: certs.clientKey };
    dito = await startDito(
      baseConfig([
        {
          path: '^/mtls',
          target_url: mtlsUpstream.url,
          enable_websocket: true,
          transport: { http: mtls },
        },
        {
          path: '^/https-target',
          target_url: `https://127.0.0.1:${tlsUpstream.port}`,
          enable_websocket: true,
          transport: { http: { ca_file: certs.caCert } },
        },
        {
          path: '^/no-client-cert',
          target_url: mtlsUpstream.url,
          enable_websocket: true,
          transport: { http: { ca_file: certs.caCert } },
        },
        {
          path: '^/wrong-ca',
          target_url: tlsUpstream.url,
          enable_websocket: true,
          transport: { http: { ca_file: certs.otherCaCert } },
        },
      ]),
    );
  });

  after(async () => {
    await dito?.stop();
    await mtlsUpstream?.close();
    await tlsUpstream?.close();
  });

  const url = (path: string) => `ws://127.0.0.1:${dito.port}${path}`;

  test('wss upstream with a private CA and a client certificate', async () => {
    const client = await openClient(url('/mtls/room'));
    const upstreamSide = mtlsUpstream.connections.at(-1)!;
    const peer = (upstreamSide.request.socket as import('node:tls').TLSSocket).getPeerCertificate();
    assert.equal(peer.subject.CN, 'dito-client');
    assert.equal(mtlsUpstream.handshakes.at(-1)!.headers.host, `localhost:${mtlsUpstream.port}`);
    client.send('over mTLS');
    assert.equal((await nextMessage(client)).data.toString(), 'over mTLS');
    client.send(Buffer.alloc(1024 * 1024, 7));
    assert.equal((await nextMessage(client)).data.length, 1024 * 1024);
    client.close(4001, 'done');
    assert.equal((await upstreamSide.closed).code, 4001);
    await closed(client);
  });

  test('an https target is reached over TLS, verified by IP address', async () => {
    const client = await openClient(url('/https-target'));
    client.send('over TLS');
    assert.equal((await nextMessage(client)).data.toString(), 'over TLS');
    client.close();
    await closed(client);
  });

  const upgrade = (path: string) =>
    rawExchange(
      dito.port,
      `GET ${path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );

  test('an upstream certificate from another CA is refused: 502, no upgrade', async () => {
    const raw = await upgrade('/wrong-ca');
    assert.match(raw, /^HTTP\/1\.1 502 /);
    assert.match(raw, /"message":"Bad Gateway"/);
  });

  test('an upstream that demands a client certificate Dito lacks: 502, no upgrade', async () => {
    const raw = await upgrade('/no-client-cert');
    assert.match(raw, /^HTTP\/1\.1 502 /);
  });
});
