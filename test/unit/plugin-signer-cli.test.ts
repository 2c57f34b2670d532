// `bin/plugin-signer` through the front door: spawned with this test's node, checking output files,
// modes, exit statuses (0 ok, 1 failure, 2 usage) and interoperability with node:crypto and sha256sum.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, verify } from 'node:crypto';
import { appendFile, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeTempDir, pluginSignerBin } from '../helpers/plugins.js';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function signer(cwd: string, ...args: string[]): Run {
  const result = spawnSync(process.execPath, [pluginSignerBin, ...args], { cwd, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function hasSha256sum(): boolean {
  return spawnSync('sha256sum', ['--version']).status === 0;
}

describe('plugin-signer CLI', () => {
  let dir = '';
  let plugin = '';
  before(async () => {
    dir = await makeTempDir('dito-signer-');
    plugin = join(dir, 'hello.mjs');
    await writeFile(plugin, 'export default () => ({ name: "hello" });\n');
    const generated = signer(dir, 'generate-keys');
    assert.equal(generated.status, 0, generated.stderr);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('generate-keys writes PEM files in the current folder, the private key 0600', async () => {
    assert.equal((await stat(join(dir, 'ed25519_private.key'))).mode & 0o777, 0o600);
    assert.match(await readFile(join(dir, 'ed25519_public.key'), 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
    assert.match(await readFile(join(dir, 'ed25519_private.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  });

  it('generate-keys refuses to overwrite (exit 1) unless -force', async () => {
    const before = await readFile(join(dir, 'ed25519_public.key'), 'utf8');
    const refused = signer(dir, 'generate-keys');
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /already exists/);
    assert.equal(await readFile(join(dir, 'ed25519_public.key'), 'utf8'), before);
    const other = await makeTempDir('dito-signer-');
    try {
      const paths = ['-privateKey', join(other, 'a.key'), '--publicKey', join(other, 'b.key')];
      assert.equal(signer(other, 'generate-keys', ...paths).status, 0);
      const first = await readFile(join(other, 'b.key'), 'utf8');
      assert.equal(signer(other, 'generate-keys', ...paths, '-force').status, 0);
      assert.notEqual(await readFile(join(other, 'b.key'), 'utf8'), first);
      assert.equal((await stat(join(other, 'a.key'))).mode & 0o777, 0o600);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('sign writes <file>.sig: hex of the Ed25519 signature of the SHA-256 digest', async () => {
    const result = signer(dir, 'sign', '-plugin', plugin, '-privateKey', join(dir, 'ed25519_private.key'));
    assert.equal(result.status, 0, result.stderr);
    const signature = await readFile(`${plugin}.sig`, 'utf8');
    assert.match(signature, /^[0-9a-f]{128}$/, 'hex, no trailing newline');
    const digest = createHash('sha256')
      .update(await readFile(plugin))
      .digest();
    const publicKey = await readFile(join(dir, 'ed25519_public.key'), 'utf8');
    assert.equal(verify(null, digest, publicKey, Buffer.from(signature, 'hex')), true);
  });

  it('verify exits 0 for a good signature, also with a trailing newline in the .sig', async () => {
    assert.equal(signer(dir, 'sign', `--plugin=${plugin}`).status, 0, 'default private key path');
    const ok = signer(dir, 'verify', '-plugin', plugin, '-publicKey', 'ed25519_public.key');
    assert.equal(ok.status, 0, ok.stderr);
    await appendFile(`${plugin}.sig`, '\n');
    assert.equal(signer(dir, 'verify', `--plugin=${plugin}`, '--publicKey=ed25519_public.key').status, 0);
  });

  it('verify exits 1 for a changed file, a wrong key or a missing .sig', async () => {
    const copy = join(dir, 'tampered.mjs');
    await writeFile(copy, await readFile(plugin));
    assert.equal(signer(dir, 'sign', copy).status, 0, 'positional file, as in the Go original');
    await appendFile(copy, ' ');
    const tampered = signer(dir, 'verify', '-plugin', copy, '-publicKey', 'ed25519_public.key');
    assert.equal(tampered.status, 1);
    assert.match(tampered.stderr, /signature verification failed/);

    const other = await makeTempDir('dito-signer-');
    try {
      assert.equal(signer(other, 'generate-keys').status, 0);
      const wrongKey = signer(
        dir,
        'verify',
        '-plugin',
        plugin,
        '-publicKey',
        join(other, 'ed25519_public.key'),
      );
      assert.equal(wrongKey.status, 1);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
    const unsigned = join(dir, 'unsigned.mjs');
    await writeFile(unsigned, 'export default 1;');
    assert.equal(signer(dir, 'verify', '-plugin', unsigned, '-publicKey', 'ed25519_public.key').status, 1);
  });

  it('hash prints the SHA-256 of the key file bytes, the same as sha256sum', async (t) => {
    const result = signer(dir, 'hash', '-publicKey', 'ed25519_public.key');
    assert.equal(result.status, 0, result.stderr);
    const expected = createHash('sha256')
      .update(await readFile(join(dir, 'ed25519_public.key')))
      .digest('hex');
    assert.equal(result.stdout, `${expected}\n`);
    if (!hasSha256sum()) {
      t.skip('sha256sum not installed');
      return;
    }
    const sum = execFileSync('sha256sum', ['ed25519_public.key'], { cwd: dir, encoding: 'utf8' }).split(
      ' ',
    )[0];
    assert.equal(result.stdout.trim(), sum);
  });

  it('exits 2 with one clear line on usage errors', () => {
    const cases: string[][] = [
      [],
      ['frobnicate'],
      ['sign'],
      ['sign', '-plugin'],
      ['verify', '-plugin', plugin],
      ['hash'],
      ['hash', '-plugin', plugin, '-publicKey', 'k'],
      ['generate-keys', '-bogus', 'x'],
      ['generate-keys', '-force=maybe'],
      ['generate-keys', 'extra'],
    ];
    for (const args of cases) {
      const result = signer(dir, ...args);
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, /^plugin-signer: /);
    }
  });

  it('--help and -h print the usage and exit 0', () => {
    for (const args of [['--help'], ['-h'], ['help'], ['sign', '--help']]) {
      const result = signer(dir, ...args);
      assert.equal(result.status, 0);
      assert.match(result.stdout, /^usage: plugin-signer/);
    }
  });

  it('exits 1 with a readable error when a file cannot be read', () => {
    const result = signer(dir, 'sign', '-plugin', plugin, '-privateKey', 'missing.key');
    assert.equal(result.status, 1);
    assert.match(result.stderr, /cannot read private key: .*missing\.key/);
    assert.equal(signer(dir, 'hash', '-publicKey', 'missing.key').status, 1);
  });
});
