// Upstream connection pools: one undici Pool per (origin, effective transport), created at load,
// shared by every location (and every runtime, across reloads) that resolves to the same pair,
// and closed gracefully once the last runtime using it is retired.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Client, Pool } from 'undici';
import type { HttpTransportConfig } from '../config/types.js';
import { compactingClientFactory } from './compacting-client.js';
import { buildDialer } from './connector.js';
import { UndiciClient, UndiciPool } from './undici.js';

/** Longest delay a Node timer takes: what "0 = no limit" becomes for the idle timeout. */
const NO_LIMIT_MS = 2 ** 31 - 1;

/** Go's default TCP keep-alive period when `keep_alive` is 0. */
const DEFAULT_KEEP_ALIVE_MS = 15_000;

/** Maps `ws:`/`wss:` targets to the HTTP origin their handshake goes to. */
export function httpOrigin(target: URL): string {
  const protocol =
    target.protocol === 'wss:' ? 'https:' : target.protocol === 'ws:' ? 'http:' : target.protocol;
  return `${protocol}//${target.host}`;
}

/** Certificate files read once at load, and the context built from them. */
interface TlsMaterial {
  secureContext: SecureContext | undefined;
  /** SHA-256 over the files' bytes: a certificate renewed on disk makes a new pool on reload. */
  digest: string;
}

/** Reads `ca_file`, `cert_file` and `key_file`; errors name the file that failed. */
function loadTlsMaterial(t: HttpTransportConfig): TlsMaterial {
  const read = (file: string | undefined): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        cause: err,
      });
    }
  };
  const ca = read(t.caFile);
  const cert = read(t.certFile);
  const key = read(t.keyFile);
  if (ca === undefined && cert === undefined && key === undefined) {
    return { secureContext: undefined, digest: '' };
  }
  const hash = createHash('sha256');
  for (const bytes of [ca, cert, key]) hash.update(bytes ?? '').update('\0');
  let secureContext: SecureContext;
  try {
    // Built once per pool instead of once per connection, and a bad PEM fails at load, not later.
    secureContext = createSecureContext({ ca, cert, key });
  } catch (err) {
    const file = t.certFile ?? t.keyFile ?? t.caFile;
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  return { secureContext, digest: hash.digest('hex') };
}

/** The transport keys that change how connections are made (the pool identity). */
function poolKey(origin: string, t: HttpTransportConfig, material: TlsMaterial): string {
  return JSON.stringify([
    origin,
    t.idleConnTimeoutMs,
    t.maxConnsPerHost,
    t.tlsHandshakeTimeoutMs,
    t.dialTimeoutMs,
    t.keepAliveMs,
    t.forceHttp2,
    t.certFile ?? '',
    t.keyFile ?? '',
    t.caFile ?? '',
    material.digest,
    t.insecureSkipVerify,
  ]);
}

/**
 * undici options for one (origin, transport) pair. The mapping of every `transport.http` key is
 * written down in docs/transport.md; keys with no undici counterpart are warned about at load.
 */
export function buildPoolOptions(
  origin: string,
  t: HttpTransportConfig,
  secureContext?: SecureContext,
): Pool.Options {
  const secure = origin.startsWith('https:');
  const idle = t.idleConnTimeoutMs > 0 ? t.idleConnTimeoutMs : NO_LIMIT_MS;
  const allowH2 = secure && t.forceHttp2;
  return {
    connections: t.maxConnsPerHost > 0 ? t.maxConnsPerHost : null,
    keepAliveTimeout: idle,
    // An upstream's `Keep-Alive: timeout=N` hint may shorten the idle time, never lengthen it.
    keepAliveMaxTimeout: idle,
    // No undici timers by default: the proxy keeps the silence limit (src/proxy/silence-watch.ts)
    // and passes `response_header_timeout`, when set, per request.
    headersTimeout: 0,
    bodyTimeout: 0,
    pipelining: 1,
    allowH2,
    connect: buildDialer({
      secure,
      dialTimeoutMs: t.dialTimeoutMs,
      tlsHandshakeTimeoutMs: t.tlsHandshakeTimeoutMs,
      keepAliveMs: t.keepAliveMs > 0 ? t.keepAliveMs : DEFAULT_KEEP_ALIVE_MS,
      allowH2,
      secureContext,
      rejectUnauthorized: !t.insecureSkipVerify,
    }),
  };
}

/** One origin's pool, and a way to get a connection that is certainly new. */
export interface Upstream {
  readonly pool: Pool;
  /**
   * A single-connection client on a fresh connection, for the one retry after a pooled
   * keep-alive connection turned out to be closed. The caller closes it after its request.
   */
  freshClient(): Client;
}

function createUpstream(origin: string, t: HttpTransportConfig, material: TlsMaterial): Upstream {
  const options = buildPoolOptions(origin, t, material.secureContext);
  const { connections: _connections, ...clientOptions } = options;
  return {
    pool: new UndiciPool(origin, { ...options, factory: compactingClientFactory }),
    freshClient: () => new UndiciClient(origin, clientOptions),
  };
}

/**
 * Every upstream pool of the process, shared across runtimes: a reload that keeps an
 * (origin, transport) pair keeps its warm connections. Owned by the app; counts its users.
 */
export class UpstreamPools {
  private readonly entries = new Map<string, { upstream: Upstream; users: number }>();

  acquire(key: string, create: () => Upstream): Upstream {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { upstream: create(), users: 0 };
      this.entries.set(key, entry);
    }
    entry.users++;
    return entry.upstream;
  }

  /** Drops one user; the last one out closes the pool (gracefully: in-flight requests finish). */
  async release(key: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    entry.users--;
    if (entry.users > 0) return;
    this.entries.delete(key);
    await entry.upstream.pool.close();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The pools one runtime uses; `close()` releases them (the runtime's share only). */
export class UpstreamClients {
  private readonly keys = new Set<string>();
  private readonly byKey = new Map<string, Upstream>();

  constructor(private readonly pools: UpstreamPools = new UpstreamPools()) {}

  /** The upstream for a target and transport; the same object for the same pair. */
  get(target: URL, transport: HttpTransportConfig): Upstream {
    const origin = httpOrigin(target);
    const secure = origin.startsWith('https:');
    const material = secure ? loadTlsMaterial(transport) : { secureContext: undefined, digest: '' };
    const key = poolKey(origin, transport, material);
    let upstream = this.byKey.get(key);
    if (upstream === undefined) {
      upstream = this.pools.acquire(key, () => createUpstream(origin, transport, material));
      this.keys.add(key);
      this.byKey.set(key, upstream);
    }
    return upstream;
  }

  /** Releases this runtime's share of every pool; pools no other runtime uses close. */
  async close(): Promise<void> {
    const keys = [...this.keys];
    this.keys.clear();
    this.byKey.clear();
    await Promise.allSettled(keys.map((key) => this.pools.release(key)));
  }
}
