// Upstream connection pools: one undici Pool per (origin, effective transport), created at
// load, shared by every location that resolves to the same pair, closed gracefully on reload.
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import type { HttpTransportConfig } from '../config/types.js';

/** The transport keys that change how connections are made (the pool identity). */
function transportFingerprint(t: HttpTransportConfig): string {
  return JSON.stringify([
    t.idleConnTimeoutMs,
    t.maxConnsPerHost,
    t.tlsHandshakeTimeoutMs,
    t.dialTimeoutMs,
    t.keepAliveMs,
    t.forceHttp2,
    t.certFile ?? '',
    t.keyFile ?? '',
    t.caFile ?? '',
    t.insecureSkipVerify,
  ]);
}

/** Maps `ws:`/`wss:` targets to the HTTP origin their handshake goes to. */
export function httpOrigin(target: URL): string {
  const protocol =
    target.protocol === 'wss:' ? 'https:' : target.protocol === 'ws:' ? 'http:' : target.protocol;
  return `${protocol}//${target.host}`;
}

export function buildPoolOptions(origin: string, t: HttpTransportConfig): Pool.Options {
  const secure = origin.startsWith('https:');
  const connect: Record<string, unknown> = {
    // Go's `keep_alive` is the TCP keep-alive probe interval.
    keepAlive: t.keepAliveMs > 0,
    keepAliveInitialDelay: t.keepAliveMs,
  };
  if (secure) {
    if (t.caFile) connect.ca = readFileSync(t.caFile);
    if (t.certFile) connect.cert = readFileSync(t.certFile);
    if (t.keyFile) connect.key = readFileSync(t.keyFile);
    connect.rejectUnauthorized = !t.insecureSkipVerify;
  }
  return {
    connections: t.maxConnsPerHost > 0 ? t.maxConnsPerHost : null,
    // undici's connect timeout spans TCP and TLS; Go splits them into dial and handshake.
    connectTimeout: t.dialTimeoutMs + (secure ? t.tlsHandshakeTimeoutMs : 0),
    keepAliveTimeout: t.idleConnTimeoutMs,
    keepAliveMaxTimeout: Math.max(t.idleConnTimeoutMs, 1),
    // Timeouts for response headers are applied per request by the proxy.
    headersTimeout: 0,
    pipelining: 1,
    allowH2: secure && t.forceHttp2,
    connect,
  };
}

/** How many runtimes hold each pool: a reload shares unchanged pools instead of re-dialling. */
const owners = new WeakMap<Pool, number>();

export class UpstreamClients {
  private readonly pools = new Map<string, Pool>();

  /** `inherit`: the running runtime's clients, whose pools are shared when the key is the same. */
  constructor(private readonly inherit?: UpstreamClients) {}

  /** The pool for a target and transport; the same object for the same pair. */
  get(target: URL, transport: HttpTransportConfig): Pool {
    const origin = httpOrigin(target);
    const key = `${origin} ${transportFingerprint(transport)}`;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      pool = this.inherit?.pools.get(key) ?? new Pool(origin, buildPoolOptions(origin, transport));
      owners.set(pool, (owners.get(pool) ?? 0) + 1);
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** Releases this set's pools; a pool closes (after its in-flight requests) when no runtime holds it. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    const closing: Array<Promise<void>> = [];
    for (const pool of pools) {
      const remaining = (owners.get(pool) ?? 1) - 1;
      owners.set(pool, remaining);
      if (remaining <= 0) closing.push(pool.close());
    }
    await Promise.allSettled(closing);
  }
}
