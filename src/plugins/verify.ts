// Verification without execution: the public key against its pinned hash, then every plugin's
// signature, reading each module into memory once. Nothing here imports plugin code, which is why
// `dito --check` and the loader both start with it.
import type { KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PluginsConfig } from '../config/types.js';
import { PluginError } from './errors.js';
import { parsePublicKey, sha256Hex, verifyBytes } from './signing.js';

/** A plugin whose module bytes have been verified; only these bytes may ever be executed. */
export interface VerifiedPlugin {
  name: string;
  /** The plugin's folder (absolute when the config's directory is). */
  dir: string;
  modulePath: string;
  bytes: Buffer;
  /** SHA-256 hex of `bytes`. */
  sha256: string;
}

/**
 * Folder names become middleware names, log fields and part of the module's source URL, so they are
 * kept to a safe alphabet rather than escaped everywhere.
 */
const PLUGIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Checks the key hash and every signature; throws PluginError on the first failure. */
export async function verifyPlugins(cfg: PluginsConfig): Promise<VerifiedPlugin[]> {
  const publicKey = await readPinnedPublicKey(cfg);
  const names = await listPluginFolders(cfg.directory);
  const verified: VerifiedPlugin[] = [];
  for (const name of names) verified.push(await verifyOne(cfg.directory, name, publicKey));
  return verified;
}

/** For `dito --check`: verifies and reports, executes nothing. */
export async function verifyPluginsOnly(
  cfg: PluginsConfig,
): Promise<Array<{ name: string; sha256: string }>> {
  const verified = await verifyPlugins(cfg);
  return verified.map(({ name, sha256 }) => ({ name, sha256 }));
}

async function readPinnedPublicKey(cfg: PluginsConfig): Promise<KeyObject> {
  let keyBytes: Buffer;
  try {
    keyBytes = await readFile(cfg.publicKeyPath);
  } catch (error) {
    throw new PluginError(`failed to read public key: ${cfg.publicKeyPath}`, {
      reason: (error as Error).message,
      cause: error,
    });
  }
  // Hash the bytes on disk, not the parsed key: the pin covers exactly the file that is trusted.
  const actual = sha256Hex(keyBytes);
  const expected = cfg.publicKeyHash.trim().toLowerCase();
  if (actual !== expected) {
    throw new PluginError('public key integrity validation failed', {
      reason: `sha256 of ${cfg.publicKeyPath} is ${actual}, plugins.public_key_hash is ${expected || '(empty)'}`,
    });
  }
  try {
    return parsePublicKey(keyBytes);
  } catch (error) {
    throw new PluginError(`invalid public key: ${cfg.publicKeyPath}`, {
      reason: (error as Error).message,
      cause: error,
    });
  }
}

/**
 * Every folder of the plugins directory, sorted, symlinks followed. Dot-folders are skipped:
 * Kubernetes mounts ConfigMaps and Secrets with `..data` and `..<timestamp>` folders beside the
 * real entries, and editors and VCS leave their own.
 */
export async function listPluginFolders(directory: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(directory);
  } catch (error) {
    throw new PluginError(`plugins directory not readable: ${directory}`, {
      reason: (error as Error).message,
      cause: error,
    });
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    const info = await stat(join(directory, entry)).catch(() => undefined);
    if (!info?.isDirectory()) continue;
    if (!PLUGIN_NAME.test(entry)) {
      throw new PluginError(`invalid plugin folder name: ${entry}`, {
        plugin: entry,
        reason: 'letters, digits, ".", "_" and "-" only, starting with a letter or digit',
      });
    }
    names.push(entry);
  }
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function verifyOne(directory: string, name: string, publicKey: KeyObject): Promise<VerifiedPlugin> {
  const dir = join(directory, name);
  const modulePath = join(dir, `${name}.mjs`);
  const signaturePath = `${modulePath}.sig`;
  let bytes: Buffer;
  try {
    bytes = await readFile(modulePath);
  } catch (error) {
    throw new PluginError(`plugin module not readable: ${name}`, {
      plugin: name,
      reason: `${modulePath}: ${(error as Error).message}`,
      cause: error,
    });
  }
  let signature: string;
  try {
    signature = await readFile(signaturePath, 'latin1');
  } catch (error) {
    throw new PluginError(`plugin signature verification failed: ${name}`, {
      plugin: name,
      reason: `cannot read ${signaturePath}: ${(error as Error).message}`,
      cause: error,
    });
  }
  if (!verifyBytes(bytes, signature, publicKey)) {
    throw new PluginError(`plugin signature verification failed: ${name}`, {
      plugin: name,
      reason: `${signaturePath} does not match ${modulePath} under the configured public key`,
    });
  }
  return { name, dir, modulePath, bytes, sha256: sha256Hex(bytes) };
}
