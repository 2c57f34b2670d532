// Upstream pools through the front door, with 3 real upstreams: weighted round robin, least
// outstanding, consistent hashing and sticky cookies, health checks taking a stopped upstream out
// and back, retries (and the POSTs never retried), all-down 503, circuit breaking, Retry-After.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { freePort, request, sleep, waitFor } from '../helpers/net.js';
import { hammer, HEALTH_PATH, type NamedUpstream, startNamedUpstream } from '../helpers/named-upstream.js';
import { closed, nextMessage, openClient, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream.js';

describe('upstream pools', () => {
  let a: NamedUpstream;
  let b: NamedUpstream;
  let c: NamedUpstream;
  let dito: DitoProcess;
  const ups = () => [a, b, c];

  before(async () => {
    [a, b, c] = await Promise.all([
      startNamedUpstream('a'),
      startNamedUpstream('b'),
      startNamedUpstream('c'),
    ]);
    dito = await startDito(
      baseConfig([
        {
          path: '^/weighted',
          targets: [
            { url: a.url, weight: 1 },
            { url: b.url, weight: 2 },
            { url: c.url, weight: 3 },
          ],
        },
        { path: '^/least', targets: [a.url, b.url, c.url], load_balancing: { policy: 'least_outstanding' } },
        { path: '^/two', targets: [a.url, b.url, c.url], load_balancing: { policy: 'random_two' } },
        {
          path: '^/by-user',
          targets: [a.url, b.url, c.url],
          load_balancing: { policy: 'hash', hash_on: 'header:X-User' },
        },
        {
          path: '^/sticky',
          targets: [a.url, b.url, c.url],
          load_balancing: { policy: 'hash', hash_on: 'cookie:dito_session' },
        },
        { path: '^/fragile', targets: [a.url, b.url, c.url], outlier_detection: { consecutive_failures: 0 } },
      ]),
    );
  });

  after(async () => {
    await dito?.stop();
    await Promise.all(ups().map((u) => u?.stop()));
  });

  afterEach(() => {
    for (const u of ups()) {
      u.behaviour = { kind: 'ok' };
      u.served = 0;
      u.bodies = [];
    }
  });

  test('weighted round robin: 3,000 requests split within 5% of the weights 1:2:3', async () => {
    const tally = await hammer(dito.url, '/weighted', 3000, { concurrency: 16 });
    assert.equal(tally.errors, 0);
    assert.equal(tally.statuses.get(200), 3000);
    const weights = { a: 1, b: 2, c: 3 };
    for (const [name, weight] of Object.entries(weights)) {
      const expected = (3000 * weight) / 6;
      const got = tally.byName.get(name) ?? 0;
      assert.ok(
        Math.abs(got - expected) <= expected * 0.05,
        `${name}: ${got} requests, expected ~${expected}`,
      );
    }
    // Counted at the upstreams too: every request reached exactly one of them.
    assert.equal(a.served + b.served + c.served, 3000);
  });

  test('least outstanding prefers the idle targets when one is slow', async () => {
    a.behaviour = { kind: 'slow', delayMs: 300 };
    const tally = await hammer(dito.url, '/least', 300, { concurrency: 6 });
    assert.equal(tally.statuses.get(200), 300);
    const slow = tally.byName.get('a') ?? 0;
    // Round robin would give the slow one 100; least outstanding only what it can finish.
    assert.ok(slow < 300 * 0.1, `slow target got ${slow} of 300`);
  });

  test('random of two spreads over every target and shuns the slow one', async () => {
    const spread = await hammer(dito.url, '/two', 600, { concurrency: 8 });
    for (const name of ['a', 'b', 'c']) {
      const got = spread.byName.get(name) ?? 0;
      assert.ok(got > 100, `${name} got ${got} of 600`);
    }
    a.behaviour = { kind: 'slow', delayMs: 300 };
    const tally = await hammer(dito.url, '/two', 300, { concurrency: 6 });
    assert.ok((tally.byName.get('a') ?? 0) < 300 * 0.15, `slow target got ${tally.byName.get('a')} of 300`);
  });

  test('hashing on a header: the same user always reaches the same target', async () => {
    const tally = await hammer(dito.url, '/by-user', 100, { headers: () => ({ 'x-user': 'alice' }) });
    assert.equal(tally.byName.size, 1, `alice was spread over ${[...tally.byName.keys()].join(', ')}`);
    assert.equal([...tally.byName.values()][0], 100);
  });

  test('sticky cookie: minted on the first answer, then every request reaches the same target', async () => {
    const first = await request(`${dito.url}/sticky`);
    assert.equal(first.status, 200);
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    assert.match(setCookie, /^dito_session=[A-Za-z0-9_-]{16}; Path=\/; HttpOnly; SameSite=Lax$/);
    const cookie = setCookie.split(';')[0]!;
    const tally = await hammer(dito.url, '/sticky', 100, { headers: () => ({ cookie: `x=1; ${cookie}` }) });
    assert.deepEqual([...tally.byName.keys()], [first.text]);
    const again = await request(`${dito.url}/sticky`, { headers: { cookie } });
    assert.equal(again.headers['set-cookie'], undefined, 'no new cookie when one is sent');
  });

  test('a reset GET is retried on another target; a POST whose body was sent is never retried', async () => {
    for (const u of ups()) u.behaviour = { kind: 'reset' };
    const get = await request(`${dito.url}/fragile`);
    assert.equal(get.status, 502);
    assert.equal(a.served + b.served + c.served, 3, 'the GET: first try and 2 retries, one per target');
    assert.deepEqual(new Set(ups().map((u) => u.served)), new Set([1]));

    for (const u of ups()) u.served = 0;
    const post = await request(`${dito.url}/fragile`, { method: 'POST', body: 'x'.repeat(5000) });
    assert.equal(post.status, 502);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(a.served + b.served + c.served, 1, 'the POST reached one upstream, once');
    const fragile = () => dito.logs.filter((l) => l.msg === 'request' && l.location === '^/fragile');
    const logged = (await waitFor(() => (fragile().length >= 2 ? fragile() : undefined), 3000))!;
    assert.equal(logged.at(-2)?.retries, 2, 'the GET retries are in the access log');
    assert.equal(logged.at(-1)?.retries, undefined);
  });
});

describe('upstream pools: health, failover and limits', () => {
  let a: NamedUpstream;
  let b: NamedUpstream;
  let c: NamedUpstream;
  let dito: DitoProcess;
  let deadPort: number;
  const INTERVAL_MS = 100;
  const UNHEALTHY = 2;

  before(async () => {
    [a, b, c] = await Promise.all([
      startNamedUpstream('a'),
      startNamedUpstream('b'),
      startNamedUpstream('c'),
    ]);
    deadPort = await freePort();
    const check = {
      path: HEALTH_PATH,
      interval: `${INTERVAL_MS}ms`,
      timeout: `${INTERVAL_MS}ms`,
      healthy_threshold: 2,
      unhealthy_threshold: UNHEALTHY,
    };
    dito = await startDito(
      baseConfig(
        [
          { path: '^/checked', targets: [a.url, b.url, c.url], health_check: check },
          { path: '^/dead-first', targets: [`http://127.0.0.1:${deadPort}`, a.url] },
          {
            path: '^/limited',
            target_url: b.url,
            circuit_breaker: { max_requests: 1 },
          },
          {
            path: '^/patient',
            target_url: c.url,
            retries: { attempts: 1, timeout: '5s', on: [503] },
          },
          {
            path: '^/hasty',
            target_url: c.url,
            retries: { attempts: 1, timeout: '300ms', on: [503] },
          },
        ],
        { metrics: { enabled: true } },
      ),
    );
  });

  after(async () => {
    await dito?.stop();
    await Promise.all([a, b, c].map((u) => u?.stop()));
  });

  /** `dito_upstream_target_up` of a target of `/checked`, read at once (logs are flushed later). */
  const up = async (target: NamedUpstream): Promise<number | undefined> => {
    const text = (await request(`${dito.url}/metrics`)).text;
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`dito_upstream_target_up{path="^/checked",target="${target.url}/"}`));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  test('a POST is retried on another target when the first one refuses the connection, body intact', async () => {
    const body = 'y'.repeat(100_000);
    for (let i = 0; i < 4; i++) {
      const reply = await request(`${dito.url}/dead-first`, { method: 'POST', body });
      assert.equal(reply.status, 200);
      assert.equal(reply.text, 'a');
    }
    assert.deepEqual(a.bodies, [100_000, 100_000, 100_000, 100_000]);
  });

  test('a stopped upstream: no client error (GETs retried meanwhile), out after the threshold, back after it recovers', async () => {
    await waitFor(() => b.checks >= 2, 3000);
    let errors = 0;
    let sent = 0;
    let running = true;
    const load = (async () => {
      while (running) {
        const reply = await request(`${dito.url}/checked`).catch(() => undefined);
        sent++;
        if (reply?.status !== 200) errors++;
      }
    })();
    await waitFor(() => sent > 20, 3000);
    const stoppedAt = Date.now();
    await b.stop();
    await waitFor(async () => (await up(b)) === 0, 3000, 10);
    const outAfter = Date.now() - stoppedAt;
    // At most unhealthy_threshold x interval, plus one check's timeout and scheduling slack.
    assert.ok(outAfter <= UNHEALTHY * INTERVAL_MS + INTERVAL_MS + 150, `taken out after ${outAfter} ms`);
    const servedBeforeRestart = b.served;
    await b.start();
    await waitFor(async () => (await up(b)) === 1, 3000, 10);
    await waitFor(() => b.served > servedBeforeRestart, 3000);
    running = false;
    await load;
    await waitFor(() => dito.logs.some((l) => l.msg === 'upstream target back in service'), 2000);
    assert.ok(dito.logs.some((l) => l.msg === 'upstream target out of service' && l.target === `${b.url}/`));
    assert.equal(errors, 0, `${errors} of ${sent} requests failed`);
    const retried = dito.logs.filter((l) => l.msg === 'request' && typeof l.retries === 'number');
    assert.ok(retried.every((l) => l.status === 200));
  });

  test('every target down → 503 JSON within the check interval', async () => {
    await Promise.all([a.stop(), b.stop(), c.stop()]);
    const stoppedAt = Date.now();
    try {
      const reply = (await waitFor(async () => {
        const r = await request(`${dito.url}/checked`);
        return r.status === 503 ? r : undefined;
      }, 3000))!;
      const elapsed = Date.now() - stoppedAt;
      assert.ok(elapsed <= UNHEALTHY * INTERVAL_MS + INTERVAL_MS + 200, `503 after ${elapsed} ms`);
      assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
      const body = reply.json<{ error: { code: number; message: string; type: string } }>();
      assert.deepEqual(body.error, {
        code: 503,
        message: 'Service Unavailable',
        type: 'DITO_ERR_NO_HEALTHY_UPSTREAM',
      });
      const metrics = await request(`${dito.url}/metrics`);
      assert.match(
        metrics.text,
        /dito_upstream_target_up\{path="\^\/checked",target="http:\/\/127\.0\.0\.1:\d+\/"\} 0/,
      );
    } finally {
      await Promise.all([a.start(), b.start(), c.start()]);
    }
    await waitFor(async () => (await request(`${dito.url}/checked`)).status === 200, 3000);
  });

  test('circuit breaker: over max_requests in flight → 503 JSON', async () => {
    b.behaviour = { kind: 'slow', delayMs: 300 };
    try {
      const [first, second] = await Promise.all([
        request(`${dito.url}/limited`),
        new Promise((resolve) => setTimeout(resolve, 50)).then(() => request(`${dito.url}/limited`)),
      ]);
      assert.equal(first.status, 200);
      assert.equal(second.status, 503);
      assert.equal(second.json<{ error: { type: string } }>().error.type, 'DITO_ERR_CIRCUIT_OPEN');
    } finally {
      b.behaviour = { kind: 'ok' };
    }
  });

  test('503 with Retry-After: waited for within the retry timeout, passed on beyond it', async () => {
    c.behaviour = { kind: 'status', status: 503, headers: { 'retry-after': '1' } };
    const recover = setTimeout(() => (c.behaviour = { kind: 'ok' }), 200);
    try {
      const started = Date.now();
      const patient = await request(`${dito.url}/patient`);
      assert.equal(patient.status, 200);
      assert.ok(Date.now() - started >= 950, 'the retry waited for Retry-After');

      c.behaviour = { kind: 'status', status: 503, headers: { 'retry-after': '1' } };
      const servedBefore = c.served;
      const hasty = await request(`${dito.url}/hasty`);
      assert.equal(hasty.status, 503);
      assert.equal(hasty.text, 'c', "the upstream's own answer");
      assert.equal(c.served - servedBefore, 1, 'not retried: Retry-After is past the retry timeout');
    } finally {
      clearTimeout(recover);
      c.behaviour = { kind: 'ok' };
    }
  });

  test('per-target metrics: requests, retries and up', async () => {
    const text = (await request(`${dito.url}/metrics`)).text;
    assert.match(
      text,
      /dito_upstream_target_requests_total\{path="\^\/checked",target="http:\/\/127\.0\.0\.1:\d+\/"\} [1-9]/,
    );
    assert.match(
      text,
      /dito_upstream_target_up\{path="\^\/dead-first",target="http:\/\/127\.0\.0\.1:\d+\/"\} 1/,
    );
    assert.match(
      text,
      /dito_upstream_target_retries_total\{path="\^\/dead-first",target="http:\/\/127\.0\.0\.1:\d+\/"\} [1-9]/,
    );
    assert.match(
      text,
      /dito_upstream_target_errors_total\{path="\^\/dead-first",target="[^"]+",kind="connect"\} [1-9]/,
    );
    assert.match(
      text,
      /dito_upstream_target_duration_seconds_count\{path="\^\/checked",target="[^"]+"\} [1-9]/,
    );
  });
});

describe('upstream pools: WebSocket upgrades', () => {
  let first: WsUpstream;
  let second: WsUpstream;
  let dito: DitoProcess;
  let deadPort: number;

  before(async () => {
    [first, second] = await Promise.all([startWsUpstream(), startWsUpstream()]);
    deadPort = await freePort();
    dito = await startDito(
      baseConfig([
        { path: '^/ws', targets: [first.url, second.url], enable_websocket: true },
        {
          path: '^/down',
          targets: [`ws://127.0.0.1:${deadPort}`],
          enable_websocket: true,
          health_check: { path: '/', interval: '100ms', timeout: '100ms', unhealthy_threshold: 1 },
        },
      ]),
    );
  });

  after(async () => {
    await dito?.stop();
    await Promise.all([first?.close(), second?.close()]);
  });

  test('upgrades are balanced over the targets and relay both ways', async () => {
    const wsUrl = dito.url.replace('http:', 'ws:');
    for (let i = 0; i < 4; i++) {
      const socket = await openClient(`${wsUrl}/ws`);
      const reply = nextMessage(socket);
      socket.send(`hello ${i}`);
      assert.equal((await reply).data.toString(), `hello ${i}`);
      socket.close();
      await closed(socket);
    }
    assert.equal(first.handshakes.length, 2);
    assert.equal(second.handshakes.length, 2);
  });

  test('no healthy target → the upgrade gets 503 JSON', async () => {
    await sleep(300);
    const reply = await request(`${dito.url}/down`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    assert.equal(reply.status, 503);
    assert.equal(reply.json<{ error: { type: string } }>().error.type, 'DITO_ERR_NO_HEALTHY_UPSTREAM');
  });
});
