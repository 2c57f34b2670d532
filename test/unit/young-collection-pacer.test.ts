// The pacer that collects the young generation every PACE_BYTES of body relayed
// (src/proxy/young-collection-pacer.ts): it really runs a young-generation collection, only when
// the count passes the pace, a full one when the heap or the memory outside it has grown, and
// without leaving V8's `gc` function where plugins or anyone else could call it. Its effect on
// memory is measured in the bench (docs/benchmark.md items 13 and 23).
import assert from 'node:assert/strict';
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { describe, test } from 'node:test';
import {
  countRelayedBytes,
  FULL_COLLECTION_AFTER_EXTERNAL_GROWTH,
  FULL_COLLECTION_AFTER_GROWTH,
  PACE_BYTES,
} from '../../src/proxy/young-collection-pacer.js';

/** Collections of `kind` V8 reports while `work` runs (plus any it ran on its own). */
async function collectionsDuring(kind: number, work: () => void): Promise<number> {
  let count = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
      if (detail?.kind === kind) count++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  work();
  await sleep(100); // gc entries are delivered asynchronously
  observer.disconnect();
  return count;
}

/** `bytes` of 120 KiB buffers outside the heap, as upstream socket reads make them. */
function readBuffers(bytes: number): Buffer[] {
  const piece = 120 * 1024;
  return Array.from({ length: Math.ceil(bytes / piece) }, () => Buffer.allocUnsafeSlow(piece));
}

describe('young collection pacer', () => {
  test('does nothing until the count passes the pace, then collects once and starts over', () => {
    const step = 64 * 1024;
    let collected = 0;
    for (let relayed = step; relayed < PACE_BYTES; relayed += step) if (countRelayedBytes(step)) collected++;
    assert.equal(collected, 0);
    assert.equal(countRelayedBytes(step), true); // exactly PACE_BYTES now
    assert.equal(countRelayedBytes(PACE_BYTES - 1), false);
    assert.equal(countRelayedBytes(1), true);
  });

  test('each pass runs a young-generation collection', async () => {
    const passes = 10;
    const collections = await collectionsDuring(constants.NODE_PERFORMANCE_GC_MINOR, () => {
      for (let i = 0; i < passes; i++) assert.equal(countRelayedBytes(PACE_BYTES), true);
    });
    assert.ok(collections >= passes, `${collections} young collections for ${passes} passes`);
  });

  test('runs a full collection once the heap has grown by FULL_COLLECTION_AFTER_GROWTH', async () => {
    const pass = () => assert.equal(countRelayedBytes(PACE_BYTES), true);
    pass(); // the lowest heap so far, before the growth
    const held: number[][] = [];
    const major = constants.NODE_PERFORMANCE_GC_MAJOR;
    while (held.length * 1024 * 8 < FULL_COLLECTION_AFTER_GROWTH * 1.5)
      held.push(new Array(1024).fill(held.length));
    await sleep(200); // any collection V8 started on its own while the heap grew is over
    const grown = await collectionsDuring(major, pass);
    assert.ok(grown >= 1, `${grown} full collections after the heap grew`);
    assert.equal(await collectionsDuring(major, () => [1, 2, 3].forEach(pass)), 0);
    held.length = 0;
  });

  test('runs a full collection once the memory outside the heap has grown', async () => {
    const pass = () => assert.equal(countRelayedBytes(PACE_BYTES), true);
    pass(); // the lowest external memory so far, before the growth
    // Buffers as socket reads make them (outside the heap), held as promoted in-flight pieces
    // would be: the heap itself grows by a few KiB only.
    const held = readBuffers(FULL_COLLECTION_AFTER_EXTERNAL_GROWTH * 1.5);
    await sleep(200);
    const major = constants.NODE_PERFORMANCE_GC_MAJOR;
    const grown = await collectionsDuring(major, pass);
    assert.ok(grown >= 1, `${grown} full collections after external memory grew`);
    // The full collection's level is the new lowest: the held buffers trigger nothing more.
    assert.equal(await collectionsDuring(major, () => [1, 2, 3].forEach(pass)), 0);
    held.length = 0;
  });

  test('where much is live outside the heap, smaller ups and downs start no full collection', async () => {
    const pass = () => assert.equal(countRelayedBytes(PACE_BYTES), true);
    const major = constants.NODE_PERFORMANCE_GC_MAJOR;
    // 64 MiB live, as many large bodies in flight would be: after the full collection this starts,
    // the lowest is ~64 MiB, and growth up to half of it is what is live going up and down.
    const live = readBuffers(8 * FULL_COLLECTION_AFTER_EXTERNAL_GROWTH);
    await sleep(200);
    assert.ok((await collectionsDuring(major, pass)) >= 1, 'the first growth collects');
    const more = readBuffers(2 * FULL_COLLECTION_AFTER_EXTERNAL_GROWTH);
    await sleep(200);
    assert.equal(await collectionsDuring(major, pass), 0, '16 MiB over 64 MiB live');
    const evenMore = readBuffers(4 * FULL_COLLECTION_AFTER_EXTERNAL_GROWTH);
    await sleep(200);
    assert.ok((await collectionsDuring(major, pass)) >= 1, '48 MiB over 64 MiB live');
    live.length = 0;
    more.length = 0;
    evenMore.length = 0;
  });

  test('leaves no gc function behind', { skip: process.execArgv.includes('--expose-gc') }, () => {
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
    assert.equal(runInNewContext('typeof gc'), 'undefined');
  });
});
