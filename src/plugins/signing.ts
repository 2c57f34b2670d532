// Ed25519 signing of plugin bundles, with node:crypto only.
// A signature is the hex Ed25519 signature of the raw 32-byte SHA-256 digest of the file's bytes,
// the format of the original Go plugin-signer, so `.sig` files stay interchangeable.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';

export interface KeyPairPem {
  /** SPKI, PEM. */
  publicKeyPem: string;
  /** PKCS#8, PEM. */
  privateKeyPem: string;
}

const SIGNATURE_HEX = /^[0-9a-fA-F]{128}$/;
const RAW_PUBLIC_KEY_LENGTH = 32;
const RAW_PRIVATE_KEY_LENGTH = 64;

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  return sha256Hex(await readFile(path));
}

export function generateKeyPair(): KeyPairPem {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519', {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKeyPem: publicKey, privateKeyPem: privateKey };
}

/**
 * Writes a fresh pair: the private key with mode 0600, the public key 0644.
 * Without `force`, refuses (before writing anything) when either file exists, so an existing
 * pair that plugins were signed with is never silently replaced.
 */
export async function writeKeyPair(
  privateKeyPath: string,
  publicKeyPath: string,
  options: { force?: boolean } = {},
): Promise<KeyPairPem> {
  if (privateKeyPath === publicKeyPath) {
    throw new Error('the private and public key paths must differ');
  }
  const pair = generateKeyPair();
  if (options.force) {
    await replaceFile(privateKeyPath, pair.privateKeyPem, 0o600);
    await replaceFile(publicKeyPath, pair.publicKeyPem, 0o644);
    return pair;
  }
  // 'wx' fails with EEXIST atomically; the public key is checked first because it is the one
  // whose hash sits in configs, and if it fails nothing has been written yet.
  await writeFile(publicKeyPath, pair.publicKeyPem, { mode: 0o644, flag: 'wx' }).catch(refuseExisting);
  try {
    await writeFile(privateKeyPath, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    await rm(publicKeyPath, { force: true });
    refuseExisting(error);
  }
  return pair;
}

/** Signs the SHA-256 digest of `bytes`; returns 128 lowercase hex characters. */
export function signBytes(bytes: Uint8Array, privateKey: string | Uint8Array | KeyObject): string {
  const key = isKeyObject(privateKey) ? privateKey : parsePrivateKey(privateKey);
  assertEd25519(key);
  const digest = createHash('sha256').update(bytes).digest();
  return sign(null, digest, key).toString('hex');
}

/**
 * True when `signatureHex` is a valid signature of `bytes`. Surrounding whitespace (the trailing
 * newline an editor or `echo` adds) is ignored; a malformed signature is `false`, never a throw.
 * A key that is not an Ed25519 public key does throw: that is a configuration error, not a
 * bad plugin.
 */
export function verifyBytes(
  bytes: Uint8Array,
  signatureHex: string,
  publicKey: string | Uint8Array | KeyObject,
): boolean {
  const key = isKeyObject(publicKey) ? publicKey : parsePublicKey(publicKey);
  assertEd25519(key);
  const trimmed = signatureHex.trim();
  if (!SIGNATURE_HEX.test(trimmed)) return false;
  const digest = createHash('sha256').update(bytes).digest();
  try {
    return verify(null, digest, key, Buffer.from(trimmed, 'hex'));
  } catch {
    return false;
  }
}

/**
 * Parses an Ed25519 public key: PEM (SPKI), or the 32 raw bytes the original Go plugin-signer
 * wrote, so key files made for the Go Dito keep working. Throws a readable error otherwise.
 */
export function parsePublicKey(key: string | Uint8Array): KeyObject {
  const bytes = typeof key === 'string' ? Buffer.from(key) : Buffer.from(key);
  let parsed: KeyObject;
  try {
    parsed =
      bytes.length === RAW_PUBLIC_KEY_LENGTH
        ? createPublicKey({
            key: { kty: 'OKP', crv: 'Ed25519', x: bytes.toString('base64url') },
            format: 'jwk',
          })
        : createPublicKey(bytes);
  } catch (error) {
    throw new Error(`not an Ed25519 public key (PEM/SPKI expected): ${(error as Error).message}`, {
      cause: error,
    });
  }
  assertEd25519(parsed);
  return parsed;
}

/** Parses an Ed25519 private key: PEM (PKCS#8), or the Go format (64 raw bytes: seed, public key). */
export function parsePrivateKey(key: string | Uint8Array): KeyObject {
  const bytes = typeof key === 'string' ? Buffer.from(key) : Buffer.from(key);
  let parsed: KeyObject;
  try {
    parsed =
      bytes.length === RAW_PRIVATE_KEY_LENGTH
        ? createPrivateKey({
            key: {
              kty: 'OKP',
              crv: 'Ed25519',
              d: bytes.subarray(0, 32).toString('base64url'),
              x: bytes.subarray(32).toString('base64url'),
            },
            format: 'jwk',
          })
        : createPrivateKey(bytes);
  } catch (error) {
    throw new Error(`not an Ed25519 private key (PEM/PKCS#8 expected): ${(error as Error).message}`, {
      cause: error,
    });
  }
  assertEd25519(parsed);
  return parsed;
}

function isKeyObject(key: unknown): key is KeyObject {
  return key instanceof KeyObject;
}

function assertEd25519(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? key.type}`);
  }
}

async function replaceFile(path: string, content: string, mode: number): Promise<void> {
  // Write beside and rename, so the file never exists with looser permissions or half-written.
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode, flag: 'wx' });
  await rename(temporary, path);
}

function refuseExisting(error: unknown): never {
  if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
    const path = (error as NodeJS.ErrnoException).path ?? 'key file';
    throw new Error(`${path} already exists (refusing to overwrite; use -force to replace the key pair)`);
  }
  throw error;
}
