// Lua scripts run through the shared Redis handle: the source and its SHA-1, computed once at load,
// so each decision sends EVALSHA (40 bytes) instead of the script text.
import { createHash } from 'node:crypto';

export interface RedisScript {
  readonly name: string;
  readonly source: string;
  readonly sha1: string;
}

export function defineRedisScript(name: string, source: string): RedisScript {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/** EVALSHA arguments for a script call; `EVAL` with the source is the fallback on NOSCRIPT. */
export function scriptArguments(
  script: RedisScript,
  keys: readonly string[],
  args: readonly string[],
  withSource: boolean,
): string[] {
  return [
    withSource ? 'EVAL' : 'EVALSHA',
    withSource ? script.source : script.sha1,
    String(keys.length),
    ...keys,
    ...args,
  ];
}

export function isNoScriptError(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}
