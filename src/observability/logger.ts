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

function stdoutDestination() {
  if (destination === undefined) {
    const created = pino.destination({ dest: 1, sync: false, minLength: 4096 });
    // minLength holds lines until 4 KiB accumulate; without a timer a quiet process would never
    // show its `listening` line or a rare warning. A flush every 250 ms bounds that delay.
    setInterval(() => {
      try {
        created.flush();
      } catch {
        // stdout closed: nothing to do.
      }
    }, 250).unref();
    destination = created;
  }
  return destination;
}

export function createLogger(settings: LoggingSettings): Logger {
  return pino(
    {
      enabled: settings.enabled,
      level: settings.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    stdoutDestination(),
  );
}

/** Writes out buffered log lines now (before exit). */
export function flushLogs(): void {
  try {
    destination?.flushSync();
  } catch {
    // stdout closed: nothing left to do.
  }
}

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);

/** Header map for verbose logs, credentials masked. */
export function headersForLog(raw: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    out[name] = SECRET_HEADERS.has(name) ? '[redacted]' : raw[i + 1]!;
  }
  return out;
}
