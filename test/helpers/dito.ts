// Runs Dito the way a user does: a config file on disk and `bin/dito -f` in a child process.
// Waits for the `listening` log line and collects stdout/stderr for assertions.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../../../', import.meta.url)));
export const DITO_BIN = join(REPO_ROOT, 'bin', 'dito');

export interface DitoProcess {
  proc: ChildProcess;
  port: number;
  url: string;
  configPath: string;
  dir: string;
  /** Parsed JSON log lines so far. */
  logs: Array<Record<string, unknown>>;
  stderr(): string;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
  /** Peak and current resident memory of the process, in bytes (Linux /proc). */
  memory(): { peak: number; current: number };
}

export function tempDir(prefix = 'dito-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a config (object → YAML, or YAML text) into a fresh temp folder; returns its path. */
export function writeConfig(config: object | string, dir = tempDir()): string {
  const path = join(dir, 'config.yaml');
  writeFileSync(path, typeof config === 'string' ? config : stringify(config));
  return path;
}

/** Runs `bin/dito` with arbitrary arguments to completion (for --check and bad configs). */
export async function runDitoToExit(
  args: string[],
  timeoutMs = 15_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [DITO_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(proc, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

function readStatus(pid: number): { peak: number; current: number } {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) * 1024;
    return { peak: kib('VmHWM'), current: kib('VmRSS') };
  } catch {
    return { peak: 0, current: 0 };
  }
}

/**
 * Starts Dito on a config. `port: 0` in the config is filled with an ephemeral port; the real
 * one is read from the `listening` log line.
 */
export async function startDito(
  config: object | string,
  options: {
    dir?: string;
    args?: string[];
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    /** Run bin/dito as a program (its first line's flags and environment), on this test's Node. */
    asProgram?: boolean;
  } = {},
): Promise<DitoProcess> {
  const dir = options.dir ?? tempDir();
  const configPath = writeConfig(config, dir);
  const args = [DITO_BIN, '-f', configPath, ...(options.args ?? [])];
  const env = { ...process.env, ...options.env };
  // bin/dito's `env -S … node` finds node on PATH: this test's Node first.
  if (options.asProgram) env.PATH = `${dirname(process.execPath)}:${env.PATH ?? ''}`;
  const proc = options.asProgram
    ? spawn(DITO_BIN, args.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffered = '';
  let listeningPort: number | undefined;
  let onListening: ((port: number) => void) | undefined;
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'listening' && typeof entry.port === 'number') {
          listeningPort = entry.port;
          onListening?.(entry.port);
        }
      } catch {
        logs.push({ raw: line });
      }
    }
  });
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = once(proc, 'exit').then(([code]) => code as number | null);

  const port = await new Promise<number>((resolvePort, reject) => {
    if (listeningPort !== undefined) return resolvePort(listeningPort);
    const timer = setTimeout(
      () => reject(new Error(`dito did not start: ${stderr}`)),
      options.timeoutMs ?? 15_000,
    );
    onListening = (p) => {
      clearTimeout(timer);
      resolvePort(p);
    };
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`dito exited with ${code} before listening: ${stderr}`));
    });
  });

  return {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    configPath,
    dir,
    logs,
    stderr: () => stderr,
    exited,
    memory: () => readStatus(proc.pid!),
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A minimal valid config with logging quiet except the `listening` line. */
export function baseConfig(locations: object[], extra: object = {}): Record<string, unknown> {
  return {
    port: 0,
    logging: { enabled: true, level: 'info' },
    locations,
    ...extra,
  };
}
