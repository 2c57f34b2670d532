// Time-boxed property test: whatever YAML-ish text comes in, the loader either returns a config or
// throws a one-line ConfigError, never anything else.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../src/config/errors.js';
import { parseConfigText } from '../../src/config/load.js';
import { fuzzRuns, fuzzTimeMs } from '../helpers/fuzz.js';

const FRAGMENTS = [
  'port',
  'locations',
  'path',
  'target_url',
  'transport',
  'http',
  'dial_timeout',
  'auth',
  'type',
  'jwt',
  'basic',
  'middlewares',
  'additional_headers',
  'rate_limiting',
  'cache',
  'ttl',
  'redis',
  'tls',
  'plugins',
  '<<',
  ': ',
  ':',
  '- ',
  '\n',
  '\n  ',
  '\n    ',
  '\n      ',
  '  ',
  '"',
  "'",
  '[',
  ']',
  '{',
  '}',
  ',',
  '#',
  '&a',
  '*a',
  '!!str ',
  '?',
  '|',
  '>',
  '---',
  '...',
  '\t',
  '0',
  '1.5',
  '90s',
  '1m30s',
  '-1',
  'true',
  'null',
  '~',
  '^/a',
  '(?i)',
  '(?P<x>',
  'http://127.0.0.1:9',
  'ftp://x',
  '__proto__',
  '<<: *a',
  '\\r\\n',
  '\u00b5s',
  '\u0000',
  '\ufeff',
];

it('parseConfigText throws only ConfigError, on one line (2 s of random input)', () => {
  const text = fc.oneof(
    fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 40 }).map((parts) => parts.join('')),
    fc.string({ maxLength: 200 }),
  );
  fc.assert(
    fc.property(text, (input) => {
      try {
        parseConfigText(input, 'fuzz.yaml');
      } catch (error) {
        assert.ok(error instanceof ConfigError, `${String(error)} for ${JSON.stringify(input)}`);
        assert.ok(!error.message.includes('\n'), `multi-line message for ${JSON.stringify(input)}`);
        assert.ok(error.message.startsWith('fuzz.yaml'), error.message);
      }
    }),
    {
      numRuns: fuzzRuns(1_000_000),
      interruptAfterTimeLimit: fuzzTimeMs(2000),
      markInterruptAsFailure: false,
    },
  );
});
