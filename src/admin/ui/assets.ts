// The dashboard's static files, built into the package as strings (no build step, no CDN, nothing
// fetched at run time): bodies and headers computed once at load, served by path.
import { createHash } from 'node:crypto';
import { DASHBOARD_JS } from './client-script.js';
import { DASHBOARD_HTML, FAVICON_SVG } from './page.js';
import { DASHBOARD_CSS } from './styles.js';

export interface StaticAsset {
  body: Buffer;
  headers: Record<string, string>;
}

/** Only this listener's own files; no inline code; no framing; fetches back to this origin only. */
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function asset(text: string, contentType: string, extra: Record<string, string> = {}): StaticAsset {
  const body = Buffer.from(text, 'utf8');
  return {
    body,
    headers: {
      'content-type': contentType,
      'content-length': String(body.length),
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      ...extra,
    },
  };
}

export const STATIC_ASSETS: ReadonlyMap<string, StaticAsset> = new Map([
  [
    '/',
    asset(DASHBOARD_HTML, 'text/html; charset=utf-8', { 'content-security-policy': CONTENT_SECURITY_POLICY }),
  ],
  ['/dashboard.js', asset(DASHBOARD_JS, 'text/javascript; charset=utf-8')],
  ['/dashboard.css', asset(DASHBOARD_CSS, 'text/css; charset=utf-8')],
  ['/favicon.svg', asset(FAVICON_SVG, 'image/svg+xml')],
  // Browsers ask for /favicon.ico whatever the page says; a 404 would be a console error.
  ['/favicon.ico', asset(FAVICON_SVG, 'image/svg+xml')],
]);
