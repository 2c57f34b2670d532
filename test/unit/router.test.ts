import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileTargetPath, Router, rewritePath } from '../../src/routing/router.js';

test('rewritePath: replace_path and appending, queries kept', () => {
  const t = (url: string) => compileTargetPath(new URL(url));
  assert.equal(rewritePath(t('http://b/v1'), false, '/api/x', ''), '/v1/api/x');
  assert.equal(rewritePath(t('http://b/v1/'), false, '/api/x', '?q=1'), '/v1/api/x?q=1');
  assert.equal(rewritePath(t('http://b'), false, '/api/x', ''), '/api/x');
  assert.equal(rewritePath(t('http://b/'), false, '/', ''), '/');
  assert.equal(rewritePath(t('http://b/get'), true, '/dito', '?a=1'), '/get?a=1');
  assert.equal(rewritePath(t('http://b'), true, '/dito', ''), '/');
  assert.equal(rewritePath(t('http://b/get?x=1'), true, '/dito', '?a=1'), '/get?x=1&a=1');
  assert.equal(rewritePath(t('http://b/get?x=1'), false, '/y', ''), '/get/y?x=1');
});

test('Router: first match in order, path only', () => {
  const router = new Router([
    { regex: /^\/exact$/, name: 'a' },
    { regex: /^\/api\//, name: 'b' },
    { regex: /^\//, name: 'c' },
  ]);
  assert.equal(router.match('/exact')?.name, 'a');
  assert.equal(router.match('/api/x')?.name, 'b');
  assert.equal(router.match('/exactly')?.name, 'c');
  assert.equal(new Router([{ regex: /^\/x$/ }]).match('/y'), undefined);
});
