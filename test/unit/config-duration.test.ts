// Go duration and byte-size parsing of the config loader, table-driven.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_DURATION_MS,
  parseDuration,
  parseSize,
  tryParseDurationValue,
} from '../../src/config/duration.js';

describe('parseDuration (Go syntax)', () => {
  const accepted: Array<[string, number]> = [
    ['0', 0],
    ['0s', 0],
    ['300ms', 300],
    ['1.5s', 1500],
    ['.5s', 500],
    ['5.s', 5000],
    ['1m30s', 90_000],
    ['2h45m', 9_900_000],
    ['1h0m0.5s', 3_600_500],
    ['100us', 0.1],
    ['100µs', 0.1], // U+00B5 micro sign
    ['100μs', 0.1], // U+03BC Greek mu
    ['1500ns', 0.0015],
    ['+2s', 2000],
    ['90s', 90_000],
    ['1s500ms', 1500],
  ];
  for (const [text, ms] of accepted) {
    it(`${text} → ${ms} ms`, () => {
      assert.ok(Math.abs(parseDuration(text) - ms) < 1e-9, `${text} gave ${parseDuration(text)}`);
    });
  }

  const refused: Array<[string, RegExp]> = [
    ['', /use Go syntax/],
    ['abc', /use Go syntax/],
    ['5', /missing unit after "5"/],
    ['1.5', /missing unit/],
    ['5sec', /unknown unit "sec"/],
    ['5 s', /unknown unit " s"/],
    ['1d', /unknown unit "d"/],
    ['-1s', /must not be negative/],
    ['.s', /use Go syntax/],
    ['1h-5m', /unknown unit "h-"/],
    ['1000h', /too long/],
  ];
  for (const [text, message] of refused) {
    it(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseDuration(text),
        (error: Error) => {
          assert.ok(error instanceof RangeError);
          assert.match(error.message, message);
          assert.ok(error.message.startsWith(`invalid duration ${JSON.stringify(text)}: `));
          return true;
        },
      );
    });
  }

  it('accepts up to the Node.js timer limit', () => {
    assert.equal(parseDuration('596h31m23.647s'), MAX_DURATION_MS);
    assert.throws(() => parseDuration('596h31m23.648s'), /too long/);
  });

  it('refuses plain YAML numbers except 0, suggesting a unit', () => {
    assert.deepEqual(tryParseDurationValue(0), { ok: true, value: 0 });
    const five = tryParseDurationValue(5);
    assert.equal(five.ok, false);
    assert.equal(
      !five.ok && five.message,
      'a duration needs a unit: write "5s" or "5ms" (Go syntax), not the plain number 5',
    );
    assert.equal(tryParseDurationValue(-2).ok, false);
  });
});

describe('parseSize', () => {
  const accepted: Array<[string | number, number]> = [
    [0, 0],
    [1024, 1024],
    ['1024', 1024],
    ['1B', 1],
    ['64KiB', 65_536],
    ['10MB', 10_000_000],
    ['10MiB', 10_485_760],
    ['1GiB', 1_073_741_824],
    ['1.5KiB', 1536],
    ['2 mib', 2_097_152],
  ];
  for (const [input, bytes] of accepted) {
    it(`${JSON.stringify(input)} → ${bytes}`, () => assert.equal(parseSize(input), bytes));
  }
  for (const input of [-1, 1.5, '10XB', 'MiB', '1.1B', '', '9999999999GiB']) {
    it(`refuses ${JSON.stringify(input)}`, () => assert.throws(() => parseSize(input), RangeError));
  }
});
