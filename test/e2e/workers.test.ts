// `workers: 2`: one port served by two processes, SIGHUP reloading every worker, a killed worker
// restarted, metrics summed over workers, SIGTERM draining a slow request, one-line start errors.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { baseConfig, type DitoProcess, runDitoToExit, startDito, writeConfig } from '../helpers/dito.js';
import { request, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

/** Sum of `http_requests_total` series whose labels contain `labelText`. */
function requestsCounted(exposition: string, labelText: string): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (line.startsWith('http_requests_total{') && line.includes(labelText))
      total += Number(line.split(' ')[1]);
  }
  return total;
}

function logsWith(dito: DitoProcess, msg: string): Array<Record<string, unknown>> {
  return dito.logs.filter((entry) => entry.msg === msg);
}

describe('workers: 2', () => {
  let echo: Upstream;
  let slow: Upstream;
  let dito: DitoProcess;
  const locations = () => [
    { path: '^/slow', target_url: slow.url },
    { path: '^/old', target_url: echo.url },
  ];

  before(async () => {
    echo = await startUpstream();
    slow = await startUpstream((_req, res) => void setTimeout(() => res.end('slow but sure'), 1000));
    dito = await startDito(baseConfig(locations(), { workers: 2, metrics: { enabled: true } }));
  });

  after(async () => {
    await dito.stop('SIGKILL');
    await echo.close();
    await slow.close();
  });

  test('one listening line; both workers answer on its port', async () => {
    assert.equal(logsWith(dito, 'listening').length, 1);
    assert.equal(logsWith(dito, 'worker listening').length, 2);
    for (let i = 0; i < 20; i++) assert.equal((await request(`${dito.url}/old/${i}`)).status, 200);
    // Each request came on a fresh connection; the primary hands connections out in turn.
    const pids = (await waitFor(() => {
      const seen = new Set(logsWith(dito, 'request').map((entry) => entry.pid));
      return seen.size === 2 ? seen : undefined;
    }))!;
    assert.ok(!pids.has(dito.proc.pid), 'the primary serves no request');
  });

  test('a scrape answers the sum over every worker, whichever worker takes it', async () => {
    for (let scrape = 0; scrape < 2; scrape++) {
      const reply = await request(`${dito.url}/metrics`);
      assert.equal(reply.status, 200);
      assert.equal(requestsCounted(reply.text, 'path="^/old"'), 20);
      assert.match(reply.text, /dito_config_info\{sha256="[0-9a-f]+"\} 1\n/);
    }
  });

  test('SIGHUP reloads every worker', async () => {
    assert.equal((await request(`${dito.url}/new`)).status, 404);
    const config = baseConfig([...locations(), { path: '^/new', target_url: echo.url }], {
      workers: 2,
      metrics: { enabled: true },
    });
    writeFileSync(dito.configPath, stringify(config));
    dito.proc.kill('SIGHUP');
    await waitFor(() => logsWith(dito, 'config reloaded').length === 2);
    for (let i = 0; i < 6; i++) assert.equal((await request(`${dito.url}/new/${i}`)).status, 200);
  });

  test('a killed worker is restarted and serving goes on', async () => {
    const victim = logsWith(dito, 'worker listening')[0]!.pid as number;
    process.kill(victim, 'SIGKILL');
    const restarted = (await waitFor(() => logsWith(dito, 'worker restarted')[0]))!;
    assert.notEqual(restarted.pid, victim);
    assert.ok(logsWith(dito, 'worker exited unexpectedly: restarting it').length === 1);
    // The restarted worker read the config file as it is now: /new is live there too.
    for (let i = 0; i < 6; i++) assert.equal((await request(`${dito.url}/new/${i}`)).status, 200);
  });

  test('SIGTERM lets a slow in-flight request finish, then exits 0', async () => {
    const reply = request(`${dito.url}/slow`);
    await waitFor(() => slow.requests.length === 1);
    const code = await dito.stop('SIGTERM');
    assert.equal(code, 0);
    const answered = await reply;
    assert.equal(answered.status, 200);
    assert.equal(answered.text, 'slow but sure');
  });
});

test('workers: 2 on a port in use: one line on stderr, exit 1', async () => {
  const blocker = createServer();
  blocker.listen(0);
  await once(blocker, 'listening');
  const port = (blocker.address() as { port: number }).port;
  try {
    const configPath = writeConfig({ port, workers: 2, locations: [] });
    const result = await runDitoToExit(['-f', configPath]);
    assert.equal(result.code, 1);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.equal(lines[0], `listen EADDRINUSE: address already in use :::${port}`);
  } finally {
    blocker.close();
  }
});

test('workers: a bad value is refused at load', async () => {
  const configPath = writeConfig({ port: 0, workers: 0, locations: [] });
  const result = await runDitoToExit(['-f', configPath]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /workers/);
});
