// The upstream silence watch: an entry silent for the limit expires (within one sweep more), one
// that makes progress or leaves never does, one that asks to be kept starts again from zero, and
// the sweep starts again for an entry added after the watch ran empty.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { SilenceEntry, SilenceWatch, type SilenceWatched } from '../../src/proxy/silence-watch.js';

class Exchange implements SilenceWatched {
  readonly entry = new SilenceEntry(this);
  expiries: number[] = [];

  constructor(
    private readonly startedAt: number,
    private keepWatching = 0,
  ) {}

  silenceExpired(): boolean {
    this.expiries.push(performance.now() - this.startedAt);
    if (this.keepWatching === 0) return false;
    this.keepWatching--;
    return true;
  }
}

describe('upstream silence watch', () => {
  test('silent entries expire after the limit, not long after; removed ones never', async () => {
    const watch = new SilenceWatch(100, 20);
    const now = performance.now();
    const silent = new Exchange(now);
    const removed = new Exchange(now);
    watch.add(silent.entry);
    watch.add(removed.entry);
    assert.equal(watch.size, 2);
    await sleep(30);
    watch.remove(removed.entry);
    await sleep(200);
    assert.equal(silent.expiries.length, 1);
    const [after] = silent.expiries;
    assert.ok(after! >= 95 && after! < 190, `expired after ${after} ms`);
    assert.equal(removed.expiries.length, 0);
    assert.equal(watch.size, 0);
    assert.equal(silent.entry.listed, false);
  });

  test('progress (zeroing the count) keeps an entry alive past the limit', async () => {
    const watch = new SilenceWatch(80, 20);
    const busy = new Exchange(performance.now());
    watch.add(busy.entry);
    const until = performance.now() + 300;
    while (performance.now() < until) {
      busy.entry.silentSweeps = 0;
      await sleep(10);
    }
    assert.equal(busy.expiries.length, 0);
    watch.remove(busy.entry);
  });

  test('an entry that is only waiting on its client is watched again from zero', async () => {
    const watch = new SilenceWatch(60, 20);
    const started = performance.now();
    const waiting = new Exchange(started, 1);
    watch.add(waiting.entry);
    await sleep(250);
    assert.equal(waiting.expiries.length, 2, `expiries at ${waiting.expiries.join(', ')} ms`);
    const [first, second] = waiting.expiries;
    assert.ok(second! - first! >= 55, `second expiry ${second! - first!} ms after the first`);
    assert.equal(watch.size, 0);
  });

  test('adding an entry already watched restarts its count and does not list it twice', async () => {
    const watch = new SilenceWatch(60, 20);
    const started = performance.now();
    const retried = new Exchange(started);
    watch.add(retried.entry);
    await sleep(50);
    watch.add(retried.entry);
    assert.equal(watch.size, 1);
    await sleep(200);
    assert.equal(retried.expiries.length, 1);
    assert.ok(retried.expiries[0]! >= 105, `expired ${retried.expiries[0]} ms after the first add`);
    assert.equal(watch.size, 0);
  });

  test('many entries: each expires once; an entry added after the watch ran empty still expires', async () => {
    const watch = new SilenceWatch(40, 10);
    const exchanges = Array.from({ length: 200 }, () => new Exchange(performance.now()));
    for (const e of exchanges) watch.add(e.entry);
    // Half of them leave before the limit.
    for (const e of exchanges.slice(0, 100)) watch.remove(e.entry);
    await sleep(150);
    assert.deepEqual(
      exchanges.map((e) => e.expiries.length),
      [...Array<number>(100).fill(0), ...Array<number>(100).fill(1)],
    );
    assert.equal(watch.size, 0);
    // The sweep stopped with the watch empty; a new entry starts it again.
    const late = new Exchange(performance.now());
    watch.add(late.entry);
    await sleep(120);
    assert.equal(late.expiries.length, 1);
  });
});
