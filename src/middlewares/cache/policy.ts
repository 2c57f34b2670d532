// What the cache may do with a request and a response: RFC 9111 rules for a shared cache.
// Storability and the upstream's freshness lifetime come from http-cache-semantics; the
// contract's own rules (200 only, `ttl` when the upstream gives no lifetime) are layered on top.
import type { IncomingHttpHeaders } from 'node:http';
import CachePolicy from 'http-cache-semantics';

/** RFC 9211 `fwd` values Dito reports in `Cache-Status` when it went upstream. */
export type ForwardReason = 'bypass' | 'method' | 'uri-miss' | 'vary-miss' | 'stale' | 'request';

/** Request directives that matter for a lookup (RFC 9111 section 5.2.1). */
export interface RequestDirectives {
  /** `no-cache` (or `Pragma: no-cache`): the stored response may not be used without asking upstream. */
  noCache: boolean;
  /** `no-store`: nothing about this exchange may be stored. */
  noStore: boolean;
  /** `max-age`: the client accepts no response older than this many seconds; -1 = no limit. */
  maxAgeSeconds: number;
  /** `min-fresh`: the response must stay fresh at least this many more seconds; -1 = no demand. */
  minFreshSeconds: number;
}

const NO_DIRECTIVES: RequestDirectives = {
  noCache: false,
  noStore: false,
  maxAgeSeconds: -1,
  minFreshSeconds: -1,
};

function seconds(value: string | undefined): number {
  if (value === undefined) return -1;
  const n = Number(value.replace(/^"|"$/g, ''));
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : -1;
}

/** Parses `Cache-Control` into lower-cased directive → argument ('' when it has none). */
export function parseCacheControl(value: string | string[] | undefined): Map<string, string> {
  const directives = new Map<string, string>();
  if (value === undefined) return directives;
  const text = Array.isArray(value) ? value.join(',') : value;
  for (const part of text.split(',')) {
    const equals = part.indexOf('=');
    const name = (equals === -1 ? part : part.slice(0, equals)).trim().toLowerCase();
    if (name === '') continue;
    // The first occurrence wins, as in http-cache-semantics.
    if (!directives.has(name)) directives.set(name, equals === -1 ? '' : part.slice(equals + 1).trim());
  }
  return directives;
}

/** The request's cache directives; most requests carry none, and pay one property read. */
export function requestDirectives(headers: IncomingHttpHeaders): RequestDirectives {
  const cacheControl = headers['cache-control'];
  if (cacheControl === undefined) {
    const pragma = headers.pragma;
    return pragma !== undefined && /no-cache/i.test(pragma)
      ? { ...NO_DIRECTIVES, noCache: true }
      : NO_DIRECTIVES;
  }
  const directives = parseCacheControl(cacheControl);
  return {
    noCache: directives.has('no-cache'),
    noStore: directives.has('no-store'),
    maxAgeSeconds: seconds(directives.get('max-age')),
    minFreshSeconds: seconds(directives.get('min-fresh')),
  };
}

/** Why a request does not use the cache at all, or undefined when it may. */
export function requestBypass(
  method: string | undefined,
  headers: IncomingHttpHeaders,
): ForwardReason | undefined {
  if (method !== 'GET' && method !== 'HEAD') return 'method';
  // Contract: never answer a request carrying credentials from the cache, nor store its answer.
  if (headers.authorization !== undefined) return 'bypass';
  // A WebSocket handshake must reach the upstream, never be answered with a stored GET.
  if (headers.upgrade !== undefined) return 'bypass';
  // A GET with a body (rare, but the key would not include it).
  if (headers['transfer-encoding'] !== undefined) return 'bypass';
  const length = headers['content-length'];
  if (length !== undefined && length !== '0') return 'bypass';
  return undefined;
}

/** What the cache keeps of a storable response besides its bytes. */
export interface StorageDecision {
  /** Milliseconds the response stays fresh from now. */
  lifetimeMs: number;
  /** The response's age when it arrived (upstream `Age`, clock skew), whole seconds. */
  initialAgeSeconds: number;
  /** Lower-cased header names of `Vary`, sorted; empty when the response does not vary. */
  varyNames: string[];
}

/** Lower-cased header object for http-cache-semantics from a flat `[name, value, ...]` list. */
export function headerObject(flat: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const previous = headers[name];
    headers[name] = previous === undefined ? flat[i + 1]! : `${previous}, ${flat[i + 1]!}`;
  }
  return headers;
}

/**
 * Whether and for how long a 200 answer to a GET is stored. Never: `no-store` (request or
 * response), `private`, `no-cache` on the response (it would need revalidation on every use,
 * which Dito does not do), `Vary: *`, `Set-Cookie` (one client's cookie must not reach
 * another), an explicit lifetime of zero. Lifetime: the upstream's `s-maxage`, `max-age` or
 * `Expires` when it gives one (minus the age it arrived with), else `ttlSeconds`.
 */
export function decideStorage(
  request: { url: string; headers: IncomingHttpHeaders },
  status: number,
  responseHeaders: Record<string, string>,
  ttlSeconds: number,
): StorageDecision | undefined {
  if (status !== 200) return undefined;
  if (responseHeaders['set-cookie'] !== undefined) return undefined;
  const vary = responseHeaders.vary;
  const varyNames =
    vary === undefined
      ? []
      : [
          ...new Set(
            vary
              .split(',')
              .map((name) => name.trim().toLowerCase())
              .filter((name) => name !== ''),
          ),
        ].sort();
  if (varyNames.includes('*')) return undefined;
  const directives = parseCacheControl(responseHeaders['cache-control']);
  if (directives.has('no-cache')) return undefined;
  if (responseHeaders['cache-control'] === undefined && /no-cache/i.test(responseHeaders.pragma ?? '')) {
    return undefined;
  }
  const policy = new CachePolicy(
    { method: 'GET', url: request.url, headers: request.headers as Record<string, string> },
    { status, headers: responseHeaders },
    { shared: true },
  );
  if (!policy.storable()) return undefined;
  const explicit =
    directives.has('s-maxage') || directives.has('max-age') || responseHeaders.expires !== undefined;
  const initialAgeSeconds = Math.floor(policy.age());
  const lifetimeMs = explicit ? policy.timeToLive() : ttlSeconds * 1000;
  if (!(lifetimeMs > 0)) return undefined;
  return { lifetimeMs, initialAgeSeconds, varyNames };
}

/** Whether a stored response still satisfies the request's own freshness demands. */
export function satisfiesRequest(
  directives: RequestDirectives,
  ageSeconds: number,
  remainingSeconds: number,
): boolean {
  if (directives.maxAgeSeconds >= 0 && ageSeconds > directives.maxAgeSeconds) return false;
  if (directives.minFreshSeconds >= 0 && remainingSeconds < directives.minFreshSeconds) return false;
  return true;
}
