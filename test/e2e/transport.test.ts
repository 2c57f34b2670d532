// Upstream transport through the front door: mTLS (own and inherited keys), force_http2 against
// an HTTP/2-only upstream, dial and TLS handshake timeouts, max_conns_per_host, load warnings for
// keys Node cannot honour exactly, and pools kept warm across a reload.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { baseConfig, startDito } from '../helpers/dito.js';
import { request, waitFor } from '../helpers/net.js';
import {
  startBlackhole,
  startHttp2OnlyUpstream,
  startHttpsUpstream,
  startSilentTcp,
  type TlsUpstream,
} from '../helpers/tls-upstream.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

describe('upstream transport', () => {
  let certs: TestCerts;
  let mtls: TlsUpstream;
  let h2only: TlsUpstream;

  before(async () => {
    certs = await makeCerts();
    mtls = await startHttpsUpstream(certs, { requireClientCert: true });
    h2only = await startHttp2OnlyUpstream(certs);
  });

  after(async () => {
    await mtls?.close();
    await h2only?.close();
  });

  test('mTLS: own cert/key/ca pass; a location inheriting the global ca_file with its own cert passes; none → 502', async () => {
    const dito = await startDito(
      baseConfig(
        [
          {
            path: '^/own',
            target_url: mtls.url,
            transport: {
              http: { cert_file: certs.clientCert, key_file: certs.clientKey, ca_file: certs.caFile },
            },
          },
          {
            path: '^/inherits-ca',
            target_url: mtls.url,
            transport: { http: { cert_file: certs.clientCert, key_file: certs.clientKey } },
          },
          { path: '^/no-client-cert', target_url: mtls.url },
          {
            path: '^/wrong-ca',
            target_url: mtls.url,
            transport: {
              http: { cert_file: certs.clientCert, key_file: certs.clientKey, ca_file: certs.otherCaFile },
            },
          },
        ],
        { transport: { http: { ca_file: certs.caFile } } },
      ),
    );
    try {
      const own = await request(`${dito.url}/own`);
      assert.equal(own.status, 200, own.text);
      assert.equal(own.json<{ client: string }>().client, 'dito-client');

      const inherited = await request(`${dito.url}/inherits-ca`);
      assert.equal(inherited.status, 200, inherited.text);
      assert.equal(inherited.json<{ client: string }>().client, 'dito-client');

      const none = await request(`${dito.url}/no-client-cert`);
      assert.equal(none.status, 502);
      assert.equal(none.json<{ error: { message: string } }>().error.message, 'Bad Gateway');

      // The upstream's certificate does not chain to the configured CA: never a silent downgrade.
      const wrongCa = await request(`${dito.url}/wrong-ca`);
      assert.equal(wrongCa.status, 502);
      assert.ok(mtls.clientNames.every((name) => name === 'dito-client'));
    } finally {
      await dito.stop();
    }
  });

  test('force_http2 reaches an HTTP/2-only TLS upstream over HTTP/2; without it → 502', async () => {
    const dito = await startDito(
      baseConfig(
        [
          { path: '^/h2', target_url: h2only.url, transport: { http: { force_http2: true } } },
          { path: '^/h1', target_url: h2only.url },
        ],
        { transport: { http: { ca_file: certs.caFile } } },
      ),
    );
    try {
      const seen = h2only.versions.length;
      const reply = await request(`${dito.url}/h2/path?q=1`);
      assert.equal(reply.status, 200, reply.text);
      assert.deepEqual(reply.json(), { version: '2.0', url: '/h2/path?q=1' });
      assert.deepEqual(h2only.versions.slice(seen), ['2.0']);

      const h1 = await request(`${dito.url}/h1`);
      assert.equal(h1.status, 502);
    } finally {
      await dito.stop();
    }
  });

  test('dial_timeout against a socket that never accepts → 502 quickly', async (t) => {
    const hole = await startBlackhole();
    if (hole === undefined) {
      t.skip('python3 is needed to hold a never-accepting socket');
      return;
    }
    const dito = await startDito(
      baseConfig(
        [
          {
            path: '^/',
            target_url: `http://127.0.0.1:${hole.port}`,
            transport: { http: { dial_timeout: '300ms' } },
          },
        ],
        { request_timeout: '10s' },
      ),
    );
    try {
      const started = Date.now();
      const reply = await request(`${dito.url}/x`);
      const elapsed = Date.now() - started;
      assert.equal(reply.status, 502);
      assert.ok(elapsed >= 250 && elapsed < 1500, `took ${elapsed} ms`);
    } finally {
      await dito.stop();
      await hole.close();
    }
  });

  test('tls_handshake_timeout: TCP connects but TLS never completes → 502 quickly (dial is not the limit)', async () => {
    const silent = await startSilentTcp();
    const dito = await startDito(
      baseConfig([
        {
          path: '^/',
          target_url: `https://127.0.0.1:${silent.port}`,
          transport: { http: { tls_handshake_timeout: '300ms', dial_timeout: '5s' } },
        },
      ]),
    );
    try {
      const started = Date.now();
      const reply = await request(`${dito.url}/x`);
      const elapsed = Date.now() - started;
      assert.equal(reply.status, 502);
      assert.ok(elapsed >= 250 && elapsed < 1500, `took ${elapsed} ms`);
      assert.ok(silent.accepted() >= 1);
      await waitFor(() => dito.logs.find((l) => String(l.err).includes('TLS handshake')));
    } finally {
      await dito.stop();
      await silent.close();
    }
  });

  test('max_conns_per_host: 2 → 20 concurrent requests never open more than 2 upstream connections', async () => {
    const slow: Upstream = await startUpstream((_req, res) => {
      setTimeout(() => res.end('ok'), 50);
    });
    const dito = await startDito(
      baseConfig([{ path: '^/', target_url: slow.url, transport: { http: { max_conns_per_host: 2 } } }]),
    );
    try {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => request(`${dito.url}/r${i}`)));
      assert.deepEqual(
        replies.map((r) => r.status),
        Array(20).fill(200),
      );
      assert.equal(slow.requests.length, 20);
      assert.ok(slow.connections.maxOpen <= 2, `max open ${slow.connections.maxOpen}`);
      assert.equal(slow.connections.maxOpen, 2);
    } finally {
      await dito.stop();
      await slow.close();
    }
  });

  test('keys Node cannot honour exactly are named in one warn line each at load', async () => {
    const upstream = await startUpstream();
    const dito = await startDito(
      baseConfig(
        [
          { path: '^/a', target_url: upstream.url, transport: { http: { expect_continue_timeout: '3s' } } },
          { path: '^/b', target_url: upstream.url },
        ],
        { transport: { http: { max_idle_conns: 10, force_http2: true } } },
      ),
    );
    try {
      const warnings = dito.logs.filter((l) => l.level === 'warn' && typeof l.key === 'string');
      const keys = warnings.map((l) => l.key).sort();
      assert.deepEqual(keys, [
        'locations[0].transport.http.expect_continue_timeout',
        'transport.http.force_http2',
        'transport.http.force_http2',
        'transport.http.max_idle_conns',
      ]);
      for (const warning of warnings) assert.match(String(warning.at), /config\.yaml:\d+:\d+$/);
      // The defaults alone warn about nothing.
      const quiet = await startDito(baseConfig([{ path: '^/', target_url: upstream.url }]));
      await quiet.stop();
      assert.equal(quiet.logs.filter((l) => typeof l.key === 'string').length, 0);
    } finally {
      await dito.stop();
      await upstream.close();
    }
  });

  test('a reload keeps the warm pool of an unchanged (origin, transport) and closes a dropped one', async () => {
    const upstream = await startUpstream();
    const other = await startUpstream();
    const locations = [
      { path: '^/keep', target_url: upstream.url },
      { path: '^/drop', target_url: other.url },
    ];
    const dito = await startDito(baseConfig(locations));
    try {
      assert.equal((await request(`${dito.url}/keep`)).status, 200);
      assert.equal((await request(`${dito.url}/drop`)).status, 200);
      assert.equal(upstream.connections.total, 1);
      assert.equal(other.connections.open, 1);

      const { writeFileSync } = await import('node:fs');
      const { stringify } = await import('yaml');
      writeFileSync(dito.configPath, stringify(baseConfig([{ ...locations[0], replace_path: false }])));
      dito.proc.kill('SIGHUP');
      await waitFor(() => dito.logs.some((l) => l.msg === 'config reloaded'));

      assert.equal((await request(`${dito.url}/keep`)).status, 200);
      assert.equal(upstream.connections.total, 1, 'the same upstream connection served after the reload');
      // The pool only the old runtime used is closed once that runtime is retired.
      await waitFor(() => other.connections.open === 0);
      assert.equal((await request(`${dito.url}/drop`)).status, 404);
    } finally {
      await dito.stop();
      await upstream.close();
      await other.close();
    }
  });
});
