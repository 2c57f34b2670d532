// Pools across hot reloads: consistent hashing moves only the removed target's keys, and the
// health state of kept targets carries over with its check timers (handed over, not duplicated).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito, writeConfig } from '../helpers/dito.js';
import { request, sleep, waitFor } from '../helpers/net.js';
import { hammer, HEALTH_PATH, type NamedUpstream, startNamedUpstream } from '../helpers/named-upstream.js';

describe('upstream pools across reloads', () => {
  let a: NamedUpstream;
  let b: NamedUpstream;
  let c: NamedUpstream;
  let dito: DitoProcess;
  const check = { path: HEALTH_PATH, interval: '100ms', timeout: '100ms', unhealthy_threshold: 1 };
  const hashed = (targets: string[]) => ({
    path: '^/by-user',
    targets,
    load_balancing: { policy: 'hash', hash_on: 'header:X-User' },
  });
  const checked = () => ({ path: '^/checked', targets: [a.url, b.url], health_check: check });
  const config = (locations: object[]) => baseConfig(locations, { metrics: { enabled: true } });

  before(async () => {
    [a, b, c] = await Promise.all([
      startNamedUpstream('a'),
      startNamedUpstream('b'),
      startNamedUpstream('c'),
    ]);
    dito = await startDito(config([hashed([a.url, b.url, c.url]), checked()]));
  });

  after(async () => {
    await dito?.stop();
    await Promise.all([a, b, c].map((u) => u?.stop()));
  });

  async function reload(locations: object[]): Promise<void> {
    const before = dito.logs.filter((l) => l.msg === 'config reloaded').length;
    writeConfig(config(locations), dito.dir);
    dito.proc.kill('SIGHUP');
    await waitFor(() => dito.logs.filter((l) => l.msg === 'config reloaded').length > before, 5000);
  }

  /** Which upstream each of `keys` users reaches. */
  async function placement(keys: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < keys; i++) {
      const reply = await request(`${dito.url}/by-user`, { headers: { 'x-user': `user-${i}` } });
      out.push(reply.text);
    }
    return out;
  }

  const upGauge = async (target: NamedUpstream) => {
    const text = (await request(`${dito.url}/metrics`)).text;
    const prefix = `dito_upstream_target_up{path="^/checked",target="${target.url}/"}`;
    const line = text.split('\n').find((l) => l.startsWith(prefix));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  test('removing one of 3 targets moves only its keys (about 1/3)', async () => {
    const keys = 300;
    const first = await placement(keys);
    for (const name of ['a', 'b', 'c']) {
      const share = first.filter((n) => n === name).length / keys;
      assert.ok(share > 0.2 && share < 0.47, `${name} holds ${share} of the keys`);
    }
    await reload([hashed([a.url, c.url]), checked()]);
    const second = await placement(keys);
    let moved = 0;
    for (let i = 0; i < keys; i++) {
      if (first[i] === 'b') {
        assert.notEqual(second[i], 'b');
        moved++;
      } else {
        assert.equal(second[i], first[i], `user-${i} moved from ${first[i]} to ${second[i]}`);
      }
    }
    assert.ok(moved / keys > 0.2 && moved / keys < 0.47, `${moved} of ${keys} keys moved`);
  });

  test('a down target stays down across a reload; its health checks are handed over, not doubled', async () => {
    b.healthStatus = 500;
    await waitFor(async () => (await upGauge(b)) === 0, 3000, 20);
    const servedBefore = b.served;
    await reload([hashed([a.url, c.url]), checked(), { path: '^/other', target_url: c.url }]);
    // At once after the swap: the new runtime knows b is down (no request reaches it).
    const tally = await hammer(dito.url, '/checked', 40, { concurrency: 4 });
    assert.equal(tally.statuses.get(200), 40);
    assert.equal(b.served, servedBefore);
    assert.equal(await upGauge(b), 0);
    // One checker per target after the old runtime retired: ~10 checks a second, not ~20.
    await sleep(300);
    const checksBefore = a.checks;
    await sleep(1000);
    const rate = a.checks - checksBefore;
    assert.ok(rate >= 6 && rate <= 14, `${rate} checks of a in one second at a 100 ms interval`);

    b.healthStatus = 200;
    await waitFor(async () => (await upGauge(b)) === 1, 3000, 20);
  });

  test('a target removed by a reload is no longer checked', async () => {
    await reload([hashed([a.url, c.url]), { path: '^/checked', targets: [a.url], health_check: check }]);
    await sleep(400);
    const checksBefore = b.checks;
    await sleep(500);
    assert.equal(b.checks, checksBefore);
    assert.equal(await upGauge(b), undefined, 'its up series is gone');
  });
});
