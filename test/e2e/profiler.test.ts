// `--enable-profiler` (contract section 2): a debug listener on 127.0.0.1:6060 serving a V8 CPU
// profile and a heap snapshot; without the flag nothing listens there.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito } from '../helpers/dito.js';
import { request, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const PROFILER = 'http://127.0.0.1:6060';

/** Resolves true when something accepts a TCP connection on 127.0.0.1:port. */
async function isOpen(port: number): Promise<boolean> {
  const socket = connect(port, '127.0.0.1');
  try {
    await Promise.race([once(socket, 'connect'), once(socket, 'error').then(([err]) => Promise.reject(err))]);
    return true;
  } catch {
    return false;
  } finally {
    socket.destroy();
  }
}

describe('profiler', () => {
  let upstream: Upstream;

  before(async () => {
    upstream = await startUpstream();
    assert.equal(await isOpen(6060), false, 'port 6060 is already in use on this machine: cannot test');
  });

  after(async () => {
    await upstream?.close();
  });

  test('without --enable-profiler the profiler port is not open', async () => {
    const dito = await startDito(baseConfig([{ path: '^/', target_url: upstream.url }]));
    try {
      assert.equal((await request(`${dito.url}/x`)).status, 200);
      assert.equal(await isOpen(6060), false);
    } finally {
      await dito.stop();
    }
  });

  describe('with --enable-profiler', () => {
    let dito: DitoProcess;

    before(async () => {
      dito = await startDito(baseConfig([{ path: '^/', target_url: upstream.url }]), {
        args: ['--enable-profiler'],
      });
    });

    after(async () => {
      await dito?.stop();
    });

    test('a 1-second CPU profile is a V8 .cpuprofile', async () => {
      const started = Date.now();
      // Traffic while profiling so the profile has something to show.
      const profile = request(`${PROFILER}/debug/pprof/profile?seconds=1`);
      for (let i = 0; i < 20; i++) await request(`${dito.url}/load/${i}`);
      const reply = await profile;
      assert.equal(reply.status, 200);
      assert.ok(Date.now() - started >= 900, 'the capture lasts the seconds asked for');
      assert.equal(reply.headers['content-type'], 'application/json');
      assert.match(String(reply.headers['content-disposition']), /filename="dito-.*\.cpuprofile"/);
      const cpu = reply.json<{
        nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
        startTime: number;
        endTime: number;
        samples: number[];
        timeDeltas: number[];
      }>();
      assert.ok(Array.isArray(cpu.nodes) && cpu.nodes.length > 0);
      assert.equal(typeof cpu.nodes[0]!.id, 'number');
      assert.equal(typeof cpu.nodes[0]!.callFrame.functionName, 'string');
      assert.ok(cpu.endTime - cpu.startTime >= 900_000, 'start/end in microseconds, about 1 s apart');
      assert.ok(Array.isArray(cpu.samples) && cpu.samples.length > 0);
      assert.equal(cpu.samples.length, cpu.timeDeltas.length);
      const ids = new Set(cpu.nodes.map((n) => n.id));
      assert.ok(
        cpu.samples.every((id) => ids.has(id)),
        'every sample names a node',
      );
    });

    test('a heap snapshot is a V8 .heapsnapshot', async () => {
      const reply = await request(`${PROFILER}/debug/pprof/heap`, { timeoutMs: 60_000 });
      assert.equal(reply.status, 200);
      assert.match(String(reply.headers['content-disposition']), /filename="dito-.*\.heapsnapshot"/);
      const heap = reply.json<{
        snapshot: { meta: { node_fields: string[]; edge_fields: string[] }; node_count: number };
        nodes: number[];
        edges: number[];
        strings: string[];
      }>();
      const fields = heap.snapshot.meta.node_fields;
      assert.ok(fields.includes('type') && fields.includes('name') && fields.includes('self_size'));
      assert.equal(heap.nodes.length, heap.snapshot.node_count * fields.length);
      assert.ok(heap.edges.length > 0 && heap.strings.length > 0);
    });

    test('bad input: seconds out of range, unknown path, other methods', async () => {
      for (const seconds of ['0', '-1', 'abc', '301']) {
        const reply = await request(`${PROFILER}/debug/pprof/profile?seconds=${seconds}`);
        assert.equal(reply.status, 400, `seconds=${seconds}`);
        assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
      }
      assert.equal((await request(`${PROFILER}/debug/pprof/goroutine`)).status, 404);
      assert.equal((await request(`${PROFILER}/debug/pprof/heap`, { method: 'POST' })).status, 405);
      const index = await request(`${PROFILER}/debug/pprof/`);
      assert.equal(index.status, 200);
      assert.match(index.text, /\/debug\/pprof\/profile\?seconds=N/);
    });

    test('one capture at a time: a second one meanwhile gets 503', async () => {
      const started = () => dito.logs.filter((l) => l.msg === 'CPU profile started').length;
      const before = started();
      const first = request(`${PROFILER}/debug/pprof/profile?seconds=1`);
      await waitFor(() => started() > before);
      const second = await request(`${PROFILER}/debug/pprof/profile?seconds=0.5`);
      assert.equal(second.status, 503);
      assert.equal((await first).status, 200);
    });

    test('the proxy keeps serving on its own port', async () => {
      assert.equal((await request(`${dito.url}/still`)).status, 200);
    });
  });
});
