#!/usr/bin/env node
// Builds every plugin source folder (plugins/<name>/) into one self-contained ES module,
// bin/plugins/<name>/<name>.mjs, with its npm dependencies bundled in, and copies its config.yaml.
// Usage: node scripts/build-plugins.mjs [--src plugins] [--out bin/plugins] [name ...]
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// The loader imports a plugin from a data: URL (the verified bytes, not the file), where
// `import.meta.url` is no file path. esbuild's ESM output calls `require` for the Node built-ins
// that CommonJS dependencies use; this gives it one that serves built-ins only, so everything a
// plugin runs is inside the signed bundle.
const BANNER = [
  "import { createRequire as __ditoCreateRequire, isBuiltin as __ditoIsBuiltin } from 'node:module';",
  'const require = ((nodeRequire) => (id) => {',
  "  if (!__ditoIsBuiltin(id)) throw new Error('a Dito plugin can require only Node built-ins, not ' + id + ': bundle it');",
  '  return nodeRequire(id);',
  "})(__ditoCreateRequire(import.meta.url.startsWith('file:') ? import.meta.url : process.cwd() + '/'));",
].join('\n');

const ENTRY_CANDIDATES = ['index.ts', 'index.mts', 'index.mjs', 'index.js'];

const { values, positionals } = parseArgs({
  options: { src: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  allowPositionals: true,
});
if (values.help) {
  console.log('usage: node scripts/build-plugins.mjs [--src plugins] [--out bin/plugins] [name ...]');
  process.exit(0);
}
const sourceRoot = resolve(values.src ?? join(repoRoot, 'plugins'));
const outputRoot = resolve(values.out ?? join(repoRoot, 'bin', 'plugins'));

const available = await pluginSources(sourceRoot);
const wanted = positionals.length > 0 ? positionals : available;
for (const name of wanted) {
  if (!available.includes(name))
    fail(`no plugin source folder ${join(sourceRoot, name)} (with a package.json)`);
}
if (wanted.length === 0) console.log(`no plugin sources in ${sourceRoot}`);
for (const name of wanted) await buildPlugin(name);
await warnAboutStaleOutputs(available);

async function buildPlugin(name) {
  const source = join(sourceRoot, name);
  const manifest = JSON.parse(await readFile(join(source, 'package.json'), 'utf8'));
  await installDependencies(source, manifest);
  const entry = await findEntry(source, manifest);
  const output = join(outputRoot, name);
  // Start from an empty folder: a stale .sig or config.yaml must not outlive the bundle it belonged to.
  await rm(output, { recursive: true, force: true });
  await mkdir(output, { recursive: true });
  await esbuild.build({
    entryPoints: [entry],
    outfile: join(output, `${name}.mjs`),
    absWorkingDir: source,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    banner: { js: BANNER },
    // A source map file would not be signed; an inline one would bloat every import. None.
    sourcemap: false,
    legalComments: 'eof',
    charset: 'utf8',
    logLevel: 'warning',
  });
  if (await exists(join(source, 'config.yaml')))
    await copyFile(join(source, 'config.yaml'), join(output, 'config.yaml'));
  const size = (await stat(join(output, `${name}.mjs`))).size;
  console.log(`built ${relative(process.cwd(), join(output, `${name}.mjs`)) || '.'} (${size} bytes)`);
}

async function installDependencies(source, manifest) {
  const dependencies = { ...manifest.dependencies, ...manifest.devDependencies };
  if (Object.keys(dependencies).length === 0) return;
  const lock = join(source, 'package-lock.json');
  const installed = join(source, 'node_modules', '.package-lock.json');
  if (await exists(lock)) {
    // npm ci wipes node_modules; skip it when the install is already newer than the lock file.
    if ((await mtime(installed)) > Math.max(await mtime(lock), await mtime(join(source, 'package.json'))))
      return;
    npm(source, ['ci']);
  } else {
    npm(source, ['install']);
  }
}

function npm(cwd, args) {
  // --ignore-scripts: dependency install scripts would run on the build machine, and a bundle
  // cannot carry what they build (native addons) anyway.
  const command = process.env.NPM || 'npm';
  const fullArgs = [...args, '--no-audit', '--no-fund', '--ignore-scripts'];
  console.log(`${relative(repoRoot, cwd) || cwd}: ${command} ${fullArgs.join(' ')}`);
  const result = spawnSync(command, fullArgs, { cwd, stdio: 'inherit' });
  if (result.status !== 0) fail(`${command} ${args[0]} failed in ${cwd}`);
}

async function findEntry(source, manifest) {
  const candidates = typeof manifest.main === 'string' ? [manifest.main] : ENTRY_CANDIDATES;
  for (const candidate of candidates) {
    if (await exists(join(source, candidate))) return join(source, candidate);
  }
  fail(`${source}: no entry point (package.json "main", or one of ${ENTRY_CANDIDATES.join(', ')})`);
}

async function pluginSources(root) {
  const entries = await readdir(root, { withFileTypes: true }).catch((error) => {
    fail(`cannot read plugin sources ${root}: ${error.message}`);
  });
  const names = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.') || !entry.isDirectory()) continue;
    if (await exists(join(root, entry.name, 'package.json'))) names.push(entry.name);
  }
  return names.sort();
}

async function warnAboutStaleOutputs(sources) {
  const outputs = await readdir(outputRoot, { withFileTypes: true }).catch(() => []);
  for (const entry of outputs) {
    if (entry.isDirectory() && !sources.includes(entry.name)) {
      console.warn(
        `note: ${join(outputRoot, entry.name)} has no source in ${sourceRoot} (make clean-plugins removes it)`,
      );
    }
  }
}

async function exists(path) {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function mtime(path) {
  return stat(path).then(
    (info) => info.mtimeMs,
    () => 0,
  );
}

function fail(message) {
  console.error(`build-plugins: ${message}`);
  process.exit(1);
}
