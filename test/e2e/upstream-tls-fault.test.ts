// TLS to upstreams is verified (contract section 4): an HTTPS upstream whose certificate does not
// chain to the system CAs or to the configured ca_file is refused with 502 JSON, never reached
// in the clear or unverified; skipping verification happens only with insecure_skip_verify.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeCerts, type TestCerts } from '../helpers/certs.js';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { request } from '../helpers/net.js';
import { startHttpsUpstream, type TlsUpstream } from '../helpers/tls-upstream.js';

describe('upstream TLS verification', () => {
  let certs: TestCerts;
  let upstream: TlsUpstream;
  let dito: DitoProcess;

  before(async () => {
    certs = await makeCerts();
    upstream = await startHttpsUpstream(certs);
    const to = (path: string, http: object = {}) => ({
      path,
      target_url: upstream.url,
      transport: { http },
    });
    dito = await startDito(
      baseConfig([
        to('^/system-cas'),
        to('^/other-ca', { ca_file: certs.otherCaFile }),
        to('^/right-ca', { ca_file: certs.caFile }),
        to('^/skip', { insecure_skip_verify: true }),
      ]),
    );
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
  });

  test('a certificate from an unknown CA (system CAs or another ca_file) → 502 JSON, nothing reaches the upstream', async () => {
    for (const path of ['/system-cas', '/other-ca']) {
      const reply = await request(`${dito.url}${path}`);
      assert.equal(reply.status, 502, path);
      assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal(reply.json<{ error: { type: string } }>().error.type, 'DITO_ERR_UPSTREAM_TLS');
    }
    assert.equal(upstream.versions.length, 0, 'no request reached the upstream');
  });

  test('the right ca_file verifies; insecure_skip_verify is the only way around verification', async () => {
    assert.equal((await request(`${dito.url}/right-ca`)).status, 200);
    assert.equal((await request(`${dito.url}/skip`)).status, 200);
    assert.equal(upstream.versions.length, 2);
  });
});
