// The `cache` middleware: an RFC 9111 shared cache in front of the location's upstream.
// A hit is answered here without calling next(); a miss goes on with a recorder that stores the
// answer; concurrent misses for one key wait for the first one's outcome (coalescer.ts).
import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../../observability/logger.js';
import { type LocationMetrics, noopMetrics } from '../../observability/metrics-recorder.js';
import type { Exchange } from '../../proxy/exchange.js';
import type { MiddlewareFactory } from '../../runtime/middleware-registry.js';
import type { Middleware, Next } from '../types.js';
import { Coalescer, type Flight } from './coalescer.js';
import type { CachedResponse, CacheRecord, CacheStore } from './entry.js';
import { primaryKey, variantKey, variantOf } from './key.js';
import { MemoryStore } from './memory-store.js';
import {
  type ForwardReason,
  type RequestDirectives,
  requestBypass,
  requestDirectives,
  satisfiesRequest,
} from './policy.js';
import { type RecorderSettings, ResponseRecorder } from './recorder.js';
import { RedisStore } from './redis-store.js';

export const CACHE = 'cache';

/** The process's memory store, shared by every cache location and handed across reloads. */
const MEMORY_STORE_ID = `${CACHE}\u0000memory`;

/** Longest wait for another request's answer when `request_timeout` is 0 (none). */
const DEFAULT_WAIT_MS = 30_000;

interface SharedMemoryStore {
  store: MemoryStore;
  users: number;
}

/** Used under `dito --check` with `redis.enabled` (no connection is made there): always a miss. */
const NO_STORE: CacheStore = { get: () => undefined, set: () => undefined, delete: () => undefined };

/** Methods that do not change the resource (RFC 9110 section 9.2.1); the rest invalidate it. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

type Found = CacheRecord | undefined | Promise<CacheRecord | undefined>;

function isPromise(value: Found): value is Promise<CacheRecord | undefined> {
  return value !== undefined && typeof (value as Promise<unknown>).then === 'function';
}

/** A stored response is used only for the request variant it was stored for. */
function variantMatches(response: CachedResponse, headers: IncomingHttpHeaders): boolean {
  return response.varyNames.length === 0 || variantOf(response.varyNames, headers) === response.variant;
}

class CacheMiddleware implements Middleware {
  readonly name = CACHE;
  private readonly coalescer = new Coalescer();
  private hitFailureLogged = false;

  private readonly store: CacheStore;

  constructor(
    private readonly settings: RecorderSettings,
    private readonly waitMs: number,
    private readonly logger: Logger,
    private readonly metrics: LocationMetrics,
    private readonly release: () => void,
  ) {
    this.store = settings.store;
  }

  handle(exchange: Exchange, next: Next): void | Promise<void> {
    const req = exchange.req;
    const bypass = requestBypass(req.method, req.headers);
    if (bypass !== undefined) {
      this.metrics.cacheLookup('bypass');
      // RFC 9111 section 4.4: a successful unsafe request invalidates what is stored for its URI.
      const invalidates = !SAFE_METHODS.has(req.method!);
      const key = invalidates ? primaryKey(req.headers.host, exchange.path, exchange.query) : '';
      this.forward(exchange, next, key, bypass, false, undefined, invalidates);
      return;
    }
    const directives = requestDirectives(req.headers);
    const key = primaryKey(req.headers.host, exchange.path, exchange.query);
    // `no-cache`: the client wants the upstream's answer; it may refresh the stored one.
    if (directives.noCache) {
      this.metrics.cacheLookup('bypass');
      this.forward(exchange, next, key, 'request', req.method === 'GET' && !directives.noStore);
      return;
    }
    const found = this.store.get(key);
    if (isPromise(found)) return found.then((record) => this.found(exchange, next, key, directives, record));
    return this.found(exchange, next, key, directives, found);
  }

  async close(): Promise<void> {
    this.coalescer.landAll();
    this.release();
  }

  private found(
    exchange: Exchange,
    next: Next,
    key: string,
    directives: RequestDirectives,
    record: CacheRecord | undefined,
  ): void | Promise<void> {
    if (record === undefined) return this.miss(exchange, next, key, 'uri-miss', directives);
    if (record.kind === 'response') return this.use(exchange, next, key, directives, record);
    // The response varies: its variant for this request's header values has its own key.
    const found = this.store.get(variantKey(key, variantOf(record.varyNames, exchange.req.headers)));
    const then = (variant: CacheRecord | undefined): void =>
      variant?.kind === 'response'
        ? this.use(exchange, next, key, directives, variant)
        : this.miss(exchange, next, key, 'vary-miss', directives);
    if (isPromise(found)) return found.then(then);
    return then(found);
  }

  /** Answers from `response` when it is fresh enough for this request, else goes upstream. */
  private use(
    exchange: Exchange,
    next: Next,
    key: string,
    directives: RequestDirectives,
    response: CachedResponse,
  ): void {
    const now = Date.now();
    const remainingMs = response.expiresAt - now;
    if (remainingMs <= 0) return this.miss(exchange, next, key, 'stale', directives);
    if (!variantMatches(response, exchange.req.headers))
      return this.miss(exchange, next, key, 'vary-miss', directives);
    const age = response.initialAgeSeconds + Math.floor((now - response.storedAt) / 1000);
    if (!satisfiesRequest(directives, age, Math.floor(remainingMs / 1000))) {
      return this.miss(exchange, next, key, 'request', directives);
    }
    this.answer(exchange, next, response, age, `Dito; hit; ttl=${Math.ceil(remainingMs / 1000)}`);
  }

  /** Goes upstream; a GET joins (or leads) the flight of concurrent misses for the same key. */
  private miss(
    exchange: Exchange,
    next: Next,
    key: string,
    reason: ForwardReason,
    directives: RequestDirectives,
  ): void {
    const storable = exchange.req.method === 'GET' && !directives.noStore;
    if (!storable) {
      this.metrics.cacheLookup('miss');
      return this.forward(exchange, next, key, reason, false);
    }
    const { flight, leader } = this.coalescer.join(key);
    if (leader) {
      this.metrics.cacheLookup('miss');
      return this.forward(exchange, next, key, reason, true, flight);
    }
    flight.wait((response) => {
      if (exchange.res.destroyed) return; // the client left while waiting
      const now = Date.now();
      if (
        response !== undefined &&
        response.expiresAt > now &&
        variantMatches(response, exchange.req.headers)
      ) {
        const age = response.initialAgeSeconds + Math.floor((now - response.storedAt) / 1000);
        // RFC 9211: answered by a response another request fetched.
        this.answer(exchange, next, response, age, `Dito; fwd=${reason}; collapsed`);
        return;
      }
      this.metrics.cacheLookup('miss');
      this.forward(exchange, next, key, reason, true);
    }, this.waitMs);
  }

  private forward(
    exchange: Exchange,
    next: Next,
    key: string,
    reason: ForwardReason,
    storable: boolean,
    flight?: Flight,
    invalidates = false,
  ): void {
    const recorder = new ResponseRecorder(
      exchange,
      this.settings,
      key,
      reason,
      storable,
      flight,
      invalidates,
    );
    (exchange.observers ??= []).push(recorder);
    next();
  }

  private answer(
    exchange: Exchange,
    next: Next,
    response: CachedResponse,
    age: number,
    status: string,
  ): void {
    const res = exchange.res;
    const body = response.body;
    const headers = response.headers.concat(
      'age',
      String(age),
      'x-cache',
      'HIT',
      'cache-status',
      status,
      'x-request-id',
      exchange.requestId,
      'content-length',
      String(body.length),
    );
    try {
      res.writeHead(response.status, headers);
    } catch (err) {
      // Only a stored record Node refuses to send (written by something else into Redis).
      if (!this.hitFailureLogged) {
        this.hitFailureLogged = true;
        this.logger.warn(
          { err: (err as Error).message, key: response.key },
          'cache: stored response unusable',
        );
      }
      if (!res.headersSent) this.forward(exchange, next, '', 'uri-miss', false);
      return;
    }
    this.metrics.cacheLookup('hit');
    if (exchange.req.method === 'HEAD') {
      res.end();
      return;
    }
    exchange.bytesOut += body.length;
    res.end(body);
  }
}

function sharedMemoryStore(
  carry: Map<string, unknown>,
  maxBytes: number,
): { store: MemoryStore; release(): void } {
  let shared = carry.get(MEMORY_STORE_ID) as SharedMemoryStore | undefined;
  if (shared === undefined) {
    shared = { store: new MemoryStore(maxBytes), users: 0 };
    carry.set(MEMORY_STORE_ID, shared);
  } else {
    shared.store.resize(maxBytes);
  }
  shared.users++;
  const owner = shared;
  let released = false;
  return {
    store: owner.store,
    release() {
      if (released) return;
      released = true;
      // The last cache location gone (a reload removed them all): the memory goes with it.
      if (--owner.users === 0 && carry.get(MEMORY_STORE_ID) === owner) {
        carry.delete(MEMORY_STORE_ID);
        owner.store.clear();
      }
    },
  };
}

export const createCache: MiddlewareFactory = (context) => {
  const settings = context.location.cache;
  if (!settings.enabled) return { name: CACHE, handle: (_exchange, next) => next() };
  const requestTimeoutMs = context.config.requestTimeoutMs;
  const waitMs = requestTimeoutMs > 0 ? requestTimeoutMs : DEFAULT_WAIT_MS;
  const metrics = (context.metrics ?? noopMetrics).location(context.location.path);
  const limits = { ttlSeconds: settings.ttlSeconds, maxBodySize: settings.maxBodySize, metrics };
  if (context.config.redis.enabled) {
    const store = context.redis === undefined ? NO_STORE : new RedisStore(context.redis);
    return new CacheMiddleware({ store, ...limits }, waitMs, context.logger, metrics, () => undefined);
  }
  const { store, release } = sharedMemoryStore(context.carry, context.config.cacheStore.memoryMaxSize);
  return new CacheMiddleware({ store, ...limits }, waitMs, context.logger, metrics, release);
};
