// The `auth` middleware through bin/dito with a real upstream: each type refuses with 401 JSON
// and WWW-Authenticate, lets the right credential through (claim headers forwarded, client
// copies dropped), and never writes a credential to the logs, even with verbose debug logging.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK } from 'jose';
import {
  basicHeader,
  bcryptHash,
  HS_SECRET,
  secretKey,
  sha256Hex,
  signToken,
  unsignedToken,
} from '../helpers/auth.js';
import {
  baseConfig,
  type DitoProcess,
  runDitoToExit,
  startDito,
  tempDir,
  writeConfig,
} from '../helpers/dito.js';
import { request } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const API_KEY = 'e2e-api-key-0123456789';
const CUSTOM_KEY = 'e2e-custom-header-key-42';

describe('auth through bin/dito', () => {
  let upstream: Upstream;
  let jwksServer: Server;
  let jwksFetches = 0;
  let dito: DitoProcess;
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const credentials: string[] = [];

  before(async () => {
    upstream = await startUpstream();
    const jwk = { ...(await exportJWK(ec.publicKey)), kid: 'e2e', alg: 'ES256' };
    jwksServer = createServer((_req, res) => {
      jwksFetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    jwksServer.listen(0, '127.0.0.1');
    await once(jwksServer, 'listening');
    const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks`;

    const dir = tempDir('dito-auth-e2e-');
    writeFileSync(
      join(dir, 'users.htpasswd'),
      `# ops\nbob:${bcryptHash('builder').replace('$2b$', '$2y$')}\n`,
    );
    writeFileSync(join(dir, 'rsa.pem'), rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    const target = upstream.url;
    dito = await startDito(
      baseConfig(
        [
          {
            path: '^/basic',
            target_url: target,
            middlewares: ['auth'],
            auth: { type: 'basic', users: { alice: bcryptHash('wonderland') } },
          },
          {
            path: '^/htpasswd',
            target_url: target,
            middlewares: ['auth'],
            auth: { type: 'basic', realm: 'ops', htpasswd_file: 'users.htpasswd', strip_credentials: true },
          },
          {
            path: '^/key',
            target_url: target,
            middlewares: ['auth'],
            auth: { type: 'api_key', keys: [sha256Hex(API_KEY)] },
          },
          {
            path: '^/custom-key',
            target_url: target,
            middlewares: ['auth'],
            auth: { type: 'api_key', header: 'X-Token', keys: [sha256Hex(CUSTOM_KEY)] },
          },
          {
            path: '^/query-key',
            target_url: target,
            middlewares: ['auth'],
            auth: { type: 'api_key', query: 'api_key', keys: [sha256Hex(API_KEY)], strip_credentials: true },
          },
          {
            path: '^/jwt',
            target_url: target,
            middlewares: ['auth'],
            auth: {
              type: 'jwt',
              secret: HS_SECRET,
              algorithms: ['HS256'],
              issuer: 'https://id.example',
              audience: 'dito-api',
              forward_claims: { sub: 'X-User-Id', scope: 'X-User-Scope' },
            },
          },
          {
            path: '^/rs',
            target_url: target,
            middlewares: ['auth'],
            auth: { type: 'jwt', public_key_file: 'rsa.pem', algorithms: ['RS256'], strip_credentials: true },
          },
          {
            path: '^/jwks',
            target_url: target,
            middlewares: ['auth'],
            auth: {
              type: 'jwt',
              jwks_url: jwksUrl,
              algorithms: ['ES256'],
              forward_claims: { sub: 'X-User-Id' },
            },
          },
          { path: '^/open', target_url: target },
        ],
        { logging: { enabled: true, level: 'debug', verbose: true } },
      ),
      { dir },
    );
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
    jwksServer?.close();
  });

  async function refused(path: string, headers: Record<string, string> = {}) {
    const before = upstream.requests.length;
    const reply = await request(`${dito.url}${path}`, { headers });
    assert.equal(reply.status, 401, `${path} ${JSON.stringify(headers)}`);
    assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
    const body = reply.json<{ error: { code: number; message: string }; request_id: string }>();
    assert.equal(body.error.code, 401);
    assert.equal(body.error.message, 'Unauthorized');
    assert.equal(body.request_id, reply.headers['x-request-id']);
    assert.equal(upstream.requests.length, before, 'a refused request never reaches the upstream');
    return String(reply.headers['www-authenticate']);
  }

  async function accepted(path: string, headers: Record<string, string> = {}) {
    for (const name of ['authorization', 'x-api-key', 'x-token']) {
      if (headers[name] !== undefined) credentials.push(headers[name]);
    }
    const reply = await request(`${dito.url}${path}`, { headers });
    assert.equal(reply.status, 200, `${path}: ${reply.text}`);
    return upstream.requests.at(-1)!;
  }

  test('basic: users inline and in an htpasswd file', async () => {
    assert.equal(await refused('/basic'), 'Basic realm="dito", charset="UTF-8"');
    await refused('/basic', { authorization: basicHeader('alice', 'nope') });
    await refused('/basic', { authorization: basicHeader('bob', 'builder') });
    const seen = await accepted('/basic/x', { authorization: basicHeader('alice', 'wonderland') });
    assert.equal(seen.headers.authorization, basicHeader('alice', 'wonderland'));

    assert.equal(await refused('/htpasswd'), 'Basic realm="ops", charset="UTF-8"');
    const stripped = await accepted('/htpasswd', { authorization: basicHeader('bob', 'builder') });
    assert.equal(stripped.headers.authorization, undefined);
  });

  test('api_key: header (default and custom) and query parameter', async () => {
    assert.equal(await refused('/key'), 'ApiKey realm="dito", header="X-API-Key"');
    await refused('/key', { 'x-api-key': 'wrong' });
    assert.equal((await accepted('/key', { 'x-api-key': API_KEY })).headers['x-api-key'], API_KEY);
    await refused('/custom-key', { 'x-api-key': CUSTOM_KEY });
    await accepted('/custom-key', { 'x-token': CUSTOM_KEY });

    assert.match(await refused('/query-key?api_key=wrong'), /query="api_key", error="invalid_key"/);
    credentials.push(API_KEY);
    const reply = await request(`${dito.url}/query-key/x?a=1&api_key=${API_KEY}`);
    assert.equal(reply.status, 200);
    assert.equal(upstream.requests.at(-1)!.url, '/query-key/x?a=1');
  });

  test('jwt: claims forwarded, spoofed copies dropped; bad tokens refused', async () => {
    const claims = { iss: 'https://id.example', aud: 'dito-api', scope: 'read write' };
    const token = await signToken('HS256', secretKey(), claims);
    const seen = await accepted('/jwt', {
      authorization: `Bearer ${token}`,
      'x-user-id': 'mallory',
      x_user_scope: 'admin',
    });
    assert.equal(seen.headers['x-user-id'], 'alice');
    assert.equal(seen.headers['x-user-scope'], 'read write');
    assert.equal(seen.headers.x_user_scope, undefined);

    assert.equal(await refused('/jwt'), 'Bearer realm="dito"');
    const now = Math.floor(Date.now() / 1000);
    for (const bad of [
      await signToken('HS256', secretKey(), { ...claims, exp: now - 60 }),
      await signToken('HS256', secretKey(), { ...claims, aud: 'someone-else' }),
      await signToken('HS256', secretKey(), { ...claims, iss: 'https://evil.example' }),
      await signToken('HS512', secretKey(), claims),
      await signToken('HS256', secretKey('x'.repeat(40)), claims),
      unsignedToken({ ...claims, sub: 'alice', exp: now + 60 }),
    ]) {
      credentials.push(bad);
      const challenge = await refused('/jwt', { authorization: `Bearer ${bad}`, 'x-user-id': 'mallory' });
      assert.match(challenge, /^Bearer realm="dito", error="invalid_token", error_description="[^"]+"$/);
    }
  });

  test('jwt: RS256 public key file (credential stripped) and ES256 from a cached JWKS', async () => {
    const rs = await signToken('RS256', rsa.privateKey);
    const seen = await accepted('/rs', { authorization: `Bearer ${rs}` });
    assert.equal(seen.headers.authorization, undefined);
    await refused('/rs', { authorization: `Bearer ${await signToken('ES256', ec.privateKey)}` });

    for (let i = 0; i < 3; i++) {
      const es = await signToken('ES256', ec.privateKey, { sub: `user-${i}` }, { kid: 'e2e' });
      assert.equal(
        (await accepted('/jwks', { authorization: `Bearer ${es}` })).headers['x-user-id'],
        `user-${i}`,
      );
    }
    assert.equal(jwksFetches, 1);
  });

  test('locations without auth are untouched; no credential ever reaches the logs', async () => {
    const seen = await accepted('/open', { 'x-user-id': 'whoever' });
    assert.equal(seen.headers['x-user-id'], 'whoever');
    // Stopping flushes every buffered log line, so the check below sees all of them.
    assert.equal(await dito.stop(), 0);
    const logs = JSON.stringify(dito.logs);
    assert.ok(
      dito.logs.some((entry) => entry.msg === 'auth refused' && entry.reason === 'invalid_credentials'),
    );
    assert.ok(
      dito.logs.some((entry) => entry.request_headers !== undefined),
      'verbose request logs were written',
    );
    for (const credential of credentials) {
      const secret = credential.replace(/^(Basic|Bearer) /, '');
      assert.ok(!logs.includes(secret), `a credential reached the logs: ${secret.slice(0, 12)}...`);
    }
    assert.ok(!logs.includes('wonderland') && !logs.includes(API_KEY) && !logs.includes(CUSTOM_KEY));
  });
});

describe('auth config errors', () => {
  test('auth without an auth block, and an unreadable htpasswd file, refuse to start', async () => {
    const noBlock = writeConfig(
      'port: 0\nlocations:\n  - path: "^/"\n    target_url: http://127.0.0.1:9\n    middlewares: [auth]\n',
    );
    const first = await runDitoToExit(['-f', noBlock]);
    assert.equal(first.code, 1);
    assert.match(
      first.stderr,
      /:5:\d+: locations\[0\]\.middlewares\[0\]: the auth middleware needs an `auth:` block/,
    );

    const missingFile = writeConfig(
      'port: 0\nlocations:\n  - path: "^/"\n    target_url: http://127.0.0.1:9\n    middlewares: [auth]\n' +
        '    auth:\n      type: basic\n      htpasswd_file: nowhere.htpasswd\n',
    );
    const second = await runDitoToExit(['--check', '-f', missingFile]);
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      /:8:22: locations\[0\]\.auth\.htpasswd_file: cannot read htpasswd file .*nowhere\.htpasswd: no such file/,
    );
  });
});
