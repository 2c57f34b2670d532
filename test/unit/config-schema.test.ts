// The JSON Schema for editors: the committed file is what the zod schema generates (never stale),
// every key carries hover text, and every mapping refuses unknown keys.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { knownKeysAt } from '../../src/config/issues.js';
import { configJsonSchema, JSON_SCHEMA_PATH } from '../../src/config/json-schema.js';
import { configSchema } from '../../src/config/schema.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

type JsonObject = { [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every (path, property schema) pair of the JSON Schema, through anyOf/oneOf/items. */
function* properties(schema: unknown, at: string): Generator<[string, JsonObject, JsonObject]> {
  if (!isObject(schema)) return;
  if (isObject(schema.properties)) {
    for (const [key, child] of Object.entries(schema.properties)) {
      if (isObject(child)) yield [`${at}.${key}`, child, schema];
      yield* properties(child, `${at}.${key}`);
    }
  }
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const options = schema[keyword];
    if (Array.isArray(options)) for (const option of options) yield* properties(option, at);
  }
  if (isObject(schema.items)) yield* properties(schema.items, `${at}[]`);
}

describe('JSON Schema', () => {
  it(`${JSON_SCHEMA_PATH} is up to date (run \`make schema\` after changing src/config/schema*.ts)`, () => {
    const committed: unknown = JSON.parse(readFileSync(`${ROOT}${JSON_SCHEMA_PATH}`, 'utf8'));
    assert.deepEqual(committed, configJsonSchema());
  });

  it('describes every key (hover docs)', () => {
    const undocumented = [...properties(configJsonSchema(), '$')]
      .filter(([, child]) => typeof child.description !== 'string' || child.description === '')
      .map(([at]) => at);
    assert.deepEqual(undocumented, []);
  });

  it('refuses unknown keys in every mapping with named keys', () => {
    const open = [...properties(configJsonSchema(), '$')]
      .filter(([, , parent]) => parent.additionalProperties !== false)
      .map(([at]) => at);
    assert.deepEqual(open, []);
  });

  it('shows the contract defaults', () => {
    const schema = configJsonSchema() as { properties: Record<string, JsonObject> };
    assert.equal(schema.properties.port?.default, 8081);
    assert.equal(schema.properties.request_timeout?.default, '30s');
  });
});

describe('known keys come from the zod schema', () => {
  it('at the root, in a location, and per auth type', () => {
    assert.deepEqual(knownKeysAt(configSchema, [], {}), Object.keys(configSchema.shape));
    const data = { locations: [{ auth: { type: 'api_key' } }] };
    assert.ok(knownKeysAt(configSchema, ['locations', 0], data).includes('target_url'));
    assert.deepEqual(knownKeysAt(configSchema, ['locations', 0, 'auth'], data), [
      'type',
      'realm',
      'strip_credentials',
      'header',
      'query',
      'keys',
    ]);
    assert.ok(
      knownKeysAt(configSchema, ['locations', 0, 'transport', 'http'], data).includes('insecure_skip_verify'),
    );
  });
});
