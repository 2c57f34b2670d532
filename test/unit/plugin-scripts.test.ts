// scripts/update-config.mjs: sets the three plugins keys in place (comments and order kept), with
// paths relative to the config file's folder inside the repository, absolute outside it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { makeKeys, makeTempDir, repoRoot } from '../helpers/plugins.js';

const script = join(repoRoot, 'scripts', 'update-config.mjs');

function updateConfig(...args: string[]) {
  return spawnSync(process.execPath, [script, ...args], { cwd: repoRoot, encoding: 'utf8' });
}

const original = `# Dito config
port: 8081 # listening port
plugins:
  # where the signed plugins live
  directory: ./old # old place
  public_key_hash: "0000"
locations:
  - path: ^/x$
    target_url: http://localhost:9000
`;

describe('update-config', () => {
  it('sets directory, public_key_path and public_key_hash keeping comments and order', async () => {
    // Inside the repository (.tmp/ is ignored by git), so relative paths are written.
    await mkdir(join(repoRoot, '.tmp'), { recursive: true });
    const root = await mkdtemp(join(repoRoot, '.tmp', 'update-config-'));
    try {
      const configPath = join(root, 'bin', 'config.yaml');
      await mkdir(dirname(configPath));
      await writeFile(configPath, original);
      await mkdir(join(root, 'keys'));
      const keys = await makeKeys(join(root, 'keys'));
      const result = updateConfig(
        configPath,
        '--directory',
        join(root, 'bin', 'plugins'),
        '--publicKey',
        keys.publicKeyPath,
      );
      assert.equal(result.status, 0, result.stderr);
      const text = await readFile(configPath, 'utf8');
      for (const kept of [
        '# Dito config',
        '# listening port',
        '# where the signed plugins live',
        '# old place',
      ]) {
        assert.ok(text.includes(kept), `keeps "${kept}"\n${text}`);
      }
      assert.ok(
        text.indexOf('port:') < text.indexOf('plugins:') &&
          text.indexOf('plugins:') < text.indexOf('locations:'),
      );
      const parsed = parse(text);
      assert.equal(parsed.plugins.directory, './plugins');
      assert.equal(parsed.plugins.public_key_path, '../keys/ed25519_public.key');
      // Relative paths mean: relative to the config file's folder.
      assert.equal(resolve(dirname(configPath), parsed.plugins.public_key_path), keys.publicKeyPath);
      assert.equal(parsed.plugins.public_key_hash, keys.publicKeyHash);
      assert.equal(parsed.locations[0].target_url, 'http://localhost:9000');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('adds a plugins block when there is none, with absolute paths outside the repository', async () => {
    const root = await makeTempDir('dito-update-config-');
    try {
      const configPath = join(root, 'config.yaml');
      await writeFile(configPath, 'port: 8081\n');
      const keys = await makeKeys(root);
      const result = updateConfig(
        configPath,
        '--directory',
        join(root, 'plugins'),
        '--publicKey',
        keys.publicKeyPath,
      );
      assert.equal(result.status, 0, result.stderr);
      const parsed = parse(await readFile(configPath, 'utf8'));
      assert.equal(parsed.port, 8081);
      assert.ok(isAbsolute(parsed.plugins.directory));
      assert.equal(parsed.plugins.public_key_path, keys.publicKeyPath);
      assert.equal(parsed.plugins.public_key_hash, keys.publicKeyHash);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('says so and exits 1 when the config file does not exist', async () => {
    const root = await makeTempDir('dito-update-config-');
    try {
      const keys = await makeKeys(root);
      const result = updateConfig(join(root, 'missing.yaml'), '--publicKey', keys.publicKeyPath);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /missing\.yaml does not exist/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
