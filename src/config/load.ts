// Entry points of the config loader: file or text in, a validated `LoadedConfig` out, or exactly
// one `ConfigError` (`file:line:col: key.path: message`), the first problem in file order.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { checkConfig } from './checks.js';
import { ConfigError, formatKeyPath } from './errors.js';
import { type ConfigIssue, fromZodIssues, knownKeysAt, zodMessage } from './issues.js';
import { normalizeConfig } from './normalize.js';
import { configSchema } from './schema.js';
import type { LoadedConfig } from './types.js';
import { type KeyPath, YamlSource } from './yaml-source.js';

/** Reads and validates a config file. `file` is kept as given, for messages and reloads. */
export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new ConfigError(file, '', `cannot read the config file: ${reason}`);
  }
  return parseBytes(bytes, file);
}

/** Validates config text as if it were read from `file` (relative paths resolve next to `file`). */
export function parseConfigText(text: string, file: string): LoadedConfig {
  return parseBytes(Buffer.from(text, 'utf8'), file);
}

function parseBytes(bytes: Buffer, file: string): LoadedConfig {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ConfigError(file, '', 'the file is not valid UTF-8');
  }
  try {
    const { source, data } = YamlSource.parse(text, file);
    const result = configSchema.safeParse(withoutEmptyKeys(data, []), { error: zodMessage });
    if (!result.success) throw firstError(source, fromZodIssues(result.error.issues, data, configSchema));
    const checked = checkConfig(result.data, data);
    if (checked.length > 0) throw firstError(source, checked);
    return {
      config: normalizeConfig(result.data, file),
      file,
      sha256,
      locate: (path) => source.locate(path),
    };
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    // A loader bug must still come out as one config line, never as a stack trace.
    const message = error instanceof Error ? error.message : String(error);
    throw new ConfigError(file, '', `cannot load the config: ${message.split('\n')[0]}`);
  }
}

/**
 * A known key with no value (`middlewares:` whose entries are all commented out) counts as not
 * set, as go-yaml treated it in the original: its default applies. Unknown keys are kept, so they
 * are still reported.
 */
function withoutEmptyKeys(data: unknown, path: KeyPath, root: unknown = data): unknown {
  if (Array.isArray(data)) return data.map((item, index) => withoutEmptyKeys(item, [...path, index], root));
  if (data === null || typeof data !== 'object') return data;
  const known = knownKeysAt(configSchema, path, root);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    if (value === null && known.includes(key)) continue;
    out[key] = withoutEmptyKeys(value, [...path, key], root);
  }
  return out;
}

/** The issue that comes first in the file (ties keep zod's order), as a ConfigError. */
function firstError(source: YamlSource, issues: readonly ConfigIssue[]): ConfigError {
  let best: { issue: ConfigIssue; offset: number } | undefined;
  for (const issue of issues) {
    const offset = source.orderOf(issue.path, issue.anchor);
    if (!best || offset < best.offset) best = { issue, offset };
  }
  const issue = best?.issue ?? { path: [], message: 'invalid configuration', anchor: 'value' };
  return new ConfigError(source.locate(issue.path, issue.anchor), formatKeyPath(issue.path), issue.message);
}
