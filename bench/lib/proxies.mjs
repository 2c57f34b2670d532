// Starts one proxy of lib/cases.mjs in front of the upstream, pinned to the proxy CPUs, and checks
// that it forwards the scenario's request correctly before anything is measured.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import YAML from 'yaml';
import { nginxCommand } from './nginx.mjs';
import { freePort, probe, startProcess, stopProcess, waitUntilServing } from './processes.mjs';
import { benchDir } from './settings.mjs';

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepMerge(base, fragment = {}) {
  const merged = { ...base };
  for (const [key, value] of Object.entries(fragment)) {
    merged[key] = isPlainObject(value) && isPlainObject(base[key]) ? deepMerge(base[key], value) : value;
  }
  return merged;
}

/** Dito's config for a case: logging off, one location `^/` → upstream, plus the variant's fragments. */
export function ditoConfig({ port, upstreamUrl, variant, scenario }) {
  const location = {
    path: '^/',
    target_url: upstreamUrl,
    replace_path: false,
    ...scenario.location,
    ...variant.location,
  };
  return deepMerge({ port, logging: { enabled: false }, locations: [location] }, variant.config);
}

/** Node command line for `script args`, in `workers` node:cluster workers when more than one. */
function nodeCommand(script, args, workers) {
  if (workers > 1)
    return [process.execPath, [path.join(benchDir, 'servers/cluster.mjs'), String(workers), script, ...args]];
  return [process.execPath, [script, ...args]];
}

/** One WebSocket message through ws://127.0.0.1:<port><path>, resolving when it comes back intact. */
function wsEchoCheck(port, scenario, timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const message = crypto.randomBytes(scenario.messageBytes);
    const ws = new WebSocket(`ws://127.0.0.1:${port}${scenario.path}`, { perMessageDeflate: false });
    const fail = (error) => {
      clearTimeout(timer);
      ws.terminate();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error('WebSocket echo timed out')), timeoutMs);
    ws.on('unexpected-response', (_req, res) =>
      fail(new Error(`WebSocket upgrade ${scenario.path} answered ${res.statusCode}`)),
    );
    ws.on('error', fail);
    ws.on('open', () => ws.send(message, { binary: true }));
    ws.on('message', (data, isBinary) => {
      if (!isBinary || !Buffer.from(data).equals(message))
        return fail(new Error(`WebSocket echo came back different (${data.length} bytes)`));
      clearTimeout(timer);
      ws.close(1000);
      ws.once('close', () => resolve());
    });
  });
}

/** The check a proxy must pass before it is measured: the scenario's request, answered in full. */
export function scenarioCheck(scenario) {
  if (scenario.generator === 'ws-echo') return (port) => wsEchoCheck(port, scenario);
  return async (port) => {
    const body = scenario.bodyBytes ? Buffer.alloc(scenario.bodyBytes, 'x') : null;
    const res = await probe(port, { method: scenario.method, path: scenario.path, body });
    const expectedBytes = scenario.method === 'GET' ? Number(scenario.path.split('/').pop()) : null;
    const ok =
      res.status === 200 &&
      (expectedBytes === null
        ? res.body === `{"received":${scenario.bodyBytes}}`
        : res.bytes === expectedBytes);
    if (!ok)
      throw new Error(
        `${scenario.method} ${scenario.path} answered ${res.status}, ${res.bytes} bytes: ${res.body.slice(0, 200)}`,
      );
  };
}

/**
 * Starts `proxy` for `scenario`. Returns { port, handle (null for direct), during(), stop() }.
 * ctx: { settings, upstreamPort, tmpDir, logDir }
 */
export async function startProxy(proxy, scenario, ctx) {
  const { settings, upstreamPort } = ctx;
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  // 'all': the variant's processes may run on every core (multi-worker rows on a small machine).
  const cpus = !settings.pin
    ? null
    : proxy.proxyCpus === 'all'
      ? `0-${settings.cores - 1}`
      : settings.proxyCpus;
  const logFile = path.join(ctx.logDir, `${scenario.id}--${proxy.id}.log`);
  const running = { port: upstreamPort, handle: null, during: () => () => {} };

  if (proxy.kind === 'direct') {
    running.stop = async () => {};
    await waitUntilServing(null, upstreamPort, scenarioCheck(scenario));
    return running;
  }
  const port = await freePort();
  running.port = port;
  let command;
  let args;
  let env = process.env;
  if (proxy.kind === 'dito') {
    const configPath = path.join(ctx.tmpDir, `${scenario.id}--${proxy.id}.yaml`);
    const config = ditoConfig({ port, upstreamUrl, variant: proxy, scenario });
    // BENCH_WORKERS > 1: Dito's own multi-process mode (its `workers` key), unless the variant sets it.
    if (settings.proxyWorkers > 1 && config.workers === undefined) config.workers = settings.proxyWorkers;
    const configText = YAML.stringify(config);
    fs.writeFileSync(configPath, configText);
    running.configPath = configPath;
    // For hot-reload cases: rewrite the same config (a new comment each time) every `ms`.
    const rewriteConfigEvery = (ms) => {
      let count = 0;
      const timer = setInterval(
        () => fs.writeFileSync(configPath, `# rewrite ${++count}\n${configText}`),
        ms,
      );
      return () => clearInterval(timer);
    };
    running.during = () =>
      proxy.during ? proxy.during({ rewriteConfigEvery, configPath, pid: running.handle.pid }) : () => {};
    if (!fs.existsSync(settings.ditoBin))
      throw new Error(`${settings.ditoBin} not found: run \`make build\` on a tree with Dito`);
    [command, args] = [settings.ditoBin, ['-f', configPath]];
    // bin/dito finds `node` on PATH: put the Node running the bench first, so that `make bench-lts`
    // measures Dito on the same Node as the peers.
    env = {
      ...process.env,
      PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    };
  } else if (proxy.kind === 'nginx') {
    const prefix = path.join(ctx.tmpDir, `nginx-${scenario.id}`);
    ({ command, args } = nginxCommand({ prefix, port, upstreamPort, workers: settings.proxyWorkers }));
  } else if (proxy.kind === 'node') {
    [command, args] = nodeCommand(
      path.join(benchDir, proxy.script),
      [String(port), upstreamUrl],
      settings.proxyWorkers,
    );
  } else throw new Error(`unknown proxy kind ${proxy.kind}`);

  running.handle = startProcess(proxy.id, command, args, { cpus, logFile, env });
  running.stop = () => stopProcess(running.handle);
  try {
    await waitUntilServing(running.handle, port, scenarioCheck(scenario));
  } catch (error) {
    await running.stop();
    throw error;
  }
  return running;
}
