// Turns zod's findings into Dito's one-line config errors: plain-words messages, the position each
// one points at (value, key or parent mapping) and "did you mean" suggestions for unknown keys.
import * as z from 'zod';
import type { Anchor, KeyPath } from './yaml-source.js';

/** One problem found in a config, before it is given a `file:line:col`. */
export interface ConfigIssue {
  path: KeyPath;
  message: string;
  /** What the position points at; `parent` for a missing key. */
  anchor: Anchor;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  record: 'a mapping',
};

/** How a YAML value reads to its author. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  return String(value);
}

function describeLimit(origin: string | undefined, bound: number | bigint, atLeast: boolean): string {
  const side = atLeast ? 'at least' : 'at most';
  if (origin === 'array') return `must have ${side} ${bound} ${bound === 1 ? 'entry' : 'entries'}`;
  if (origin === 'string')
    return bound === 1 && atLeast ? 'must not be empty' : `must be ${side} ${bound} characters`;
  return `must be ${side} ${bound}`;
}

/** Per-parse zod error map: messages for the issues the schema does not word itself. */
export function zodMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required key is missing';
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${describeValue(issue.input)}`;
    case 'too_small': {
      const strict = issue.inclusive === false && issue.origin === 'number';
      if (strict) return `must be more than ${issue.minimum}, got ${String(issue.input)}`;
      return `${describeLimit(issue.origin, issue.minimum, true)}${issue.origin === 'number' ? `, got ${String(issue.input)}` : ''}`;
    }
    case 'too_big':
      return `${describeLimit(issue.origin, issue.maximum, false)}${issue.origin === 'number' ? `, got ${String(issue.input)}` : ''}`;
    case 'invalid_value':
      return `expected ${issue.values
        .map((v) => JSON.stringify(v))
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1')}, got ${describeValue(issue.input)}`;
    case 'invalid_union':
      return `expected ${unionExpectation(issue.errors)}, got ${describeValue(issue.input)}`;
    case 'invalid_format':
      return `invalid format, got ${describeValue(issue.input)}`;
    default:
      return undefined;
  }
}

function unionExpectation(branches: ReadonlyArray<ReadonlyArray<z.core.$ZodIssue>>): string {
  const names = new Set<string>();
  for (const branch of branches) {
    const first = branch[0];
    if (first?.code === 'invalid_type') names.add(TYPE_NAMES[first.expected] ?? first.expected);
  }
  return names.size > 0 ? [...names].join(' or ') : 'another value';
}

/** Value at `path` in the raw YAML data; `present` tells a missing key from an empty value. */
export function valueAt(data: unknown, path: KeyPath): { present: boolean; value: unknown } {
  let current: unknown = data;
  for (const part of path) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, part)) {
      return { present: false, value: undefined };
    }
    current = (current as Record<string | number, unknown>)[part];
  }
  return { present: true, value: current };
}

/** Converts zod issues into config issues, one per unknown key, with the right anchors. */
export function fromZodIssues(
  issues: ReadonlyArray<z.core.$ZodIssue>,
  data: unknown,
  schema: z.ZodType,
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, path, data);
      for (const key of issue.keys) {
        out.push({ path: [...path, key], message: unknownKeyMessage(key, known), anchor: 'key' });
      }
      continue;
    }
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      // Prefer the branch whose type matched: its issue is the specific one.
      const branch = issue.errors.find((errors) => errors.length > 0 && errors[0]?.code !== 'invalid_type');
      if (branch) {
        out.push(
          ...fromZodIssues(
            branch.map((sub) => ({ ...sub, path: [...path, ...sub.path] })),
            data,
            schema,
          ),
        );
        continue;
      }
    }
    if (
      issue.code === 'invalid_union' &&
      'discriminator' in issue &&
      typeof issue.discriminator === 'string'
    ) {
      const found = valueAt(data, path);
      const options = ('options' in issue ? (issue.options ?? []) : [])
        .map((option) => JSON.stringify(option))
        .join(', ');
      const message = found.present
        ? `expected one of ${options}, got ${describeValue(found.value)}`
        : 'required key is missing';
      out.push({ path, message, anchor: found.present ? 'value' : 'parent' });
      continue;
    }
    if (issue.code === 'invalid_key') {
      out.push({ path, message: issue.issues[0]?.message ?? issue.message, anchor: 'key' });
      continue;
    }
    const present = valueAt(data, path).present;
    out.push({ path, message: issue.message, anchor: present ? 'value' : 'parent' });
  }
  return out;
}

/** The keys the schema accepts in the mapping at `path` (walking the zod schema, not a list). */
export function knownKeysAt(schema: z.ZodType, path: KeyPath, data: unknown): string[] {
  let node: z.ZodType | undefined = schema;
  for (let depth = 0; node && depth <= path.length; depth += 1) {
    node = unwrap(node, valueAt(data, path.slice(0, depth)).value);
    if (depth === path.length) break;
    const part = path[depth];
    if (node instanceof z.ZodObject && typeof part === 'string')
      node = node.shape[part] as z.ZodType | undefined;
    else if (node instanceof z.ZodArray) node = node.element as z.ZodType;
    else if (node instanceof z.ZodRecord) node = node.valueType as z.ZodType;
    else node = undefined;
  }
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

/** Peels wrappers (optional, default, pipes) and picks the union branch the data selects. */
function unwrap(schema: z.ZodType, value: unknown): z.ZodType {
  let node = schema;
  for (let hops = 0; hops < 32; hops += 1) {
    if (
      node instanceof z.ZodOptional ||
      node instanceof z.ZodNullable ||
      node instanceof z.ZodDefault ||
      node instanceof z.ZodPrefault
    ) {
      node = node.unwrap() as z.ZodType;
    } else if (node instanceof z.ZodPipe) {
      node = node.in as z.ZodType;
    } else if (node instanceof z.ZodDiscriminatedUnion) {
      const key = node._zod.def.discriminator;
      const tag = valueAt(value, [key]).value;
      const options = node.options as z.ZodType[];
      const chosen = options.find(
        (o) => o instanceof z.ZodObject && literalValues(o.shape[key]).includes(tag),
      );
      if (!chosen) return node;
      node = chosen;
    } else {
      return node;
    }
  }
  return node;
}

function literalValues(schema: unknown): unknown[] {
  return schema instanceof z.ZodLiteral ? [...schema.values] : [];
}

/** Edit distance (Levenshtein), for "did you mean". */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** `unknown key "targte_url" (did you mean "target_url"?)`, or the list of valid keys if none is close. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  // camelCase and kebab-case spellings of a snake_case key count as near misses.
  const snake = key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = Math.min(editDistance(key, candidate), editDistance(snake, candidate));
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  const threshold = Math.max(2, Math.floor(key.length / 3));
  if (best !== undefined && bestDistance <= threshold)
    return `unknown key "${key}" (did you mean "${best}"?)`;
  if (known.length === 0) return `unknown key "${key}"`;
  return `unknown key "${key}" (expected one of: ${known.join(', ')})`;
}
