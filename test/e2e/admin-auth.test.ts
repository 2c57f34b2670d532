// Who may use the admin listener: bearer tokens and basic users when configured (assets public
// only for bearer), config load refusing an unauthenticated non-loopback listener or a shared
// port, off by default, and reloads that change, move or remove the listener.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { adminBlock, adminUrl } from '../helpers/admin.js';
import { basicHeader, bcryptHash, sha256Hex } from '../helpers/auth.js';
import { baseConfig, type DitoProcess, runDitoToExit, startDito, writeConfig } from '../helpers/dito.js';
import { freePort, request, waitFor } from '../helpers/net.js';

const TOKEN = 'admin-token-1234567890';

describe('admin auth: bearer token', () => {
  let dito: DitoProcess;
  before(async () => {
    dito = await startDito(
      baseConfig([], adminBlock({ auth: { type: 'bearer', tokens: [sha256Hex('old'), sha256Hex(TOKEN)] } })),
    );
  });
  after(() => dito?.stop());

  test('the API needs the token; a wrong or missing one is answered 401 with a Bearer challenge', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${TOKEN}`, 'Bearer']) {
      const reply = await request(`${adminUrl(dito)}/api/config`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      assert.equal(reply.status, 401, String(authorization));
      assert.equal(reply.headers['www-authenticate'], 'Bearer realm="dito-admin"');
      assert.equal(reply.json<{ error: { code: number } }>().error.code, 401);
    }
    for (const token of [TOKEN, 'old']) {
      const ok = await request(`${adminUrl(dito)}/api/config`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(ok.status, 200);
    }
    const events = await request(`${adminUrl(dito)}/api/events`);
    assert.equal(events.status, 401);
    const reload = await request(`${adminUrl(dito)}/api/reload`, { method: 'POST' });
    assert.equal(reload.status, 401);
  });

  test('the page and its assets hold no data and load without the token (the page asks for it)', async () => {
    assert.equal((await request(`${adminUrl(dito)}/`)).status, 200);
    assert.equal((await request(`${adminUrl(dito)}/dashboard.js`)).status, 200);
  });

  test('with auth, any Host is accepted (the credential, not the name, is the guard)', async () => {
    const reply = await request(`${adminUrl(dito)}/api/routes`, {
      headers: { host: 'dito.internal:9000', authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(reply.status, 200);
  });
});

describe('admin auth: basic users', () => {
  let dito: DitoProcess;
  before(async () => {
    dito = await startDito(
      baseConfig([], adminBlock({ auth: { type: 'basic', users: { ops: bcryptHash('s3cret') } } })),
    );
  });
  after(() => dito?.stop());

  test('everything, the page included, needs a valid user', async () => {
    for (const path of ['/', '/api/config', '/dashboard.js']) {
      const reply = await request(`${adminUrl(dito)}${path}`);
      assert.equal(reply.status, 401, path);
      assert.equal(reply.headers['www-authenticate'], 'Basic realm="dito-admin", charset="UTF-8"');
    }
    const wrong = await request(`${adminUrl(dito)}/api/config`, {
      headers: { authorization: basicHeader('ops', 'nope') },
    });
    assert.equal(wrong.status, 401);
    const unknown = await request(`${adminUrl(dito)}/api/config`, {
      headers: { authorization: basicHeader('eve', 's3cret') },
    });
    assert.equal(unknown.status, 401);
    const ok = await request(`${adminUrl(dito)}/api/config`, {
      headers: { authorization: basicHeader('ops', 's3cret') },
    });
    assert.equal(ok.status, 200);
    assert.ok(!ok.text.includes('$2'), 'the bcrypt hash is masked');
  });
});

describe('admin config at load', () => {
  const check = async (admin: object, port = 0) =>
    runDitoToExit(['--check', '-f', writeConfig(baseConfig([], { port, admin }))]);

  test('a non-loopback address without auth is refused, naming the key', async () => {
    const result = await check({ enabled: true, address: '0.0.0.0' });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /config\.yaml:\d+:\d+: admin\.address: the admin listener on 0\.0\.0\.0 is reachable/,
    );
  });

  test('a non-loopback address with auth, and loopback without, are accepted', async () => {
    const withAuth = await check({
      enabled: true,
      address: '0.0.0.0',
      auth: { type: 'bearer', tokens: [sha256Hex(TOKEN)] },
    });
    assert.equal(withAuth.code, 0, withAuth.stderr);
    for (const address of ['127.0.0.1', '::1', 'localhost', '127.0.0.2']) {
      assert.equal((await check({ enabled: true, address })).code, 0, address);
    }
  });

  test('the proxy port, a bad address, a plain password or a bad token hash are refused', async () => {
    const samePort = await check({ enabled: true, port: 9999 }, 9999);
    assert.match(samePort.stderr, /admin\.port: the admin listener needs its own port/);
    assert.match(
      (await check({ enabled: true, address: 'example.com' })).stderr,
      /admin\.address: expected an IP/,
    );
    const plain = await check({ enabled: true, auth: { type: 'basic', users: { ops: 'password' } } });
    assert.match(plain.stderr, /admin\.auth\.users\.ops: expected a bcrypt hash/);
    const token = await check({ enabled: true, auth: { type: 'bearer', tokens: [TOKEN] } });
    assert.match(token.stderr, /admin\.auth\.tokens\[0\]: expected a SHA-256 hex digest/);
  });

  test('off by default: no admin listener, no admin_port announced', async () => {
    const dito = await startDito(baseConfig([]));
    try {
      const line = dito.logs.find((entry) => entry.msg === 'listening');
      assert.equal(line?.admin_port, undefined);
    } finally {
      await dito.stop();
    }
  });

  test('a taken admin port stops the start with a clear message', async () => {
    const taken = await startDito(baseConfig([], adminBlock()));
    try {
      const port = Number(new URL(adminUrl(taken)).port);
      const result = await runDitoToExit(['-f', writeConfig(baseConfig([], adminBlock({ port })))]);
      assert.equal(result.code, 1);
      assert.match(
        result.stderr,
        new RegExp(`admin listener cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
      );
    } finally {
      await taken.stop();
    }
  });
});

describe('admin listener across reloads', () => {
  test('auth added in place, the listener moved to a new port, then removed', async () => {
    const dito = await startDito(baseConfig([], adminBlock({ port: await freePort() })));
    try {
      const first = adminUrl(dito);
      assert.equal((await request(`${first}/api/config`)).status, 200);
      const port = Number(new URL(first).port);
      const auth = { type: 'bearer', tokens: [sha256Hex(TOKEN)] };
      writeConfig(baseConfig([], adminBlock({ port, auth })), dito.dir);
      dito.proc.kill('SIGHUP');
      await waitFor(async () => (await request(`${first}/api/config`)).status === 401);

      const moved = await freePort();
      writeConfig(baseConfig([], adminBlock({ port: moved, auth })), dito.dir);
      dito.proc.kill('SIGHUP');
      const headers = { authorization: `Bearer ${TOKEN}` };
      await waitFor(async () => {
        const reply = await request(`http://127.0.0.1:${moved}/api/config`, { headers }).catch(
          () => undefined,
        );
        return reply?.status === 200;
      });
      await assert.rejects(request(`${first}/api/config`), /ECONNREFUSED/);

      writeConfig(baseConfig([]), dito.dir);
      dito.proc.kill('SIGHUP');
      await waitFor(async () =>
        request(`http://127.0.0.1:${moved}/api/config`, { headers }).then(
          () => false,
          (err: Error) => /ECONNREFUSED/.test(err.message),
        ),
      );
    } finally {
      await dito.stop();
    }
  });
});
