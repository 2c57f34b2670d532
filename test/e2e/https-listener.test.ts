// The HTTPS listener (`tls:` block): HTTP/2 and HTTP/1.1 on one port by ALPN, proxied alike
// (routing, headers, errors, limits); client certificates when `ca_file` is set; certificates
// re-read on reload; a graceful stop with an HTTP/2 connection open.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFileSync } from 'node:fs';
import { type ClientHttp2Session, connect as http2Connect, type IncomingHttpHeaders } from 'node:http2';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

interface H2Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  json<T = Record<string, unknown>>(): T;
}

function h2Request(
  session: ClientHttp2Session,
  path: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': options.method ?? 'GET', ':path': path, ...options.headers });
    const chunks: Buffer[] = [];
    let headers: IncomingHttpHeaders = {};
    stream.on('response', (h) => {
      headers = h;
    });
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => {
      const body = Buffer.concat(chunks);
      resolve({
        status: Number(headers[':status']),
        headers,
        body,
        json: <T>() => JSON.parse(body.toString()) as T,
      });
    });
    stream.end(options.body);
  });
}

interface H1Reply {
  status: number;
  headers: import('node:http').IncomingHttpHeaders;
  text: string;
  alpn: string | false | null;
}

function h1Request(
  url: string,
  options: { ca: Buffer; cert?: Buffer; key?: Buffer; method?: string; body?: string },
): Promise<H1Reply> {
  return new Promise((resolve, reject) => {
    // Offer only http/1.1 by ALPN, as curl --http1.1 does.
    const requestOptions: RequestOptions & { ALPNProtocols: string[] } = {
      method: options.method ?? 'GET',
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      agent: false,
      ALPNProtocols: ['http/1.1'],
    };
    const req = httpsRequest(url, requestOptions);
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          text,
          alpn: (res.socket as import('node:tls').TLSSocket).alpnProtocol,
        }),
      );
    });
    req.end(options.body);
  });
}

async function h2Session(url: string, options: { ca: Buffer; cert?: Buffer; key?: Buffer }) {
  const session = http2Connect(url, options);
  await once(session, 'connect');
  return session;
}

describe('HTTPS listener (HTTP/2 + HTTP/1.1)', () => {
  let certs: TestCerts;
  let upstream: Upstream;
  let limited: Upstream;
  let dito: DitoProcess;
  let url: string;

  before(async () => {
    certs = await makeCerts();
    upstream = await startUpstream();
    const big = Buffer.alloc(5000, 98);
    limited = await startUpstream((_req, res) => {
      res.writeHead(200);
      res.end(big);
    });
    dito = await startDito(
      baseConfig(
        [
          { path: '^/limited', target_url: limited.url, max_response_body_size: 1000 },
          { path: '^/api', target_url: upstream.url },
        ],
        { tls: { cert_file: certs.serverCert, key_file: certs.serverKey } },
      ),
    );
    url = `https://127.0.0.1:${dito.port}`;
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
    await limited?.close();
  });

  test('HTTP/2 and HTTP/1.1 on the same port, proxied alike', async () => {
    const session = await h2Session(url, { ca: certs.pem.ca });
    try {
      assert.equal(session.alpnProtocol, 'h2');
      const h2 = await h2Request(session, '/api/x?q=1', { headers: { 'x-request-id': 'h2-request' } });
      assert.equal(h2.status, 200);
      assert.equal(h2.headers['x-request-id'], 'h2-request');
      const seen = h2.json<{
        url: string;
        httpVersion: string;
        headers: Record<string, string>;
        rawHeaders: string[];
      }>();
      assert.equal(seen.url, '/api/x?q=1');
      assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
      assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${dito.port}`);
      assert.equal(seen.headers['x-request-id'], 'h2-request');
      assert.ok(
        seen.rawHeaders.every((value, i) => i % 2 === 1 || !value.startsWith(':')),
        'no pseudo-header reaches the upstream',
      );
    } finally {
      session.close();
    }

    const h1 = await h1Request(`${url}/api/y`, { ca: certs.pem.ca });
    assert.equal(h1.alpn, 'http/1.1');
    assert.equal(h1.status, 200);
    const seen = JSON.parse(h1.text) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/api/y');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${dito.port}`);
  });

  test('HTTP/2 request bodies (no Content-Length) reach the upstream', async () => {
    const session = await h2Session(url, { ca: certs.pem.ca });
    try {
      const reply = await h2Request(session, '/api/upload', { method: 'POST', body: 'x'.repeat(70_000) });
      assert.equal(reply.status, 200);
      assert.equal(reply.json<{ bodyLength: number }>().bodyLength, 70_000);
    } finally {
      session.close();
    }
  });

  test('HTTP/2 clients get the same errors and limits: 404, 413 JSON, CONNECT refused', async () => {
    const session = await h2Session(url, { ca: certs.pem.ca });
    try {
      const missing = await h2Request(session, '/nowhere');
      assert.equal(missing.status, 404);
      assert.equal(missing.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(missing.json<{ error: { message: string } }>().error.message, 'Not Found');

      const tooBig = await h2Request(session, '/limited');
      assert.equal(tooBig.status, 413);
      assert.deepEqual(tooBig.json<{ error: { details: unknown } }>().error.details, {
        limit_bytes: 1000,
        path: '/limited',
      });

      const traversal = await h2Request(session, '/api/../../etc');
      assert.equal(traversal.status, 400);

      const connect = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':method': 'CONNECT', ':authority': 'example.com:443' });
        stream.on('response', (headers) => resolve(Number(headers[':status'])));
        stream.on('error', reject);
      });
      assert.equal(connect, 405);
    } finally {
      session.close();
    }
  });

  test('SIGHUP re-reads the certificate files: new connections get the new certificate', async () => {
    const renewed = await makeCerts();
    // Same paths in the config, new contents (signed by another CA) on disk.
    copyFileSync(renewed.serverCert, certs.serverCert);
    copyFileSync(renewed.serverKey, certs.serverKey);
    dito.proc.kill('SIGHUP');
    await waitFor(() => dito.logs.some((l) => l.msg === 'config reloaded'));
    const reply = await h1Request(`${url}/api/after-reload`, { ca: renewed.pem.ca });
    assert.equal(reply.status, 200);
    await assert.rejects(h1Request(`${url}/api/old-ca`, { ca: certs.pem.ca }));
  });
});

describe('HTTPS listener with client certificates', () => {
  test('ca_file requires a client certificate: without one the handshake is refused', async () => {
    const certs = await makeCerts();
    const upstream = await startUpstream();
    const dito = await startDito(
      baseConfig([{ path: '^/', target_url: upstream.url }], {
        tls: {
          cert_file: certs.serverCert,
          key_file: certs.serverKey,
          ca_file: certs.caFile,
          min_version: 'TLSv1.3',
        },
      }),
    );
    const url = `https://127.0.0.1:${dito.port}`;
    try {
      const withCert = await h1Request(`${url}/ok`, {
        ca: certs.pem.ca,
        cert: certs.pem.clientCert,
        key: certs.pem.clientKey,
      });
      assert.equal(withCert.status, 200);

      const session = await h2Session(url, {
        ca: certs.pem.ca,
        cert: certs.pem.clientCert,
        key: certs.pem.clientKey,
      });
      assert.equal((await h2Request(session, '/ok')).status, 200);
      session.close();

      await assert.rejects(h1Request(`${url}/no-cert`, { ca: certs.pem.ca }));
      // Over TLS 1.3 the refusal comes as an alert right after the handshake: no answer arrives.
      const refused = http2Connect(url, { ca: certs.pem.ca });
      refused.on('error', () => {});
      const outcome = await new Promise<string>((resolve) => {
        const stream = refused.request({ ':path': '/no-cert' });
        stream.on('response', (headers) => resolve(`answered ${headers[':status']}`));
        stream.on('error', () => resolve('refused'));
        stream.on('close', () => resolve('refused'));
        stream.end();
      });
      assert.equal(outcome, 'refused');
      refused.destroy();

      // min_version: TLSv1.3 refuses a TLS 1.2 client.
      const old = tlsConnect({
        host: '127.0.0.1',
        port: dito.port,
        ca: certs.pem.ca,
        cert: certs.pem.clientCert,
        key: certs.pem.clientKey,
        maxVersion: 'TLSv1.2',
      });
      const [oldErr] = (await once(old, 'error')) as [Error];
      assert.ok(oldErr instanceof Error);
    } finally {
      await dito.stop();
      await upstream.close();
    }
  });

  test('SIGTERM with an idle HTTP/2 connection open exits promptly', async () => {
    const certs = await makeCerts();
    const upstream = await startUpstream();
    const dito = await startDito(
      baseConfig([{ path: '^/', target_url: upstream.url }], {
        shutdown_timeout: '10s',
        tls: { cert_file: certs.serverCert, key_file: certs.serverKey },
      }),
    );
    const session = await h2Session(`https://127.0.0.1:${dito.port}`, { ca: certs.pem.ca });
    try {
      assert.equal((await h2Request(session, '/x')).status, 200);
      const started = Date.now();
      assert.equal(await dito.stop('SIGTERM'), 0);
      assert.ok(Date.now() - started < 3000, `stop took ${Date.now() - started} ms`);
    } finally {
      session.destroy();
      await upstream.close();
    }
  });

  test('a missing certificate file is a config error naming tls.cert_file', async () => {
    const { runDitoToExit, writeConfig } = await import('../helpers/dito.js');
    const path = writeConfig(
      baseConfig([{ path: '^/', target_url: 'http://127.0.0.1:9' }], {
        tls: { cert_file: '/nonexistent/server.crt', key_file: '/nonexistent/server.key' },
      }),
    );
    const result = await runDitoToExit(['-f', path]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /config\.yaml:\d+:\d+: tls\.cert_file: cannot read \/nonexistent\/server\.crt/,
    );
  });
});
