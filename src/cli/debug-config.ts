// `debug-config [-f config.yaml]` (`make debug-config`): loads a config with the real loader and
// prints every effective value (defaults applied), secrets masked, each with where it came from:
// `file:line:col` when the file sets it, `default` otherwise.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { configJsonSchema } from '../config/json-schema.js';
import { loadConfigFile } from '../config/load.js';
import { configSchema } from '../config/schema.js';
import { SECRET_HEADER, SECRET_KEYS } from '../config/secrets.js';
import type { LoadedConfig } from '../config/types.js';

type KeyPath = Array<string | number>;
type JsonSchema = {
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
};

export interface ConfigLine {
  key: string;
  value: string;
  /** `file:line:col`, or `default`. */
  source: string;
}

function isSecret(path: KeyPath): boolean {
  const names = path.filter((part): part is string => typeof part === 'string').map((p) => p.toLowerCase());
  if (names.some((name) => SECRET_KEYS.has(name))) return true;
  const headers = names.indexOf('additional_headers');
  return headers !== -1 && SECRET_HEADER.test(names[headers + 1] ?? '');
}

/** The schema node describing `path` (for hints such as "this is a duration"), if found. */
function schemaAt(root: JsonSchema, path: KeyPath): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const part of path) {
    if (node === undefined) return undefined;
    const candidates: JsonSchema[] = [node, ...(node.anyOf ?? []), ...(node.allOf ?? [])];
    let next: JsonSchema | undefined;
    for (const candidate of candidates) {
      if (typeof part === 'number') next = candidate.items;
      else
        next =
          candidate.properties?.[part] ??
          (typeof candidate.additionalProperties === 'object' ? candidate.additionalProperties : undefined);
      if (next !== undefined) break;
    }
    node = next;
  }
  return node;
}

/** Milliseconds as a Go duration (`1m30s`, `250ms`, `0`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  if (rest > 0) out += `${rest}ms`;
  return out;
}

function formatValue(value: unknown, path: KeyPath, schema: JsonSchema): string {
  if (isSecret(path) && !(value === '' || (Array.isArray(value) && value.length === 0))) {
    return '"<masked>"';
  }
  if (value instanceof URL) return JSON.stringify(value.href);
  if (value instanceof RegExp) return JSON.stringify(value.source);
  if (typeof value === 'number' && schemaAt(schema, path)?.description?.includes('Go duration')) {
    return formatDuration(value);
  }
  return JSON.stringify(value) ?? 'null';
}

function formatKey(path: KeyPath): string {
  return path
    .map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

function has(raw: unknown, path: KeyPath): boolean {
  let node = raw;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return false;
    const next = (node as Record<string | number, unknown>)[part];
    if (next === undefined || next === null) return false;
    node = next;
  }
  return true;
}

/** Leaves of the effective config: scalars, and lists of scalars as one value. */
function* leaves(value: unknown, path: KeyPath): Generator<[KeyPath, unknown]> {
  const isLeafList = Array.isArray(value) && value.every((item) => item === null || typeof item !== 'object');
  if (
    value === null ||
    typeof value !== 'object' ||
    value instanceof URL ||
    value instanceof RegExp ||
    isLeafList
  ) {
    yield [path, value];
    return;
  }
  // A location's `path` is parsed into { pattern, regex }: show it as written.
  if ('pattern' in value && 'regex' in value) {
    yield [path, (value as { pattern: string }).pattern];
    return;
  }
  const entries = Array.isArray(value) ? value.map((item, i) => [i, item] as const) : Object.entries(value);
  if (entries.length === 0) yield [path, value];
  for (const [key, item] of entries) yield* leaves(item, [...path, key]);
}

/** Every effective value of a loaded config, with its source. `text` is the file's YAML. */
export function describeConfig(loaded: LoadedConfig, text: string): ConfigLine[] {
  const raw: unknown = parse(text, { merge: true }) ?? {};
  // The loader accepted the file, so this only fills defaults; null keys mean "not set" there too.
  const effective = configSchema.parse(withoutNulls(raw));
  const schema = configJsonSchema() as JsonSchema;
  const lines: ConfigLine[] = [];
  for (const [path, value] of leaves(effective, [])) {
    lines.push({
      key: formatKey(path),
      value: formatValue(value, path, schema),
      source: has(raw, path) ? loaded.locate(path) : 'default',
    });
  }
  return lines;
}

function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, item]) => item !== null)
      .map(([key, item]) => [key, withoutNulls(item)]),
  );
}

const USAGE = 'usage: debug-config [-f <config.yaml>]';

async function main(argv: readonly string[]): Promise<number> {
  let file = 'config.yaml';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if ((arg === '-f' || arg === '--config') && argv[i + 1] !== undefined) file = argv[++i]!;
    else {
      process.stderr.write(`unknown argument "${arg}"\n${USAGE}\n`);
      return 2;
    }
  }
  let loaded: LoadedConfig;
  try {
    loaded = await loadConfigFile(file);
  } catch (err) {
    const withDescribe = err as { describe?: () => string };
    process.stderr.write(`${withDescribe.describe?.() ?? (err as Error).message}\n`);
    return 1;
  }
  const lines = describeConfig(loaded, await readFile(file, 'utf8'));
  const width = Math.min(70, Math.max(...lines.map((line) => line.key.length + line.value.length + 3)));
  process.stdout.write(`# effective config of ${file} (sha256 ${loaded.sha256}); secrets masked\n`);
  for (const line of lines) {
    const left = `${line.key} = ${line.value}`;
    process.stdout.write(`${left.padEnd(width)}  # ${line.source}\n`);
  }
  return 0;
}

// Run only as a program, not when imported by tests.
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`debug-config failed: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
