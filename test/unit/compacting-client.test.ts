// The upstream client's request queue stays empty between requests (src/transport/compacting-client.ts):
// requests over one keep-alive connection against a real server, in sequence and queued behind each
// other, with the queue's length read through undici's own symbols. The first test is the premise:
// undici's plain Client grows it to ~257 slots; should a later undici stop doing that, the subclass
// can go.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'undici';
import { parseConfigText } from '../../src/config/load.js';
import { compactsQueue, QueueCompactingClient } from '../../src/transport/compacting-client.js';
import { UndiciClient, undiciSymbols } from '../../src/transport/undici.js';
import { UpstreamClients } from '../../src/transport/upstream-clients.js';

const require = createRequire(import.meta.url);
const kQueue = undiciSymbols.kQueue as symbol;
const { kClients } = require('undici/lib/dispatcher/pool-base.js') as { kClients: symbol };

const queueLength = (client: Client): number =>
  ((client as unknown as Record<symbol, unknown[]>)[kQueue] ?? []).length;

let server: Server;
let origin: string;

before(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(req.url));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** `count` GET requests one after another; returns the longest queue seen after each. */
async function sequential(client: Client, count: number): Promise<number> {
  let longest = 0;
  for (let i = 0; i < count; i++) {
    const { statusCode, body } = await client.request({ path: `/r${i}`, method: 'GET' });
    assert.equal(statusCode, 200);
    assert.equal(await body.text(), `/r${i}`);
    longest = Math.max(longest, queueLength(client));
  }
  return longest;
}

describe('queue-compacting upstream client', () => {
  it("premise: undici's own Client keeps finished requests' slots until 256 have piled up", async () => {
    const client = new UndiciClient(origin, { pipelining: 1 });
    try {
      assert.ok((await sequential(client, 300)) > 250);
    } finally {
      await client.close();
    }
  });

  it('keeps the queue at one slot over hundreds of keep-alive requests', async () => {
    assert.equal(compactsQueue, true, "undici's internals changed: the compaction is off");
    const client = new QueueCompactingClient(origin, { pipelining: 1 });
    try {
      assert.equal(await sequential(client, 600), 1);
    } finally {
      await client.close();
    }
  });

  it('loses and reorders nothing when requests queue behind one connection', async () => {
    const client = new QueueCompactingClient(origin, { pipelining: 1 });
    try {
      for (let round = 0; round < 20; round++) {
        const paths = Array.from({ length: 40 }, (_, i) => `/q${round}-${i}`);
        const bodies = await Promise.all(
          paths.map(async (path) => {
            // Some with a body, so that writes of different lengths interleave.
            const body = path.endsWith('7') ? 'x'.repeat(1000) : undefined;
            const response = await client.request({ path, method: body ? 'POST' : 'GET', body });
            return response.body.text();
          }),
        );
        assert.deepEqual(bodies, paths);
        assert.ok(queueLength(client) <= 40);
      }
      assert.equal(await sequential(client, 3), 1);
    } finally {
      await client.close();
    }
  });

  it("is what every upstream pool's connections are made of", async () => {
    const config = parseConfigText(
      `locations:\n  - path: "^/"\n    target_url: ${origin}\n`,
      '/etc/dito/config.yaml',
    ).config;
    const clients = new UpstreamClients();
    try {
      const { pool } = clients.get(new URL(origin), config.locations[0]!.transport);
      const { body } = await pool.request({ path: '/pooled', method: 'GET' });
      assert.equal(await body.text(), '/pooled');
      const made = (pool as unknown as Record<symbol, unknown[]>)[kClients] ?? [];
      assert.ok(made.length > 0);
      for (const client of made) assert.ok(client instanceof QueueCompactingClient);
    } finally {
      await clients.close();
    }
  });
});
