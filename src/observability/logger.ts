// JSON logs on stdout through pino. Writes are buffered and flushed off the request path,
// so logging never blocks the event loop; shutdown flushes what is left.
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from '../config/types.js';

export type { Logger };

export interface LoggingSettings {
  enabled: boolean;
  verbose: boolean;
  level: LogLevel;
}

/** One destination per process: reloads change the level, not the stream. */
let destination: (DestinationStream & { flushSync(): void }) | undefined;

/** Set in cluster mode, where several processes write lines into one stdout pipe. */
let sharedStdout = false;

/**
 * Cluster mode: the primary and every worker write into the same stdout. A pipe keeps a write
 * whole only up to PIPE_BUF (4096 bytes on Linux), so writes are capped there (whole lines each)
 * and no line is ever cut by another process's. Call before the first logger is created.
 */
export function shareStdout(): void {
  sharedStdout = true;
}

/** How stale a buffered log line may get before it is written anyway. */
const FLUSH_INTERVAL_MS = 200;

function stdoutDestination() {
  if (destination === undefined) {
    // Lines are batched up to 4 KiB per write (fewer syscalls under load); the timer bounds how
    // long a line can wait when traffic is light.
    const created = pino.destination(
      sharedStdout
        ? { dest: 1, sync: false, minLength: 2048, maxWrite: 4096 }
        : { dest: 1, sync: false, minLength: 4096 },
    );
    setInterval(() => flushLogs(), FLUSH_INTERVAL_MS).unref();
    destination = created;
  }
  return destination;
}

export function createLogger(settings: LoggingSettings): Logger {
  const options = {
    enabled: settings.enabled,
    level: settings.level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  // A silent logger needs no stdout stream (and no flush timer).
  return settings.enabled ? pino(options, stdoutDestination()) : pino(options);
}

/** Writes out buffered log lines now (at startup milestones and before exit). */
export function flushLogs(): void {
  try {
    destination?.flushSync();
  } catch {
    // stdout closed, or a write already in flight: the next flush picks the lines up.
  }
}

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);

/**
 * Header map for verbose logs, credentials masked; `alsoSecret` names more (lower-cased), e.g. a
 * location's custom API key header.
 */
export function headersForLog(raw: readonly string[], alsoSecret?: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    out[name] = SECRET_HEADERS.has(name) || name === alsoSecret ? '[redacted]' : raw[i + 1]!;
  }
  return out;
}
