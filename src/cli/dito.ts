// `dito [-f config.yaml] [--check] [--enable-profiler]`: validates the config, then serves until
// SIGTERM/SIGINT (graceful drain) and reloads on SIGHUP. Bad input: one line on stderr, exit 1.
// With `workers` > 1 this process becomes the cluster primary and its forks the workers.
// First import: V8 settings that must be in place before any other module runs.
import './v8-tuning.js';
import { runPrimary } from '../cluster/primary.js';
import { isClusterWorker, runWorker } from '../cluster/worker.js';
import { loadConfigFile } from '../config/load.js';
import type { LoadedConfig } from '../config/types.js';
import { createLogger } from '../observability/logger.js';
import { DitoApp } from '../runtime/app.js';
import { verifyPluginsOnly } from '../plugins/loader.js';
import { verifiedPluginFactories } from '../runtime/plugin-middlewares.js';
import { loadListenerTls } from '../runtime/listener.js';
import { buildRuntime } from '../runtime/runtime.js';

interface CliOptions {
  configPath: string;
  check: boolean;
  enableProfiler: boolean;
}

const USAGE = 'usage: dito [-f <config.yaml>] [--check] [--enable-profiler]';

export function parseArgs(argv: readonly string[]): CliOptions {
  const options: CliOptions = { configPath: 'config.yaml', check: false, enableProfiler: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=')
      ? (arg.split(/=(.*)/s, 2) as [string, string])
      : [arg, undefined];
    switch (flag.replace(/^--?/, '-')) {
      case '-f':
      case '-config': {
        const value = inline ?? argv[++i];
        if (value === undefined || value === '') throw new UsageError(`${flag} needs a file path`);
        options.configPath = value;
        break;
      }
      case '-check':
        options.check = true;
        break;
      case '-enable-profiler':
        options.enableProfiler = true;
        break;
      case '-h':
      case '-help':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new UsageError(`unknown argument "${arg}"`);
    }
  }
  return options;
}

class UsageError extends Error {}

/** Plugin errors carry a reason beside the contract's message; everything else is its message. */
function describeError(err: unknown): string {
  const withReason = err as { describe?: () => string };
  return typeof withReason.describe === 'function' ? withReason.describe() : (err as Error).message;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** Everything a start could refuse, checked without listening or running plugin code. */
async function validate(loaded: LoadedConfig): Promise<void> {
  // Signatures are verified without running any plugin code.
  const plugins = loaded.config.plugins ? await verifyPluginsOnly(loaded.config.plugins) : [];
  loadListenerTls(loaded);
  // Building the runtime checks what the schema cannot: middleware names, certificate files.
  const runtime = await buildRuntime(loaded, {
    logger: createLogger({ ...loaded.config.logging, enabled: false }),
    plugins: verifiedPluginFactories(plugins.map((p) => p.name)),
  });
  await runtime.close();
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }

  if (options.check) {
    try {
      await validate(await loadConfigFile(options.configPath));
    } catch (err) {
      fail(describeError(err));
    }
    process.stdout.write('ok\n');
    return;
  }

  if (isClusterWorker()) return runWorker(options, describeError);

  let app: DitoApp;
  try {
    const loaded = await loadConfigFile(options.configPath);
    if (loaded.config.workers > 1) {
      // Refused here, before any worker is forked or anything listens.
      await validate(loaded);
      return await runPrimary(options.configPath, loaded);
    }
    app = await DitoApp.create(options, loaded);
    await app.start();
  } catch (err) {
    fail(describeError(err));
  }

  const stop = (signal: NodeJS.Signals) => {
    app.stop(signal).then(
      () => process.exit(0),
      (err: unknown) => fail(`shutdown failed: ${(err as Error).message}`),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => void app.reload('SIGHUP'));
}

void main();
