#!/usr/bin/env node
// Signs every built plugin, <dir>/<name>/<name>.mjs → <name>.mjs.sig, with one private key
// (the development key by default). Needs `make build`: it uses Dito's own signing module.
// Usage: node scripts/sign-plugins.mjs [--dir bin/plugins] [--privateKey keys/ed25519_private.key]
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const signing = await import('../dist/src/plugins/signing.js').catch(() =>
  fail('dist/src/plugins/signing.js is missing: run `make build` first'),
);

const { values } = parseArgs({
  options: { dir: { type: 'string' }, privateKey: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  console.log(
    'usage: node scripts/sign-plugins.mjs [--dir bin/plugins] [--privateKey keys/ed25519_private.key]',
  );
  process.exit(0);
}
const pluginsDir = resolve(values.dir ?? join(repoRoot, 'bin', 'plugins'));
const privateKeyPath = resolve(values.privateKey ?? join(repoRoot, 'keys', 'ed25519_private.key'));

const privateKeyBytes = await readFile(privateKeyPath).catch((error) =>
  fail(`cannot read the private key ${privateKeyPath}: ${error.message} (make generate-keys creates one)`),
);
const privateKey = signing.parsePrivateKey(privateKeyBytes);
const entries = await readdir(pluginsDir, { withFileTypes: true }).catch((error) =>
  fail(`cannot read ${pluginsDir}: ${error.message} (make build-plugins creates it)`),
);

let signed = 0;
for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
  if (entry.name.startsWith('.') || !entry.isDirectory()) continue;
  const modulePath = join(pluginsDir, entry.name, `${entry.name}.mjs`);
  const isFile = await stat(modulePath).then(
    (info) => info.isFile(),
    () => false,
  );
  if (!isFile) {
    console.warn(`note: ${join(pluginsDir, entry.name)} has no ${entry.name}.mjs: skipped`);
    continue;
  }
  // Same format as `plugin-signer sign`: hex, no trailing newline.
  await writeFile(`${modulePath}.sig`, signing.signBytes(await readFile(modulePath), privateKey));
  console.log(`signed ${relative(process.cwd(), modulePath)}`);
  signed++;
}
console.log(`${signed} plugin(s) signed with ${relative(process.cwd(), privateKeyPath) || privateKeyPath}`);

function fail(message) {
  console.error(`sign-plugins: ${message}`);
  process.exit(1);
}
