// An upstream for cache tests: each path answers with the caching headers its name says, so
// tests count how often the upstream was asked for each one.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Reply, request } from './net.js';
import type { Upstream } from './upstream.js';

/** The upstream's answers, chosen by path: each says how it may be cached. */
export function cacheTestHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://upstream');
  const path = url.pathname;
  const send = (body: string | Buffer, headers: Record<string, string> = {}) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(body.length), ...headers });
    res.end(body);
  };
  if (path.endsWith('/no-store')) return send('no-store', { 'cache-control': 'no-store' });
  if (path.endsWith('/private')) return send('private', { 'cache-control': 'private, max-age=60' });
  if (path.endsWith('/max-age')) return send(`max-age ${Date.now()}`, { 'cache-control': 'max-age=60' });
  if (path.endsWith('/vary')) {
    return send(`lang=${req.headers['accept-language'] ?? ''}`, { vary: 'Accept-Language' });
  }
  if (path.endsWith('/cookie')) return send('cookie', { 'set-cookie': 'session=1' });
  if (path.endsWith('/big')) return send(Buffer.alloc(4096, 120));
  if (path.endsWith('/binary')) {
    // 2 MiB of every byte value in a fixed pseudo-random order: any text decoding would show.
    const body = Buffer.alloc(2 * 1024 * 1024);
    let state = 12345;
    for (let i = 0; i < body.length; i++) {
      state = (state * 1103515245 + 12345) & 0x7fffffff;
      body[i] = state >>> 16;
    }
    return send(body, { 'content-type': 'application/octet-stream' });
  }
  if (path.endsWith('/slow')) {
    setTimeout(() => send(`slow ${Date.now()}`), 300);
    return;
  }
  send(`${req.method} ${path} ${Date.now()} ${Math.random()}`);
}

export function hitsFor(upstream: Upstream, path: string): number {
  return upstream.requests.filter((r) => r.url === path).length;
}

export function concurrent(count: number, url: string): Promise<Reply[]> {
  return Promise.all(Array.from({ length: count }, () => request(url)));
}
