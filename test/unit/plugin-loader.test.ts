// The plugin loader: signature and key checks before any plugin code runs, the bytes imported
// being the verified ones, the plugin's shape and name, bounded init, config.yaml, and reuse on reload.
import assert from 'node:assert/strict';
import { access, appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import {
  closePlugins,
  type LoadedPlugin,
  loadPlugins,
  PluginError,
  pluginsToClose,
  verifyPluginsOnly,
} from '../../src/plugins/loader.js';
import { sha256Hex } from '../../src/plugins/signing.js';
import {
  makePluginsFixture,
  type PluginsFixture,
  pluginSource,
  recordingLogger,
  runMiddleware,
  type TestPluginSpec,
  writeSignedPlugin,
} from '../helpers/plugins.js';

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function withFixture(
  specs: TestPluginSpec[],
  body: (fixture: PluginsFixture) => Promise<void>,
): Promise<void> {
  const fixture = await makePluginsFixture(specs);
  try {
    await body(fixture);
  } finally {
    await fixture.cleanup();
  }
}

/** The plugin object as pluginSource() builds it. */
interface TestPlugin {
  received: { config?: unknown; logger?: unknown };
  initCalls: number;
  closeCalls: number;
  moduleUrl: string;
}
const testPlugin = (loaded: LoadedPlugin | undefined): TestPlugin => loaded?.plugin as unknown as TestPlugin;

function pluginError(message: string | RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof PluginError, `expected a PluginError, got ${String(error)}`);
    assert.equal(error.code, 'DITO_ERR_PLUGIN');
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  };
}

describe('plugin loader', () => {
  it('loads a signed plugin, passes config.yaml and a logger to init, exposes its middleware', async () => {
    const source = pluginSource({
      name: 'hello',
      responseHeader: ['X-Hello', '$config.greeting'],
      requestHeader: ['X-Hello-Plugin', '1'],
    });
    await withFixture(
      [{ name: 'hello', source, config: 'greeting: bonjour\nlist: [1, 2]\n' }],
      async (fixture) => {
        const logger = recordingLogger();
        const [loaded, ...rest] = await loadPlugins(fixture.cfg, { logger });
        assert.equal(rest.length, 0);
        assert.ok(loaded);
        assert.equal(loaded.name, 'hello');
        assert.equal(loaded.dir, join(fixture.pluginsDir, 'hello'));
        assert.equal(loaded.sha256, sha256Hex(source));
        assert.deepEqual(loaded.config, { greeting: 'bonjour', list: [1, 2] });
        assert.deepEqual(testPlugin(loaded).received.config, { greeting: 'bonjour', list: [1, 2] });
        assert.equal(testPlugin(loaded).moduleUrl, 'data:', 'imported from the verified bytes, not the file');
        assert.ok(loaded.middleware);
        const exchange = await runMiddleware(loaded.middleware, { headers: { host: 'x' } });
        assert.equal(exchange.nextCalled, true);
        assert.equal(exchange.responseHeaders['x-hello'], 'bonjour');
        assert.equal(exchange.requestHeaders['x-hello-plugin'], '1');
        // The plugin's logger is a child bound to its name.
        const pluginLogger = testPlugin(loaded).received.logger as ReturnType<typeof recordingLogger>;
        pluginLogger.info('from the plugin');
        assert.deepEqual(logger.records.at(-1)?.bindings, { plugin: 'hello' });
        await loaded.close();
        await loaded.close();
        assert.equal(testPlugin(loaded).closeCalls, 1, 'close() runs once');
      },
    );
  });

  it('gives {} to init when there is no config.yaml, and loads folders in sorted order', async () => {
    await withFixture([{ name: 'zeta' }, { name: 'alpha' }, { name: 'mid.dle_1' }], async (fixture) => {
      await mkdir(join(fixture.pluginsDir, '..data'));
      await writeFile(join(fixture.pluginsDir, 'README.md'), 'not a plugin');
      const loaded = await loadPlugins(fixture.cfg, { logger: recordingLogger() });
      assert.deepEqual(
        loaded.map((plugin) => plugin.name),
        ['alpha', 'mid.dle_1', 'zeta'],
      );
      assert.deepEqual(testPlugin(loaded[0]).received.config, {});
      await closePlugins(loaded, recordingLogger());
    });
  });

  it('refuses a plugin with one byte appended after signing, before any plugin code runs', async () => {
    await withFixture([], async (fixture) => {
      const markerA = join(fixture.root, 'a-ran');
      const markerB = join(fixture.root, 'b-ran');
      const keys = fixture.keys;
      await writeSignedPlugin(
        fixture.pluginsDir,
        { name: 'a-good', source: pluginSource({ name: 'a-good', markerFile: markerA }) },
        keys,
      );
      await writeSignedPlugin(
        fixture.pluginsDir,
        {
          name: 'b-bad',
          source: pluginSource({ name: 'b-bad', markerFile: markerB }),
          signature: 'tampered',
        },
        keys,
      );
      await assert.rejects(
        loadPlugins(fixture.cfg, { logger: recordingLogger() }),
        pluginError('plugin signature verification failed: b-bad'),
      );
      assert.equal(await exists(markerB), false, 'the tampered module never ran');
      assert.equal(await exists(markerA), false, 'nor did the valid one: all are verified first');
      await assert.rejects(
        verifyPluginsOnly(fixture.cfg),
        pluginError('plugin signature verification failed: b-bad'),
      );
    });
  });

  it('refuses a plugin without a .sig or signed with another key', async () => {
    await withFixture([{ name: 'unsigned', signature: 'none' }], async (fixture) => {
      await assert.rejects(
        loadPlugins(fixture.cfg, { logger: recordingLogger() }),
        pluginError('plugin signature verification failed: unsigned'),
      );
    });
    await withFixture([{ name: 'foreign', signature: 'other-key' }], async (fixture) => {
      await assert.rejects(
        verifyPluginsOnly(fixture.cfg),
        pluginError('plugin signature verification failed: foreign'),
      );
    });
  });

  it('refuses a public key whose hash is not the pinned one', async () => {
    await withFixture([{ name: 'hello' }], async (fixture) => {
      const wrongHash = { ...fixture.cfg, publicKeyHash: sha256Hex('another key') };
      await assert.rejects(
        loadPlugins(wrongHash, { logger: recordingLogger() }),
        pluginError('public key integrity validation failed'),
      );
      await appendFile(fixture.keys.publicKeyPath, '\n');
      await assert.rejects(
        verifyPluginsOnly(fixture.cfg),
        pluginError('public key integrity validation failed'),
      );
    });
  });

  it('accepts the pinned hash in upper case', async () => {
    await withFixture([{ name: 'hello' }], async (fixture) => {
      const upper = { ...fixture.cfg, publicKeyHash: fixture.cfg.publicKeyHash.toUpperCase() };
      assert.deepEqual(
        (await verifyPluginsOnly(upper)).map((plugin) => plugin.name),
        ['hello'],
      );
    });
  });

  it('verifyPluginsOnly verifies without importing anything', async () => {
    await withFixture([], async (fixture) => {
      const marker = join(fixture.root, 'ran');
      const source = pluginSource({ name: 'quiet', markerFile: marker });
      await writeSignedPlugin(fixture.pluginsDir, { name: 'quiet', source }, fixture.keys);
      assert.deepEqual(await verifyPluginsOnly(fixture.cfg), [{ name: 'quiet', sha256: sha256Hex(source) }]);
      assert.equal(await exists(marker), false);
    });
  });

  it('refuses a plugin whose name differs from its folder', async () => {
    await withFixture(
      [{ name: 'folder-name', source: pluginSource({ name: 'other-name' }) }],
      async (fixture) => {
        await assert.rejects(
          loadPlugins(fixture.cfg, { logger: recordingLogger() }),
          pluginError('plugin name mismatch: folder folder-name, plugin other-name'),
        );
      },
    );
  });

  it('refuses a module whose default export is not a factory', async () => {
    await withFixture([{ name: 'plain', source: 'export default { name: "plain" };\n' }], async (fixture) => {
      await assert.rejects(
        loadPlugins(fixture.cfg, { logger: recordingLogger() }),
        pluginError(/not a factory function: plain$/),
      );
    });
  });

  it('names the plugin whose init throws, with the cause', async () => {
    const source = pluginSource({ name: 'broken', initBody: "throw new Error('database unreachable');" });
    await withFixture([{ name: 'broken', source }], async (fixture) => {
      await assert.rejects(loadPlugins(fixture.cfg, { logger: recordingLogger() }), (error: unknown) => {
        pluginError('plugin init failed: broken')(error);
        assert.equal((error as PluginError).details.reason, 'database unreachable');
        assert.equal((error as PluginError).details.plugin, 'broken');
        return true;
      });
    });
  });

  it('bounds a hanging init', async () => {
    const source = pluginSource({ name: 'stuck', initBody: 'await new Promise(() => {});' });
    await withFixture([{ name: 'stuck', source }], async (fixture) => {
      const started = Date.now();
      await assert.rejects(
        loadPlugins(fixture.cfg, { logger: recordingLogger(), initTimeoutMs: 100 }),
        pluginError('plugin init timed out after 100 ms: stuck'),
      );
      assert.ok(Date.now() - started < 3000);
    });
  });

  it('closes the plugins it created when a later one fails', async () => {
    await withFixture([], async (fixture) => {
      const closed = join(fixture.root, 'a-closed');
      const closeBody = `(await import('node:fs')).writeFileSync(${JSON.stringify(closed)}, 'closed');`;
      await writeSignedPlugin(
        fixture.pluginsDir,
        { name: 'a', source: pluginSource({ name: 'a', closeBody }) },
        fixture.keys,
      );
      const failing = pluginSource({ name: 'b', initBody: "throw new Error('no');" });
      await writeSignedPlugin(fixture.pluginsDir, { name: 'b', source: failing }, fixture.keys);
      await assert.rejects(
        loadPlugins(fixture.cfg, { logger: recordingLogger() }),
        pluginError('plugin init failed: b'),
      );
      assert.equal(await readFile(closed, 'utf8'), 'closed');
    });
  });

  it('refuses an invalid config.yaml before any plugin code runs', async () => {
    await withFixture([], async (fixture) => {
      const marker = join(fixture.root, 'ran');
      const source = pluginSource({ name: 'cfg', markerFile: marker });
      await writeSignedPlugin(
        fixture.pluginsDir,
        { name: 'cfg', source, config: '- a list\n- not a map\n' },
        fixture.keys,
      );
      await assert.rejects(
        loadPlugins(fixture.cfg, { logger: recordingLogger() }),
        pluginError('invalid plugin config: cfg'),
      );
      assert.equal(await exists(marker), false);
    });
  });

  it('reuses an unchanged plugin on reload, and reloads a changed one', async () => {
    await withFixture(
      [
        { name: 'keep', config: { n: 1 } },
        { name: 'change', config: { n: 1 } },
      ],
      async (fixture) => {
        const logger = recordingLogger();
        const first = await loadPlugins(fixture.cfg, { logger });
        const second = await loadPlugins(fixture.cfg, { logger, previous: first });
        assert.equal(second[0], first[0]);
        assert.equal(second[1], first[1]);
        assert.equal(testPlugin(second[0]).initCalls, 1, 'a reused plugin is not initialised again');

        // A new config for one plugin, new bytes for the other (sorted: 'change' comes first).
        await writeFile(join(fixture.pluginsDir, 'keep', 'config.yaml'), 'n: 2\n');
        const changed = `${pluginSource({ name: 'change' })}// v2\n`;
        await writeSignedPlugin(
          fixture.pluginsDir,
          { name: 'change', source: changed, config: { n: 1 } },
          fixture.keys,
        );
        const third = await loadPlugins(fixture.cfg, { logger, previous: second });
        const byName = (list: LoadedPlugin[], name: string) => list.find((plugin) => plugin.name === name);
        assert.notEqual(byName(third, 'keep'), byName(second, 'keep'));
        assert.deepEqual(byName(third, 'keep')?.config, { n: 2 });
        assert.notEqual(byName(third, 'change'), byName(second, 'change'));
        assert.equal(byName(third, 'change')?.sha256, sha256Hex(changed));

        const replaced = pluginsToClose(second, third);
        assert.deepEqual(replaced, second);
        await closePlugins(replaced, logger);
        assert.equal(testPlugin(second[0]).closeCalls, 1);
        assert.equal(testPlugin(third[0]).closeCalls, 0);
        await closePlugins(third, logger);
      },
    );
  });

  it('closePlugins bounds and logs a failing or hanging close, and never throws', async () => {
    await withFixture(
      [
        { name: 'hangs', source: pluginSource({ name: 'hangs', closeBody: 'await new Promise(() => {});' }) },
        {
          name: 'throws',
          source: pluginSource({ name: 'throws', closeBody: "throw new Error('close failed');" }),
        },
      ],
      async (fixture) => {
        const logger = recordingLogger();
        const loaded = await loadPlugins(fixture.cfg, { logger, closeTimeoutMs: 100 });
        await closePlugins(loaded, logger);
        const failures = logger.records.filter((record) => record.level === 'error');
        assert.deepEqual(failures.map((record) => (record.obj as { plugin: string }).plugin).sort(), [
          'hangs',
          'throws',
        ]);
      },
    );
  });

  it('takes a pino logger as its PluginLogger', async () => {
    await withFixture([{ name: 'hello' }], async (fixture) => {
      const loaded = await loadPlugins(fixture.cfg, { logger: pino({ enabled: false }) });
      assert.equal(loaded.length, 1);
      await closePlugins(loaded, pino({ enabled: false }));
    });
  });

  it('reports a missing plugins directory or public key as a PluginError', async () => {
    await withFixture([], async (fixture) => {
      await assert.rejects(
        verifyPluginsOnly({ ...fixture.cfg, directory: join(fixture.root, 'nope') }),
        pluginError(/^plugins directory not readable: /),
      );
      await assert.rejects(
        verifyPluginsOnly({ ...fixture.cfg, publicKeyPath: join(fixture.root, 'nope.key') }),
        pluginError(/^failed to read public key: /),
      );
    });
  });
});
