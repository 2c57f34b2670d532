// Contract section 8: hot reload through the CLI. Changes apply within a second however the file
// is replaced; an invalid file is refused while the old config serves; nothing in flight drops.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Pool } from 'undici';
import { stringify } from 'yaml';
import { baseConfig, type DitoProcess, startDito, tempDir } from '../helpers/dito.js';
import { request, sleep, waitFor } from '../helpers/net.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

function configWith(upstream: Upstream, locations: string[], extra: object = {}): string {
  return stringify(
    baseConfig(
      locations.map((path) => ({ path, target_url: upstream.url })),
      { hot_reload: true, ...extra },
    ),
  );
}

async function status(dito: DitoProcess, path: string): Promise<number> {
  return (await request(`${dito.url}${path}`)).status;
}

describe('hot reload', () => {
  let upstream: Upstream;
  let slow: Upstream;

  before(async () => {
    upstream = await startUpstream();
    slow = await startUpstream((_req, res) => {
      setTimeout(() => res.end('slow done'), 1200);
    });
  });

  after(async () => {
    await upstream.close();
    await slow.close();
  });

  test('a rewritten file is live within a second; an invalid one is refused and the old config keeps serving', async () => {
    const dito = await startDito(configWith(upstream, ['^/one$']));
    try {
      assert.equal(await status(dito, '/two'), 404);
      writeFileSync(dito.configPath, configWith(upstream, ['^/one$', '^/two$']));
      const started = Date.now();
      await waitFor(async () => (await status(dito, '/two')) === 200, 3000);
      assert.ok(Date.now() - started < 1500, `applied after ${Date.now() - started} ms`);

      writeFileSync(
        dito.configPath,
        'port: 0\nlocations:\n  - path: "^/(broken"\n    target_url: http://127.0.0.1:9\n',
      );
      await waitFor(() => dito.logs.some((l) => l.msg === 'config reload refused'), 3000);
      const refusal = dito.logs.find((l) => l.msg === 'config reload refused')!;
      assert.equal(refusal.level, 'error');
      assert.match(
        String(refusal.err),
        /config\.yaml:3:11: locations\[0\]\.path: invalid regular expression/,
      );
      assert.equal(await status(dito, '/two'), 200, 'the previous config still serves');
      assert.equal(dito.proc.exitCode, null);

      writeFileSync(dito.configPath, configWith(upstream, ['^/three$']));
      await waitFor(async () => (await status(dito, '/three')) === 200, 3000);
      assert.equal(await status(dito, '/two'), 404);
    } finally {
      await dito.stop();
    }
  });

  test('a save by rename (editor style) reloads', async () => {
    const dito = await startDito(configWith(upstream, ['^/a$']));
    try {
      const temp = join(dito.dir, '.config.yaml.swp');
      writeFileSync(temp, configWith(upstream, ['^/a$', '^/renamed$']));
      renameSync(temp, dito.configPath);
      await waitFor(async () => (await status(dito, '/renamed')) === 200, 3000);
    } finally {
      await dito.stop();
    }
  });

  test('a Kubernetes-style ConfigMap symlink swap reloads', async () => {
    // config.yaml → ..data/config.yaml, ..data → ..v1; the update points ..data at ..v2.
    const dir = tempDir();
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'config.yaml'), configWith(upstream, ['^/v1$']));
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync(join('..data', 'config.yaml'), join(dir, 'config.yaml'));
    const dito = await startDito(configWith(upstream, ['^/v1$']), { dir });
    // startDito wrote a plain file over our symlink: put the ConfigMap layout back.
    renameSync(join(dir, 'config.yaml'), join(dir, 'plain.yaml'));
    symlinkSync(join('..data', 'config.yaml'), join(dir, 'config.yaml'));
    try {
      mkdirSync(join(dir, '..v2'));
      writeFileSync(join(dir, '..v2', 'config.yaml'), configWith(upstream, ['^/v2$']));
      symlinkSync('..v2', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      await waitFor(async () => (await status(dito, '/v2')) === 200, 3000);
      assert.equal(await status(dito, '/v1'), 404);
    } finally {
      await dito.stop();
    }
  });

  test('SIGHUP reloads even with hot_reload off; a changed port is logged as needing a restart', async () => {
    const dito = await startDito(stringify(baseConfig([{ path: '^/x$', target_url: upstream.url }])));
    try {
      writeFileSync(
        dito.configPath,
        stringify(baseConfig([{ path: '^/y$', target_url: upstream.url }], { port: 1 })),
      );
      await sleep(1200);
      assert.equal(await status(dito, '/y'), 404, 'no watcher without hot_reload');
      dito.proc.kill('SIGHUP');
      await waitFor(async () => (await status(dito, '/y')) === 200, 3000);
      await waitFor(() => dito.logs.some((l) => String(l.msg).startsWith('port changed')), 2000);
    } finally {
      await dito.stop();
    }
  });

  test('a slow in-flight request survives a reload and finishes normally', async () => {
    const dito = await startDito(
      stringify(baseConfig([{ path: '^/slow', target_url: slow.url }], { hot_reload: true })),
    );
    try {
      const inFlight = request(`${dito.url}/slow`);
      await sleep(200);
      writeFileSync(
        dito.configPath,
        stringify(
          baseConfig(
            [
              { path: '^/slow', target_url: slow.url },
              { path: '^/new$', target_url: upstream.url },
            ],
            { hot_reload: true },
          ),
        ),
      );
      await waitFor(async () => (await status(dito, '/new')) === 200, 3000);
      const reply = await inFlight;
      assert.equal(reply.status, 200);
      assert.equal(reply.text, 'slow done');
    } finally {
      await dito.stop();
    }
  });

  test('under steady load, five reloads lose no request', async () => {
    const dito = await startDito(configWith(upstream, ['^/load']));
    const client = new Pool(dito.url, { connections: 8 });
    const results = { ok: 0, failed: 0, errors: [] as string[] };
    let running = true;
    const worker = async () => {
      while (running) {
        try {
          const res = await client.request({ path: '/load', method: 'GET' });
          await res.body.text();
          if (res.statusCode === 200) results.ok++;
          else {
            results.failed++;
            results.errors.push(`status ${res.statusCode}`);
          }
        } catch (err) {
          results.failed++;
          results.errors.push((err as Error).message);
        }
        await sleep(20);
      }
    };
    try {
      const workers = Array.from({ length: 8 }, worker);
      for (let i = 0; i < 5; i++) {
        await sleep(800);
        const extra = [`^/extra${i}$`];
        writeFileSync(dito.configPath, configWith(upstream, ['^/load', ...extra]));
        await waitFor(async () => (await status(dito, `/extra${i}`)) === 200, 3000);
      }
      await sleep(500);
      running = false;
      await Promise.all(workers);
      assert.equal(results.failed, 0, results.errors.slice(0, 5).join('; '));
      assert.ok(results.ok > 300, `only ${results.ok} requests completed`);
      assert.equal(dito.logs.filter((l) => l.msg === 'config reloaded').length, 5);
    } finally {
      running = false;
      await client.close();
      await dito.stop();
    }
  });
});
