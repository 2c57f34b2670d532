// The request_timeout queue: entries expire in order at their deadline, removed ones never do,
// an expiry may queue a new entry, and random add/remove sequences keep the list consistent.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { type DeadlineEntry, DeadlineQueue } from '../../src/proxy/deadline-queue.js';

class Entry implements DeadlineEntry {
  deadlineAt = 0;
  listPrev: DeadlineEntry | undefined = undefined;
  listNext: DeadlineEntry | undefined = undefined;
  listed = false;
  expiredAt: number | undefined;

  constructor(
    readonly name: string,
    private readonly onExpired?: (entry: Entry) => void,
  ) {}

  deadlineExpired(): void {
    this.expiredAt = performance.now();
    this.onExpired?.(this);
  }
}

describe('deadline queue', () => {
  test('entries expire in order, not before their deadline; removed ones never', async () => {
    const queue = new DeadlineQueue(60);
    const expired: string[] = [];
    const make = (name: string) => new Entry(name, (e) => expired.push(e.name));
    const a = make('a');
    const b = make('b');
    const c = make('c');
    const startA = performance.now();
    queue.add(a, startA);
    await sleep(20);
    const startB = performance.now();
    queue.add(b, startB);
    queue.add(c, performance.now());
    queue.remove(b);
    assert.equal(queue.size, 2);
    await sleep(150);
    assert.deepEqual(expired, ['a', 'c']);
    assert.ok(a.expiredAt! - startA >= 59, `a expired after ${a.expiredAt! - startA} ms`);
    assert.equal(b.expiredAt, undefined);
    assert.equal(queue.size, 0);
    assert.equal(a.listed, false);
  });

  test('an expiry that queues a new entry: that one expires in turn', async () => {
    const queue = new DeadlineQueue(30);
    const expired: string[] = [];
    const second = new Entry('second', (e) => expired.push(e.name));
    const first = new Entry('first', (e) => {
      expired.push(e.name);
      queue.add(second, performance.now());
    });
    queue.add(first, performance.now());
    await sleep(120);
    assert.deepEqual(expired, ['first', 'second']);
  });

  test('removing twice, or an entry never queued, is harmless', () => {
    const queue = new DeadlineQueue(1000);
    const a = new Entry('a');
    queue.remove(a);
    queue.add(a, performance.now());
    queue.remove(a);
    queue.remove(a);
    assert.equal(queue.size, 0);
  });

  test('any sequence of adds and removes leaves exactly the queued entries, in order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(9)), { maxLength: 60 }), (ops) => {
        // A long duration: nothing expires while the property runs; the timer is unreferenced.
        const queue = new DeadlineQueue(3_600_000);
        const entries = Array.from({ length: 10 }, (_, i) => new Entry(String(i)));
        const model: Entry[] = [];
        for (const [add, index] of ops) {
          const entry = entries[index]!;
          if (add && !entry.listed) {
            queue.add(entry, 0);
            model.push(entry);
          } else if (!add) {
            queue.remove(entry);
            const at = model.indexOf(entry);
            if (at >= 0) model.splice(at, 1);
          }
        }
        assert.equal(queue.size, model.length);
        for (const entry of model) queue.remove(entry);
        assert.equal(queue.size, 0);
      }),
    );
  });
});
