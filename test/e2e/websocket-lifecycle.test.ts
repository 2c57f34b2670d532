// WebSockets and the rest of Dito: the location's middlewares (signed plugins) run on the upgrade
// request, open connections survive a config reload, and shutdown closes them with 1001 after the
// drain time.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { baseConfig, startDito } from '../helpers/dito.js';
import { rawExchange, waitFor } from '../helpers/net.js';
import { makePluginsFixture, pluginSource, type PluginsFixture } from '../helpers/plugins.js';
import { closed, nextMessage, openClient, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream.js';

const HANDSHAKE =
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

describe('WebSockets with middlewares, reloads and shutdown', () => {
  let upstream: WsUpstream;
  let fixture: PluginsFixture;

  before(async () => {
    upstream = await startWsUpstream();
    fixture = await makePluginsFixture([
      {
        name: 'greeter',
        source: pluginSource({
          name: 'greeter',
          responseHeader: ['X-Greeting', 'hi'],
          requestHeader: ['x-greeter-saw', 'yes'],
        }),
      },
      { name: 'gatekeeper', source: pluginSource({ name: 'gatekeeper', middleware: 'answer' }) },
      { name: 'thrower', source: pluginSource({ name: 'thrower', middleware: 'throw' }) },
    ]);
  });

  after(async () => {
    await upstream?.close();
    await fixture?.cleanup();
  });

  test("the location's middlewares run on the upgrade request before it is forwarded", async () => {
    const ws = (path: string, middlewares: string[]) => ({
      path,
      target_url: upstream.url,
      enable_websocket: true,
      middlewares,
    });
    const dito = await startDito(
      baseConfig(
        [ws('^/pass', ['greeter']), ws('^/blocked', ['greeter', 'gatekeeper']), ws('^/throws', ['thrower'])],
        parse(fixture.yaml) as object,
      ),
    );
    try {
      const client = await openClient(`ws://127.0.0.1:${dito.port}/pass`);
      assert.equal(upstream.handshakes.at(-1)!.headers['x-greeter-saw'], 'yes');
      client.send('after middlewares');
      assert.equal((await nextMessage(client)).data.toString(), 'after middlewares');
      client.close();
      await closed(client);

      const handshakesBefore = upstream.handshakes.length;
      const blocked = await rawExchange(dito.port, `GET /blocked HTTP/1.1\r\nHost: x\r\n${HANDSHAKE}\r\n`);
      assert.match(blocked, /^HTTP\/1\.1 299 /);
      assert.match(blocked, /x-greeting: hi/i);
      assert.match(blocked, /connection: close/i);
      assert.ok(blocked.endsWith('answered by plugin'));

      const thrown = await rawExchange(dito.port, `GET /throws HTTP/1.1\r\nHost: x\r\n${HANDSHAKE}\r\n`);
      assert.match(thrown, /^HTTP\/1\.1 500 /);
      assert.match(thrown, /"message":"Internal Server Error"/);
      assert.equal(upstream.handshakes.length, handshakesBefore, 'a refused upgrade reached the upstream');
    } finally {
      await dito.stop();
    }
  });

  test('open WebSockets survive a config reload; new ones get the new config', async () => {
    const location = { path: '^/', target_url: upstream.url, enable_websocket: true };
    const dito = await startDito(baseConfig([location]));
    try {
      const client = await openClient(`ws://127.0.0.1:${dito.port}/live`);
      writeFileSync(
        dito.configPath,
        stringify(baseConfig([{ ...location, additional_headers: { 'X-Config': 'second' } }])),
      );
      dito.proc.kill('SIGHUP');
      await waitFor(() => dito.logs.some((entry) => entry.msg === 'config reloaded'));
      // The retired runtime closes once idle; the open WebSocket does not hold it, nor depend on it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      client.send('still here');
      assert.equal((await nextMessage(client)).data.toString(), 'still here');
      const second = await openClient(`ws://127.0.0.1:${dito.port}/new`);
      assert.equal(upstream.handshakes.at(-1)!.headers['x-config'], 'second');
      second.close();
      client.close();
      await Promise.all([closed(second), closed(client)]);
    } finally {
      await dito.stop();
    }
  });

  test('shutdown lets WebSockets work through the drain time, then closes both sides with 1001', async () => {
    const dito = await startDito(
      baseConfig([{ path: '^/', target_url: upstream.url, enable_websocket: true }], {
        shutdown_timeout: '400ms',
      }),
    );
    const client = await openClient(`ws://127.0.0.1:${dito.port}/draining`);
    const upstreamSide = upstream.connections.at(-1)!;
    const clientClosed = closed(client);
    const stoppedAt = Date.now();
    const exit = dito.stop('SIGTERM');
    await waitFor(() => dito.logs.some((entry) => entry.msg === 'shutting down'));
    client.send('during drain');
    assert.equal((await nextMessage(client)).data.toString(), 'during drain');
    const result = await clientClosed;
    assert.equal(result.code, 1001);
    assert.equal((await upstreamSide.closed).code, 1001);
    assert.equal(await exit, 0);
    const took = Date.now() - stoppedAt;
    assert.ok(took >= 350 && took < 5000, `shutdown took ${took} ms`);
    const entry = dito.logs.find((e) => e.msg === 'websocket closed');
    assert.equal(entry?.end, 'shutdown');
  });
});
