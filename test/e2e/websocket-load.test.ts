// WebSocket relaying under load: 1,000 concurrent connections each exchanging 100 messages all
// complete intact, and Dito's memory comes back near its baseline once they are closed (no
// per-connection state left behind). Dito runs in a child process with `--expose-gc`, so the JS
// heap is measured after a full GC; resident memory is reported too, but glibc keeps freed
// pages, so it cannot tell a leak from reuse.
import assert from 'node:assert/strict';
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { WebSocket } from 'ws';
import { baseConfig, writeConfig } from '../helpers/dito.js';
import type { HarnessMeasure } from '../helpers/dito-harness.js';
import { waitFor } from '../helpers/net.js';
import { closed, openClient, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream.js';

const CONNECTIONS = 1000;
const MESSAGES = 100;
const MiB = 1024 * 1024;

/** Opens `count` clients, a bounded number of handshakes at a time (no SYN flood on loopback). */
async function openMany(url: string, count: number, parallel = 100): Promise<WebSocket[]> {
  const clients: WebSocket[] = [];
  for (let start = 0; start < count; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, count - start) }, () => openClient(url));
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

/** One client's conversation: send, await the echo, check it, `MESSAGES` times. */
function converse(client: WebSocket, id: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const expected = (n: number) => `client ${id} message ${n} ${'.'.repeat(n)}`;
    client.on('message', (data: Buffer) => {
      if (data.toString() !== expected(received)) {
        reject(new Error(`client ${id}: message ${received} changed`));
        return;
      }
      received++;
      if (received === MESSAGES) resolve(received);
      else client.send(expected(received));
    });
    client.send(expected(0));
  });
}

describe('WebSocket relaying under load', () => {
  let upstream: WsUpstream;
  let child: ChildProcess;
  let port: number;

  const measure = async (): Promise<HarnessMeasure> => {
    const reply = once(child, 'message');
    child.send('measure');
    return (await reply)[0] as HarnessMeasure;
  };

  before(async () => {
    upstream = await startWsUpstream();
    const config = baseConfig([{ path: '^/', target_url: upstream.url, enable_websocket: true }], {
      logging: { enabled: false },
    });
    const harness = fileURLToPath(new URL('../helpers/dito-harness.js', import.meta.url));
    child = fork(harness, [writeConfig(config)], { execArgv: ['--expose-gc'], stdio: 'ignore' });
    port = ((await once(child, 'message'))[0] as { port: number }).port;
    // Warm up (code compiled, pools filled) before the baseline is taken.
    const warm = await openMany(`ws://127.0.0.1:${port}/warm`, 50);
    await Promise.all(warm.map((client, i) => converse(client, i)));
    for (const client of warm) client.close();
    await Promise.all(warm.map((client) => closed(client)));
  });

  after(async () => {
    if (child !== undefined && child.exitCode === null) {
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await once(child, 'exit');
      clearTimeout(timer);
    }
    await upstream?.close();
  });

  test(`${CONNECTIONS} concurrent connections × ${MESSAGES} messages complete; memory returns near baseline`, async () => {
    await waitFor(async () => (await measure()).websocketsActive === 0);
    const baseline = await measure();
    const started = Date.now();
    const clients = await openMany(`ws://127.0.0.1:${port}/load`, CONNECTIONS);
    const counts = await Promise.all(clients.map((client, i) => converse(client, i)));
    assert.equal(
      counts.reduce((sum, n) => sum + n, 0),
      CONNECTIONS * MESSAGES,
    );
    const elapsed = Date.now() - started;
    const peak = await measure();
    assert.equal(peak.websocketsActive, CONNECTIONS);
    for (const client of clients) client.close(1000);
    await Promise.all(clients.map((client) => closed(client)));
    const done = (await waitFor(async () => {
      const now = await measure();
      return now.websocketsActive === 0 && now.connections === 0 ? now : undefined;
    }, 10_000))!;
    const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
    console.log(
      `# ${CONNECTIONS} × ${MESSAGES} round trips in ${elapsed} ms; Dito heap after GC: baseline ` +
        `${mib(baseline.heapUsed)}, with ${CONNECTIONS} open ${mib(peak.heapUsed)}, after close ` +
        `${mib(done.heapUsed)}; RSS ${mib(baseline.rss)} / ${mib(peak.rss)} / ${mib(done.rss)}`,
    );
    assert.equal(done.statsActive, 0);
    const limit = baseline.heapUsed * 1.1 + 2 * MiB;
    assert.ok(done.heapUsed <= limit, `heap ${mib(done.heapUsed)} stayed above ${mib(limit)}`);
  });
});
