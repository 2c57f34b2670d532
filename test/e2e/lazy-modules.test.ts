// Optional features load their libraries only when the config uses them: a proxy without JWT
// auth, a cache or metrics never loads jose, http-cache-semantics or prom-client (less memory,
// faster start), and a reload that turns them on loads them then, and they work.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sha256Hex } from '../helpers/auth.js';
import { baseConfig, type DitoProcess, startDito, tempDir, writeConfig } from '../helpers/dito.js';
import { scrape } from '../helpers/metrics.js';
import { request, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const OPTIONAL_PACKAGES = ['jose', 'http-cache-semantics', 'prom-client'];
const API_KEY = 'lazy-modules-key-0123456789';
const registerHooks = new URL('../helpers/module-log-register.js', import.meta.url).href;

describe('optional libraries load with the features that use them', () => {
  let upstream: Upstream;
  let dito: DitoProcess;
  const moduleLog = join(tempDir('dito-modules-'), 'modules.txt');

  /** Packages the Dito process has resolved so far. */
  const loadedPackages = (): Set<string> => {
    if (!existsSync(moduleLog)) return new Set();
    const names = readFileSync(moduleLog, 'utf8')
      .split('\n')
      .map((url) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1])
      .filter((name): name is string => name !== undefined);
    return new Set(names);
  };

  before(async () => {
    upstream = await startUpstream();
    dito = await startDito(baseConfig([{ path: '^/', target_url: upstream.url }]), {
      env: {
        DITO_TEST_MODULE_LOG: moduleLog,
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${registerHooks}`.trim(),
      },
    });
  });

  after(async () => {
    await dito?.stop();
    await upstream?.close();
  });

  test('a plain proxy: none of them is loaded', async () => {
    assert.equal((await request(`${dito.url}/plain`)).status, 200);
    const loaded = loadedPackages();
    // The hooks see Dito's imports at all (else the absence below would prove nothing).
    assert.ok(loaded.has('yaml') && loaded.has('zod'), `hooks logged: ${[...loaded].join(', ')}`);
    for (const name of OPTIONAL_PACKAGES) assert.ok(!loaded.has(name), `${name} was loaded`);
  });

  test('a reload that turns on auth, the cache and metrics loads them, and they work', async () => {
    writeConfig(
      baseConfig(
        [
          {
            path: '^/private/',
            target_url: upstream.url,
            middlewares: ['auth'],
            auth: { type: 'api_key', keys: [sha256Hex(API_KEY)] },
          },
          { path: '^/cached/', target_url: upstream.url, middlewares: ['cache'], cache: { enabled: true } },
          { path: '^/', target_url: upstream.url },
        ],
        { metrics: { enabled: true } },
      ),
      dito.dir,
    );
    dito.proc.kill('SIGHUP');
    // Until the reload lands, `^/` (the upstream) answers every path with 200.
    await waitFor(async () => (await request(`${dito.url}/private/x`)).status === 401, 10_000);
    assert.equal((await request(`${dito.url}/private/x`, { headers: { 'x-api-key': API_KEY } })).status, 200);
    assert.equal((await request(`${dito.url}/cached/a`)).status, 200);
    const metrics = await scrape(`${dito.url}/metrics`);
    assert.equal(metrics.value('dito_config_reloads_total', { result: 'success' }), 1);
    const loaded = loadedPackages();
    for (const name of OPTIONAL_PACKAGES) assert.ok(loaded.has(name), `${name} was not loaded`);
  });
});
