// Signing primitives: interoperability with plain node:crypto, the .sig format's leniency
// (trailing whitespace) and strictness (malformed → false), key files and their modes.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  generateKeyPair,
  parsePublicKey,
  sha256File,
  sha256Hex,
  signBytes,
  verifyBytes,
  writeKeyPair,
} from '../../src/plugins/signing.js';
import { makeTempDir } from '../helpers/plugins.js';

const payload = Buffer.from('export default () => ({ name: "x" });\n');
const digest = (bytes: Uint8Array): Buffer => createHash('sha256').update(bytes).digest();

describe('plugin signing', () => {
  const { privateKeyPem, publicKeyPem } = generateKeyPair();
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('generates PEM keys: SPKI public, PKCS#8 private, Ed25519', () => {
    assert.match(publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.match(privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(createPublicKey(publicKeyPem).asymmetricKeyType, 'ed25519');
  });

  it('signs the SHA-256 digest: plain node:crypto verifies our signature', () => {
    const signature = signBytes(payload, privateKeyPem);
    assert.match(signature, /^[0-9a-f]{128}$/);
    assert.equal(verify(null, digest(payload), publicKeyPem, Buffer.from(signature, 'hex')), true);
    // Over the digest, not over the bytes themselves (the Go format).
    assert.equal(verify(null, payload, publicKeyPem, Buffer.from(signature, 'hex')), false);
  });

  it('verifies a signature made with plain node:crypto', () => {
    const signature = sign(null, digest(payload), privateKeyPem).toString('hex');
    assert.equal(verifyBytes(payload, signature, publicKeyPem), true);
    assert.equal(verifyBytes(payload, signature.toUpperCase(), publicKeyPem), true);
  });

  it('ignores a trailing newline or surrounding whitespace in the .sig', () => {
    const signature = signBytes(payload, privateKeyPem);
    for (const text of [`${signature}\n`, `${signature}\r\n`, `  ${signature}\t\n`]) {
      assert.equal(verifyBytes(payload, text, publicKeyPem), true);
    }
  });

  it('returns false, never throws, for malformed signatures', () => {
    const signature = signBytes(payload, privateKeyPem);
    const malformed = [
      '',
      '\n',
      'zz',
      signature.slice(1),
      `${signature}0`,
      `${signature.slice(0, 127)}g`,
      'x'.repeat(128),
    ];
    for (const text of malformed) assert.equal(verifyBytes(payload, text, publicKeyPem), false, text);
    assert.equal(verifyBytes(payload, `${signature} ${signature}`, publicKeyPem), false);
  });

  it('rejects changed bytes and a different key', () => {
    const signature = signBytes(payload, privateKeyPem);
    assert.equal(verifyBytes(Buffer.concat([payload, Buffer.from(' ')]), signature, publicKeyPem), false);
    assert.equal(verifyBytes(payload, signature, generateKeyPair().publicKeyPem), false);
  });

  it('refuses keys that are not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    assert.throws(() => verifyBytes(payload, 'ab'.repeat(64), rsa.toString()), /Ed25519/);
    assert.throws(() => parsePublicKey('not a key'), /Ed25519 public key/);
  });

  it('accepts the raw key files of the original Go plugin-signer', () => {
    const pair = generateKeyPairSync('ed25519');
    const jwk = pair.privateKey.export({ format: 'jwk' });
    const rawPublic = Buffer.from(jwk.x ?? '', 'base64url');
    const rawPrivate = Buffer.concat([Buffer.from(jwk.d ?? '', 'base64url'), rawPublic]);
    const signature = signBytes(payload, rawPrivate);
    assert.equal(verifyBytes(payload, signature, rawPublic), true);
    assert.equal(verify(null, digest(payload), pair.publicKey, Buffer.from(signature, 'hex')), true);
  });

  it('hashes bytes and files alike', async () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const dir = await makeTempDir();
    dirs.push(dir);
    await writeFile(join(dir, 'f'), 'abc');
    assert.equal(await sha256File(join(dir, 'f')), sha256Hex('abc'));
  });

  it('writes a key pair with a 0600 private key and refuses to overwrite it', async () => {
    const dir = await makeTempDir();
    dirs.push(dir);
    const privatePath = join(dir, 'priv.key');
    const publicPath = join(dir, 'pub.key');
    const pair = await writeKeyPair(privatePath, publicPath);
    assert.equal((await stat(privatePath)).mode & 0o777, 0o600);
    assert.equal(await readFile(publicPath, 'utf8'), pair.publicKeyPem);
    await assert.rejects(writeKeyPair(privatePath, publicPath), /already exists/);
    assert.equal(await readFile(publicPath, 'utf8'), pair.publicKeyPem, 'untouched after a refusal');
    assert.equal(await readFile(privatePath, 'utf8'), pair.privateKeyPem);
  });

  it('refuses when only the private key exists, leaving no stray public key', async () => {
    const dir = await makeTempDir();
    dirs.push(dir);
    await writeFile(join(dir, 'priv.key'), 'keep me');
    await assert.rejects(writeKeyPair(join(dir, 'priv.key'), join(dir, 'pub.key')), /already exists/);
    await assert.rejects(stat(join(dir, 'pub.key')), { code: 'ENOENT' });
    assert.equal(await readFile(join(dir, 'priv.key'), 'utf8'), 'keep me');
  });

  it('replaces a pair with force, the private key again 0600', async () => {
    const dir = await makeTempDir();
    dirs.push(dir);
    const privatePath = join(dir, 'priv.key');
    await writeFile(privatePath, 'old', { mode: 0o644 });
    const pair = await writeKeyPair(privatePath, join(dir, 'pub.key'), { force: true });
    assert.equal(await readFile(privatePath, 'utf8'), pair.privateKeyPem);
    assert.equal((await stat(privatePath)).mode & 0o777, 0o600);
  });
});
