// Metrics across reloads (SIGHUP): `metrics.*` settings apply, the registry survives runtime
// swaps (counters never reset), reloads are counted by result and the config hash follows.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { baseConfig, type DitoProcess, startDito, writeConfig } from '../helpers/dito.js';
import { scrape } from '../helpers/metrics.js';
import { request, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

describe('metrics and reloads', () => {
  let upstream: Upstream;
  let dito: DitoProcess;

  const config = (metrics: object, extra: object[] = []) =>
    baseConfig([{ path: '^/api/', target_url: upstream.url }, ...extra], { metrics });
  const reload = (next: object | string) => {
    writeConfig(next, dito.dir);
    dito.proc.kill('SIGHUP');
  };
  const statusOf = async (path: string) => (await request(`${dito.url}${path}`)).status;
  const fileSha = () => createHash('sha256').update(readFileSync(dito.configPath)).digest('hex');

  before(async () => {
    upstream = await startUpstream();
    dito = await startDito(config({ enabled: false }));
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
  });

  test('disabled (the default): the path is routed like any other', async () => {
    const reply = await request(`${dito.url}/metrics`);
    assert.equal(reply.status, 404);
    assert.equal(reply.json<{ error: { code: number } }>().error.code, 404);
  });

  test('enabled by a reload: served at once, counting from then on', async () => {
    reload(config({ enabled: true }));
    await waitFor(async () => (await statusOf('/metrics')) === 200);
    for (let i = 0; i < 3; i++) assert.equal(await statusOf(`/api/${i}`), 200);
    const metrics = await scrape(`${dito.url}/metrics`);
    assert.equal(metrics.value('http_requests_total', { method: 'GET', path: '^/api/', status: '200' }), 3);
    assert.equal(metrics.value('dito_config_reloads_total', { result: 'success' }), 1);
    assert.equal(metrics.value('dito_config_info', { sha256: fileSha() }), 1);
  });

  test('a new path and new locations: counters survive the runtime swap', async () => {
    reload(config({ enabled: true, path: '/stats' }, [{ path: '^/v2/', target_url: upstream.url }]));
    await waitFor(async () => (await statusOf('/stats')) === 200);
    assert.equal(await statusOf('/metrics'), 404, 'the old path is no longer served');
    assert.equal(await statusOf('/api/again'), 200);
    assert.equal(await statusOf('/v2/new'), 200);
    const metrics = await scrape(`${dito.url}/stats`);
    assert.equal(metrics.value('http_requests_total', { method: 'GET', path: '^/api/', status: '200' }), 4);
    assert.equal(metrics.value('http_requests_total', { method: 'GET', path: '^/v2/', status: '200' }), 1);
    assert.equal(metrics.value('dito_config_reloads_total', { result: 'success' }), 2);
    assert.equal(metrics.find('dito_config_info').length, 1, 'one config hash at a time');
    assert.equal(metrics.value('dito_config_info', { sha256: fileSha() }), 1);
  });

  test('a refused reload is counted and the running config keeps serving', async () => {
    reload('port: 0\nmetrics: { enabled: true, path: /stats }\nnot_a_key: 1\nlocations: []\n');
    await waitFor(
      async () =>
        (await scrape(`${dito.url}/stats`)).value('dito_config_reloads_total', { result: 'failure' }) === 1,
    );
    assert.equal(await statusOf('/api/still'), 200);
  });

  test('disabled by a reload: the endpoint goes away', async () => {
    reload(config({ enabled: false }));
    await waitFor(async () => (await statusOf('/stats')) === 404);
  });
});
