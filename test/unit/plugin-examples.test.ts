// The example plugins and the build pipeline end to end: build-plugins.mjs bundles them (the cors
// plugin with its npm dependency), sign-plugins.mjs signs them, plugin-signer verifies, the loader
// loads them and their middlewares behave. Also a CommonJS dependency requiring a Node built-in.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closePlugins, type LoadedPlugin, loadPlugins } from '../../src/plugins/loader.js';
import {
  buildPlugins,
  makeKeys,
  makeTempDir,
  pluginSignerBin,
  recordingLogger,
  runMiddleware,
  signPlugins,
  type TestKeys,
} from '../helpers/plugins.js';

describe('example plugins: build, sign, load', () => {
  let root = '';
  let out = '';
  let keys: TestKeys;
  let loaded: LoadedPlugin[] = [];
  const logger = recordingLogger();
  const middlewareOf = (name: string) => {
    const middleware = loaded.find((plugin) => plugin.name === name)?.middleware;
    assert.ok(middleware, `${name} has a middleware`);
    return middleware;
  };

  before(async () => {
    root = await makeTempDir('dito-examples-');
    out = join(root, 'plugins');
    keys = await makeKeys(root);
    await buildPlugins(out);
    await signPlugins(out, keys.privateKeyPath);
    loaded = await loadPlugins(
      { directory: out, publicKeyPath: keys.publicKeyPath, publicKeyHash: keys.publicKeyHash },
      { logger },
    );
  });
  after(async () => {
    await closePlugins(loaded, logger);
    await rm(root, { recursive: true, force: true });
  });

  it('builds one bundle per plugin, with its config.yaml and a signature plugin-signer accepts', async () => {
    for (const name of ['cors-plugin', 'hello-plugin']) {
      const modulePath = join(out, name, `${name}.mjs`);
      assert.ok((await stat(join(out, name, 'config.yaml'))).isFile());
      const result = spawnSync(
        process.execPath,
        [pluginSignerBin, 'verify', '-plugin', modulePath, '-publicKey', keys.publicKeyPath],
        { encoding: 'utf8' },
      );
      assert.equal(result.status, 0, result.stderr);
    }
    // The cors package is inside the bundle: nothing is left to resolve at run time.
    const cors = await readFile(join(out, 'cors-plugin', 'cors-plugin.mjs'), 'utf8');
    assert.match(cors, /Access-Control-Allow-Origin/);
    assert.doesNotMatch(cors, /from ["']cors["']/);
  });

  it('loads both, in folder order', () => {
    assert.deepEqual(
      loaded.map((plugin) => plugin.name),
      ['cors-plugin', 'hello-plugin'],
    );
  });

  it('hello-plugin sets X-Hello from its config and X-Hello-Plugin for the upstream', async () => {
    const exchange = await runMiddleware(middlewareOf('hello-plugin'));
    assert.equal(exchange.nextCalled, true);
    assert.equal(exchange.responseHeaders['x-hello'], 'world');
    assert.equal(exchange.requestHeaders['x-hello-plugin'], '1');
  });

  it('cors-plugin answers a preflight itself with 204', async () => {
    const exchange = await runMiddleware(middlewareOf('cors-plugin'), {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'PUT' },
    });
    assert.equal(exchange.nextCalled, false);
    assert.equal(exchange.ended, true);
    assert.equal(exchange.statusCode, 204);
    assert.equal(exchange.responseHeaders['access-control-allow-origin'], 'http://localhost:3000');
    assert.match(String(exchange.responseHeaders['access-control-allow-methods']), /PUT/);
  });

  it('cors-plugin passes other requests on, allowing only the configured origins', async () => {
    const allowed = await runMiddleware(middlewareOf('cors-plugin'), {
      headers: { origin: 'https://app.example.com' },
    });
    assert.equal(allowed.nextCalled, true);
    assert.equal(allowed.responseHeaders['access-control-allow-origin'], 'https://app.example.com');
    const other = await runMiddleware(middlewareOf('cors-plugin'), {
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(other.nextCalled, true);
    assert.equal(other.responseHeaders['access-control-allow-origin'], undefined);
    const plainOptions = await runMiddleware(middlewareOf('cors-plugin'), { method: 'OPTIONS' });
    assert.equal(plainOptions.nextCalled, true, 'an OPTIONS that is no preflight goes upstream');
  });
});

describe('build-plugins: CommonJS dependencies', () => {
  it('bundles a CommonJS module that requires a Node built-in, loadable from the verified bytes', async () => {
    const root = await makeTempDir('dito-build-');
    try {
      const source = join(root, 'src', 'cjs-plugin');
      await mkdir(source, { recursive: true });
      await writeFile(join(source, 'package.json'), JSON.stringify({ name: 'cjs-plugin', private: true }));
      await writeFile(
        join(source, 'helper.cjs'),
        "const os = require('node:os');\nexports.eol = () => JSON.stringify(os.EOL);\n" +
          'exports.tryRequire = (id) => { try { require(id); return "loaded"; } catch (e) { return e.message; } };\n',
      );
      await writeFile(
        join(source, 'index.mjs'),
        "import helper from './helper.cjs';\n" +
          'export default () => ({ name: "cjs-plugin", eol: helper.eol(), other: helper.tryRequire(String("left-pad")) });\n',
      );
      const out = join(root, 'out');
      await buildPlugins(out, { src: join(root, 'src') });
      const keys = await makeKeys(root);
      await signPlugins(out, keys.privateKeyPath);
      const logger = recordingLogger();
      const [loaded] = await loadPlugins(
        { directory: out, publicKeyPath: keys.publicKeyPath, publicKeyHash: keys.publicKeyHash },
        { logger },
      );
      const plugin = loaded?.plugin as unknown as { eol: string; other: string };
      assert.equal(plugin.eol, JSON.stringify('\n'));
      assert.match(plugin.other, /only Node built-ins, not left-pad/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
