// Signed plugins through bin/dito: they change requests and responses, answer early, fail into
// 500 JSON, and a tampered or unverifiable plugin stops Dito before any of its code runs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { baseConfig, runDitoToExit, startDito, writeConfig } from '../helpers/dito.js';
import { request } from '../helpers/net.js';
import { makePluginsFixture, pluginSource, type PluginsFixture } from '../helpers/plugins.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

function pluginsBlock(fixture: PluginsFixture): Record<string, unknown> {
  return parse(fixture.yaml) as Record<string, unknown>;
}

describe('signed plugins end to end', () => {
  let upstream: Upstream;
  let fixture: PluginsFixture;

  before(async () => {
    upstream = await startUpstream();
    fixture = await makePluginsFixture([
      {
        name: 'greeter',
        source: pluginSource({
          name: 'greeter',
          responseHeader: ['X-Greeting', '$config.greeting'],
          requestHeader: ['x-greeter-saw', 'yes'],
        }),
        config: { greeting: 'hello from config' },
      },
      { name: 'gatekeeper', source: pluginSource({ name: 'gatekeeper', middleware: 'answer' }) },
      { name: 'thrower', source: pluginSource({ name: 'thrower', middleware: 'throw' }) },
      { name: 'passerr', source: pluginSource({ name: 'passerr', middleware: 'next-error' }) },
    ]);
  });

  after(async () => {
    await upstream.close();
    await fixture.cleanup();
  });

  test('plugins change the upstream request and the client response, answer early, and fail as 500 JSON', async () => {
    const dito = await startDito(
      baseConfig(
        [
          { path: '^/greet', target_url: upstream.url, middlewares: ['greeter'] },
          { path: '^/blocked', target_url: upstream.url, middlewares: ['greeter', 'gatekeeper'] },
          { path: '^/throws', target_url: upstream.url, middlewares: ['thrower'] },
          { path: '^/passes-error', target_url: upstream.url, middlewares: ['passerr'] },
        ],
        pluginsBlock(fixture),
      ),
    );
    try {
      const seenBefore = upstream.requests.length;
      const greeted = await request(`${dito.url}/greet`);
      assert.equal(greeted.status, 200);
      assert.equal(greeted.headers['x-greeting'], 'hello from config');
      assert.equal(upstream.requests.at(-1)!.headers['x-greeter-saw'], 'yes');

      const blocked = await request(`${dito.url}/blocked`);
      assert.equal(blocked.status, 299);
      assert.equal(blocked.text, 'answered by plugin');
      assert.equal(blocked.headers['x-greeting'], 'hello from config', 'the outer plugin ran first');
      assert.equal(
        upstream.requests.length,
        seenBefore + 1,
        'the answered request never reached the upstream',
      );

      for (const path of ['/throws', '/passes-error']) {
        const failed = await request(`${dito.url}${path}`);
        assert.equal(failed.status, 500, path);
        const body = failed.json<{ error: { code: number; message: string } }>();
        assert.equal(body.error.message, 'Internal Server Error');
        assert.doesNotMatch(failed.text, /plugin middleware failed|passed an error|at /);
      }
    } finally {
      await dito.stop();
    }
  });

  test('a byte appended after signing: exit 1 with the contract message, and its code never ran', async () => {
    const marker = join(fixture.root, 'tampered-ran');
    const tampered = await makePluginsFixture([
      { name: 'evil', source: pluginSource({ name: 'evil', markerFile: marker }) },
    ]);
    try {
      await appendFile(join(tampered.pluginsDir, 'evil', 'evil.mjs'), ' ');
      const file = writeConfig(
        baseConfig([{ path: '^/', target_url: upstream.url }], pluginsBlock(tampered)),
      );
      const run = await runDitoToExit(['-f', file]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^plugin signature verification failed: evil/);
      assert.equal(existsSync(marker), false, 'the tampered plugin must not have been imported');
      const check = await runDitoToExit(['-f', file, '--check']);
      assert.equal(check.code, 1);
      assert.match(check.stderr, /plugin signature verification failed: evil/);
    } finally {
      await tampered.cleanup();
    }
  });

  test('a wrong public_key_hash: exit 1 with public key integrity validation failed', async () => {
    const block = pluginsBlock(fixture) as { plugins: Record<string, string> };
    block.plugins.public_key_hash = '0'.repeat(64);
    const file = writeConfig(baseConfig([{ path: '^/', target_url: upstream.url }], block));
    const run = await runDitoToExit(['-f', file]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^public key integrity validation failed/);
  });

  test('a missing .sig is refused', async () => {
    const unsigned = await makePluginsFixture([{ name: 'nosig', signature: 'none' }]);
    try {
      const file = writeConfig(
        baseConfig([{ path: '^/', target_url: upstream.url }], pluginsBlock(unsigned)),
      );
      const run = await runDitoToExit(['-f', file]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /plugin signature verification failed: nosig/);
    } finally {
      await unsigned.cleanup();
    }
  });

  test('--check verifies plugins and resolves plugin names without running them', async () => {
    const marker = join(fixture.root, 'check-ran');
    const checked = await makePluginsFixture([
      { name: 'quiet', source: pluginSource({ name: 'quiet', markerFile: marker }) },
    ]);
    try {
      const good = writeConfig(
        baseConfig([{ path: '^/', target_url: upstream.url, middlewares: ['quiet'] }], pluginsBlock(checked)),
      );
      const ok = await runDitoToExit(['-f', good, '--check']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout.trim(), 'ok');
      assert.equal(existsSync(marker), false);
      const unknown = writeConfig(
        baseConfig([{ path: '^/', target_url: upstream.url, middlewares: ['qiuet'] }], pluginsBlock(checked)),
      );
      const refused = await runDitoToExit(['-f', unknown, '--check']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /unknown middleware "qiuet"/);
    } finally {
      await checked.cleanup();
    }
  });

  test('a plugin whose init throws stops startup, naming the plugin', async () => {
    const broken = await makePluginsFixture([
      { name: 'badinit', source: pluginSource({ name: 'badinit', initBody: "throw new Error('no db');" }) },
    ]);
    try {
      await writeFile(join(broken.root, 'unused'), '');
      const file = writeConfig(baseConfig([{ path: '^/', target_url: upstream.url }], pluginsBlock(broken)));
      const run = await runDitoToExit(['-f', file]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /badinit/);
    } finally {
      await broken.cleanup();
    }
  });
});
