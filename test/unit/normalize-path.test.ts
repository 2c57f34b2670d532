import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { InvalidPathError, normalizePath, splitTarget } from '../../src/routing/normalize-path.js';
import { fuzzRuns, fuzzTimeMs } from '../helpers/fuzz.js';

test('normalizePath: RFC 3986 6.2.2 cases', () => {
  const cases: Array<[string, string]> = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/%61dmin', '/admin'],
    ['/%7Euser', '/~user'],
    ['/a%2fb', '/a%2Fb'],
    ['/a%2Fb', '/a%2Fb'],
    ['/sp%20ace', '/sp%20ace'],
    ['/sp%2a', '/sp%2A'],
    ['//admin', '/admin'],
    ['/a//b///c', '/a/b/c'],
    ['/a/./b', '/a/b'],
    ['/a/../b', '/b'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/%2E/b', '/a/b'],
    ['/.hidden/x', '/.hidden/x'],
    ['/a/..b/c', '/a/..b/c'],
    ['/a/', '/a/'],
  ];
  for (const [input, expected] of cases) assert.equal(normalizePath(input), expected, input);
});

test('normalizePath: climbing above the root is an error', () => {
  for (const input of ['/..', '/../x', '/a/../../x', '/%2e%2e/x', '/a/%2E%2E/%2e%2e']) {
    assert.throws(
      () => normalizePath(input),
      (err: unknown) => err instanceof InvalidPathError && err.reason === 'traversal',
      input,
    );
  }
});

test('normalizePath: malformed escapes are errors', () => {
  for (const input of ['/%', '/%4', '/%zz', 'relative']) {
    assert.throws(() => normalizePath(input), InvalidPathError, input);
  }
});

test('splitTarget: origin-form and absolute-form', () => {
  assert.deepEqual(splitTarget('/a?b=1'), { path: '/a', query: '?b=1' });
  assert.deepEqual(splitTarget('/a'), { path: '/a', query: '' });
  assert.deepEqual(splitTarget('http://h:1/x/y?z'), { path: '/x/y', query: '?z' });
  assert.deepEqual(splitTarget('http://h:1'), { path: '/', query: '' });
  assert.throws(() => splitTarget('*'), InvalidPathError);
});

test('normalizePath: properties hold for arbitrary paths (time-boxed)', () => {
  const segment = fc.stringMatching(/^(?:[a-zA-Z0-9._~-]|%[0-9a-fA-F]{2}|\.\.?)*$/, { maxLength: 12 });
  const pathArb = fc.array(segment, { maxLength: 8 }).map((s) => `/${s.join('/')}`);
  fc.assert(
    fc.property(pathArb, (path) => {
      let out: string;
      try {
        out = normalizePath(path);
      } catch (err) {
        assert.ok(err instanceof InvalidPathError);
        return;
      }
      assert.ok(out.startsWith('/'));
      assert.ok(!out.includes('//'), out);
      assert.ok(!/(^|\/)\.\.?(\/|$)/.test(out), out);
      assert.ok(!/%(?:[46][1-9A-F]|[57][0-9A]|3[0-9]|2D|2E|5F|7E)/.test(out), out);
      assert.equal(normalizePath(out), out, 'idempotent');
    }),
    { interruptAfterTimeLimit: fuzzTimeMs(2000), numRuns: fuzzRuns(20_000) },
  );
});
