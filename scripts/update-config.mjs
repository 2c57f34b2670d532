#!/usr/bin/env node
// Points a Dito config at the plugins and their public key: sets plugins.directory,
// plugins.public_key_path and plugins.public_key_hash, editing the YAML document in place so
// comments and key order survive.
// Usage: node scripts/update-config.mjs [config=bin/config.yaml] [--directory bin/plugins]
//          [--publicKey keys/ed25519_public.key] [--absolute]
import { createHash } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMap, isScalar, parseDocument } from 'yaml';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const { values, positionals } = parseArgs({
  options: {
    directory: { type: 'string' },
    publicKey: { type: 'string' },
    absolute: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
  allowPositionals: true,
});
if (values.help || positionals.length > 1) {
  console.log(
    'usage: node scripts/update-config.mjs [config=bin/config.yaml] [--directory bin/plugins] ' +
      '[--publicKey keys/ed25519_public.key] [--absolute]',
  );
  process.exit(values.help ? 0 : 2);
}
const configPath = resolve(positionals[0] ?? join(repoRoot, 'bin', 'config.yaml'));
const pluginsDir = resolve(values.directory ?? join(repoRoot, 'bin', 'plugins'));
const publicKeyPath = resolve(values.publicKey ?? join(repoRoot, 'keys', 'ed25519_public.key'));

const text = await readFile(configPath, 'utf8').catch((error) =>
  fail(
    error.code === 'ENOENT'
      ? `${configPath} does not exist: create it first (e.g. from the example config), then run this again`
      : `cannot read ${configPath}: ${error.message}`,
  ),
);
const keyBytes = await readFile(publicKeyPath).catch((error) =>
  fail(`cannot read the public key ${publicKeyPath}: ${error.message} (make generate-keys creates one)`),
);
const hash = createHash('sha256').update(keyBytes).digest('hex');

const doc = parseDocument(text);
if (doc.errors.length > 0) fail(`${configPath}: ${doc.errors[0].message}`);
if (doc.contents === null) doc.contents = doc.createNode({});
if (!isMap(doc.contents)) fail(`${configPath}: the top level is not a mapping`);
let plugins = doc.get('plugins', true);
if (!isMap(plugins)) {
  plugins = doc.createNode({});
  doc.set('plugins', plugins);
}
const settings = {
  directory: configRelative(pluginsDir),
  public_key_path: configRelative(publicKeyPath),
  public_key_hash: hash,
};
for (const [key, value] of Object.entries(settings)) {
  const existing = plugins.get(key, true);
  // Changing the scalar in place keeps its comment and quoting; replacing the node would drop them.
  if (isScalar(existing)) existing.value = value;
  else plugins.set(key, value);
}

const mode = (await stat(configPath)).mode & 0o777;
const temporary = `${configPath}.${process.pid}.tmp`;
await writeFile(temporary, doc.toString(), { mode });
await rename(temporary, configPath);
console.log(`updated ${relative(process.cwd(), configPath) || configPath}:`);
for (const [key, value] of Object.entries(settings)) console.log(`  plugins.${key}: ${value}`);

/**
 * Dito resolves relative paths against the config file's folder. Inside the repository a relative
 * path keeps the checkout movable; anything outside it (production keys) is written absolute.
 */
function configRelative(target) {
  if (values.absolute || !isInside(repoRoot, target) || !isInside(repoRoot, configPath)) return target;
  const path = relative(dirname(configPath), target) || '.';
  return path.startsWith('..') || isAbsolute(path) ? path : `.${sep}${path}`;
}

function isInside(root, path) {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function fail(message) {
  console.error(`update-config: ${message}`);
  process.exit(1);
}
