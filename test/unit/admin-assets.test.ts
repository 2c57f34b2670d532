// The dashboard's built-in assets: the script parses (even where no browser runs the e2e test),
// nothing points outside the admin listener, and the page loads only its own files.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Script } from 'node:vm';
import { STATIC_ASSETS } from '../../src/admin/ui/assets.js';

test('the dashboard script is valid JavaScript', () => {
  const script = STATIC_ASSETS.get('/dashboard.js')!.body.toString('utf8');
  assert.doesNotThrow(() => new Script(script, { filename: 'dashboard.js' }));
});

test('no asset refers to another origin (no CDN, works offline)', () => {
  for (const [path, asset] of STATIC_ASSETS) {
    const text = asset.body.toString('utf8');
    const external = text.match(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"')]*/gi) ?? [];
    // The SVG namespace is an identifier, never fetched.
    assert.deepEqual(
      external.filter((url) => !url.includes('www.w3.org/2000/svg')),
      [],
      path,
    );
    assert.equal(asset.headers['content-length'], String(asset.body.length));
  }
  const page = STATIC_ASSETS.get('/')!.body.toString('utf8');
  const references = [...page.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]);
  assert.deepEqual(references.sort(), ['/dashboard.css', '/dashboard.js', '/favicon.svg']);
  assert.ok(!/<script>|style="/.test(page), 'no inline script or style (the CSP forbids them)');
});
