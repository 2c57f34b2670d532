// Translation of Go/RE2 path patterns into JavaScript regular expressions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGoRegex, translateGoRegex } from '../../src/config/regex.js';

describe('translateGoRegex', () => {
  const table: Array<[string, string, string]> = [
    ['^/api/v1/.*$', '^/api/v1/.*$', ''],
    ['(?i)^/admin', '^/admin', 'i'],
    ['(?is)^/a.b', '^/a.b', 'is'],
    ['(?i)(?m)^/x$', '^/x$', 'im'],
    ['^/users/(?P<id>[0-9]+)$', '^/users/(?<id>[0-9]+)$', ''],
    ['\\A/x\\z', '(?<![\\s\\S])/x(?![\\s\\S])', ''],
    ['^/\\Q*.txt\\E$', '^/\\*\\.txt$', ''],
    ['^/[[:alpha:]]+$', '^/[A-Za-z]+$', ''],
    ['^/[[:digit:]_-]+$', '^/[0-9_-]+$', ''],
    ['^/[]a]$', '^/[\\]a]$', ''],
    ['^/[^]a]$', '^/[^\\]a]$', ''],
    ['^/\\pL+$', '^/\\p{L}+$', 'u'],
    ['^/\\p{Greek}$', '^/\\p{Script=Greek}$', 'u'],
    ['^/\\p{^Greek}\\PN$', '^/\\P{Script=Greek}\\P{N}$', 'u'],
    ['^/\\p{Lu}$', '^/\\p{Lu}$', 'u'],
  ];
  for (const [go, source, flags] of table) {
    it(`${go} → /${source}/${flags}`, () => assert.deepEqual(translateGoRegex(go), { source, flags }));
  }

  it('translated patterns match as RE2 would', () => {
    assert.ok(compileGoRegex('(?i)^/ADMIN$').test('/admin'));
    assert.equal(compileGoRegex('^/users/(?P<id>[0-9]+)$').exec('/users/42')?.groups?.id, '42');
    assert.ok(compileGoRegex('^/a\\z').test('/a'));
    assert.ok(!compileGoRegex('(?m)^/a\\z').test('/a\n'));
    assert.ok(compileGoRegex('^/[[:alnum:]]+$').test('/Ab9'));
    assert.ok(!compileGoRegex('^/[[:alnum:]]+$').test('/a-b'));
    assert.ok(compileGoRegex('^/\\Q(x)\\E$').test('/(x)'));
  });

  const refused: Array<[string, string]> = [
    ['(unclosed', 'invalid regular expression: Unterminated group'],
    [
      '^/a(?i)b',
      'invalid regular expression: inline flags such as (?i) are supported only at the start of the pattern',
    ],
    ['(?U)^/a+', 'invalid regular expression: flag U (ungreedy) has no JavaScript equivalent'],
    ['[[:^alpha:]]', 'invalid regular expression: negated POSIX class [:^alpha:] is not supported'],
    ['[[:letters:]]', 'invalid regular expression: unknown POSIX class [:letters:]'],
    ['a\\', 'invalid regular expression: \\ at end of pattern'],
    ['*a', 'invalid regular expression: Nothing to repeat'],
    ['\\p{Klingon}', 'invalid regular expression: unknown Unicode class "Klingon"'],
  ];
  for (const [go, message] of refused) {
    it(`refuses ${go}`, () => assert.throws(() => compileGoRegex(go), { name: 'SyntaxError', message }));
  }
});
