// Test fixtures for signed plugins, shared by the plugin unit tests and the end-to-end tests:
// key pairs, signed plugin folders and their PluginsConfig in temp dirs, generated plugin sources,
// the example-plugin build, a recording logger and a fake req/res pair for driving a middleware.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stringify as stringifyYaml } from 'yaml';
import type { PluginsConfig } from '../../src/config/types.js';
import { generateKeyPair, sha256Hex, signBytes } from '../../src/plugins/signing.js';
import type { PluginLogger, PluginMiddleware } from '../../src/plugins/types.js';

const execFileAsync = promisify(execFile);

/** The repository root (this file runs from dist/test/helpers/). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const pluginSignerBin = join(repoRoot, 'bin', 'plugin-signer');

export async function makeTempDir(prefix = 'dito-plugins-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface TestKeys {
  privateKeyPath: string;
  publicKeyPath: string;
  privateKeyPem: string;
  publicKeyPem: string;
  /** SHA-256 hex of the public key file: the value of plugins.public_key_hash. */
  publicKeyHash: string;
}

/** A fresh Ed25519 pair written into `dir` (private key 0600). */
export async function makeKeys(dir: string, prefix = 'ed25519'): Promise<TestKeys> {
  const { privateKeyPem, publicKeyPem } = generateKeyPair();
  const privateKeyPath = join(dir, `${prefix}_private.key`);
  const publicKeyPath = join(dir, `${prefix}_public.key`);
  await writeFile(privateKeyPath, privateKeyPem, { mode: 0o600 });
  await writeFile(publicKeyPath, publicKeyPem);
  return {
    privateKeyPath,
    publicKeyPath,
    privateKeyPem,
    publicKeyPem,
    publicKeyHash: sha256Hex(publicKeyPem),
  };
}

export interface TestPluginSpec {
  /** Folder name. */
  name: string;
  /** Module source; default `pluginSource({ name })`. */
  source?: string;
  /** config.yaml: YAML text, or an object to serialise; omitted → no config.yaml. */
  config?: string | Record<string, unknown>;
  /** 'valid' (default), 'none' (no .sig), 'tampered' (a byte appended after signing), 'other-key'. */
  signature?: 'valid' | 'none' | 'tampered' | 'other-key';
}

/** Writes `<pluginsDir>/<name>/<name>.mjs` (+ .sig, + config.yaml) as the spec says. */
export async function writeSignedPlugin(
  pluginsDir: string,
  spec: TestPluginSpec,
  keys: TestKeys,
): Promise<string> {
  const dir = join(pluginsDir, spec.name);
  await mkdir(dir, { recursive: true });
  const modulePath = join(dir, `${spec.name}.mjs`);
  const bytes = Buffer.from(spec.source ?? pluginSource({ name: spec.name }));
  await writeFile(modulePath, bytes);
  const signature = spec.signature ?? 'valid';
  if (signature !== 'none') {
    const key = signature === 'other-key' ? generateKeyPair().privateKeyPem : keys.privateKeyPem;
    await writeFile(`${modulePath}.sig`, `${signBytes(bytes, key)}\n`);
  }
  if (signature === 'tampered') await writeFile(modulePath, Buffer.concat([bytes, Buffer.from(' ')]));
  if (spec.config !== undefined) {
    const text = typeof spec.config === 'string' ? spec.config : stringifyYaml(spec.config);
    await writeFile(join(dir, 'config.yaml'), text);
  }
  return dir;
}

export interface PluginsFixture {
  root: string;
  pluginsDir: string;
  keys: TestKeys;
  /** Ready for loadPlugins / verifyPluginsOnly; also what a test config's `plugins:` block should say. */
  cfg: PluginsConfig;
  /** A `plugins:` block for a Dito config.yaml (absolute paths). */
  yaml: string;
  cleanup(): Promise<void>;
}

/** A temp dir with keys/, plugins/ holding the given plugins, and the matching PluginsConfig. */
export async function makePluginsFixture(specs: readonly TestPluginSpec[]): Promise<PluginsFixture> {
  const root = await makeTempDir();
  const pluginsDir = join(root, 'plugins');
  await mkdir(join(root, 'keys'));
  await mkdir(pluginsDir);
  const keys = await makeKeys(join(root, 'keys'));
  for (const spec of specs) await writeSignedPlugin(pluginsDir, spec, keys);
  const cfg: PluginsConfig = {
    directory: pluginsDir,
    publicKeyPath: keys.publicKeyPath,
    publicKeyHash: keys.publicKeyHash,
  };
  const yaml = stringifyYaml({
    plugins: {
      directory: pluginsDir,
      public_key_path: keys.publicKeyPath,
      public_key_hash: keys.publicKeyHash,
    },
  });
  return { root, pluginsDir, keys, cfg, yaml, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export interface PluginSourceOptions {
  /** The name the plugin reports (normally its folder name). */
  name: string;
  /** Written at import time: lets a test prove the module's top level ran, or never did. */
  markerFile?: string;
  /** Response header set by the middleware; the value may be `$config.<key>` to echo the config. */
  responseHeader?: [name: string, value: string];
  /** Request header (lower-case) added for the upstream. */
  requestHeader?: [name: string, value: string];
  /** Extra statements inside `async init(config, app)`, e.g. `throw new Error('no')`. */
  initBody?: string;
  /** Extra statements inside `async close()`. */
  closeBody?: string;
  /** What the middleware does after setting headers. */
  middleware?: 'next' | 'answer' | 'throw' | 'next-error' | 'reject' | 'none';
}

/**
 * A plugin module as a bundler would emit it. The plugin object exposes `received` (the config and
 * logger it got), `initCalls`, `closeCalls` and `moduleUrl`, for assertions on `LoadedPlugin.plugin`.
 */
export function pluginSource(options: PluginSourceOptions): string {
  const lines = ["import { writeFileSync } from 'node:fs';"];
  if (options.markerFile) lines.push(`writeFileSync(${JSON.stringify(options.markerFile)}, 'imported');`);
  const [responseName, responseValue] = options.responseHeader ?? [];
  const responseValueCode = responseValue?.startsWith('$config.')
    ? `String(received.config?.[${JSON.stringify(responseValue.slice('$config.'.length))}])`
    : JSON.stringify(responseValue);
  const behaviour = options.middleware ?? 'next';
  const finish = {
    next: 'next();',
    answer:
      "res.statusCode = 299; res.setHeader('content-type', 'text/plain'); res.end('answered by plugin');",
    throw: "throw new Error('plugin middleware failed');",
    'next-error': "next(new Error('plugin passed an error'));",
    reject: "return Promise.reject(new Error('plugin middleware rejected'));",
    none: '',
  }[behaviour];
  lines.push(
    `export default function createPlugin() {`,
    `  const received = {};`,
    `  const plugin = {`,
    `    name: ${JSON.stringify(options.name)},`,
    `    received, initCalls: 0, closeCalls: 0, moduleUrl: import.meta.url.slice(0, 5),`,
    `    async init(config, app) {`,
    `      plugin.initCalls++; received.config = config; received.logger = app.logger;`,
    `      ${options.initBody ?? ''}`,
    `    },`,
    `    async close() { plugin.closeCalls++; ${options.closeBody ?? ''} },`,
  );
  if (behaviour !== 'none') {
    lines.push(
      `    middleware() {`,
      `      return (req, res, next) => {`,
      responseName ? `        res.setHeader(${JSON.stringify(responseName)}, ${responseValueCode});` : '',
      options.requestHeader
        ? `        req.headers[${JSON.stringify(options.requestHeader[0].toLowerCase())}] = ${JSON.stringify(options.requestHeader[1])};`
        : '',
      `        ${finish}`,
      `      };`,
      `    },`,
    );
  }
  lines.push(`  };`, `  return plugin;`, `}`, '');
  return lines.join('\n');
}

/** Runs scripts/build-plugins.mjs (the example plugins by default) into `outDir`. */
export async function buildPlugins(
  outDir: string,
  options: { src?: string; names?: string[] } = {},
): Promise<void> {
  const args = [join(repoRoot, 'scripts', 'build-plugins.mjs'), '--out', outDir];
  if (options.src) args.push('--src', options.src);
  await execFileAsync(process.execPath, [...args, ...(options.names ?? [])], { cwd: repoRoot });
}

/** Runs scripts/sign-plugins.mjs over `pluginsDir` with the given private key. */
export async function signPlugins(pluginsDir: string, privateKeyPath: string): Promise<void> {
  const script = join(repoRoot, 'scripts', 'sign-plugins.mjs');
  await execFileAsync(process.execPath, [script, '--dir', pluginsDir, '--privateKey', privateKeyPath], {
    cwd: repoRoot,
  });
}

export interface LogRecord {
  level: 'debug' | 'info' | 'warn' | 'error';
  bindings: Record<string, unknown>;
  obj: object | string;
  msg?: string;
}

/** A PluginLogger that records every call (children share the records, with their bindings). */
export function recordingLogger(
  records: LogRecord[] = [],
  bindings: Record<string, unknown> = {},
): PluginLogger & { records: LogRecord[] } {
  const at =
    (level: LogRecord['level']) =>
    (obj: object | string, msg?: string): void => {
      records.push({ level, bindings, obj, msg });
    };
  return {
    records,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(records, { ...bindings, ...more }),
  };
}

export interface ExchangeResult {
  nextCalled: boolean;
  nextError?: unknown;
  thrown?: unknown;
  ended: boolean;
  statusCode: number;
  /** Lower-case names. */
  responseHeaders: Record<string, string | number | string[]>;
  body: string;
  /** The request headers after the middleware (what the upstream would see). */
  requestHeaders: Record<string, string | string[] | undefined>;
}

/**
 * Drives one middleware with a minimal fake request and response (enough for Connect-style code
 * such as `cors`), and resolves once it called next(), ended the response, threw or rejected.
 */
export async function runMiddleware(
  middleware: PluginMiddleware,
  request: { method?: string; url?: string; headers?: Record<string, string> } = {},
): Promise<ExchangeResult> {
  const requestHeaders: Record<string, string | string[] | undefined> = { ...request.headers };
  const responseHeaders: ExchangeResult['responseHeaders'] = {};
  const result: ExchangeResult = {
    nextCalled: false,
    ended: false,
    statusCode: 200,
    responseHeaders,
    body: '',
    requestHeaders,
  };
  return new Promise<ExchangeResult>((resolvePromise) => {
    const done = (): void => resolvePromise(result);
    const req = { method: request.method ?? 'GET', url: request.url ?? '/', headers: requestHeaders };
    const res = {
      get statusCode() {
        return result.statusCode;
      },
      set statusCode(code: number) {
        result.statusCode = code;
      },
      setHeader(name: string, value: string | number | string[]) {
        responseHeaders[name.toLowerCase()] = value;
        return res;
      },
      getHeader: (name: string) => responseHeaders[name.toLowerCase()],
      removeHeader: (name: string) => delete responseHeaders[name.toLowerCase()],
      end(chunk?: string | Buffer) {
        if (chunk !== undefined) result.body += chunk.toString();
        result.ended = true;
        done();
        return res;
      },
    };
    const next = (err?: unknown): void => {
      result.nextCalled = true;
      result.nextError = err;
      done();
    };
    try {
      const returned = middleware(req as unknown as IncomingMessage, res as unknown as ServerResponse, next);
      if (returned instanceof Promise) {
        returned.catch((error: unknown) => {
          result.thrown = error;
          done();
        });
      }
    } catch (error) {
      result.thrown = error;
      done();
    }
  });
}
