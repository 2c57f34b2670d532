// The miss path's response observer: decides at the response headers whether the answer is
// stored (policy.ts), marks it `X-Cache: MISS` with its `Cache-Status`, collects the body up to
// the size bound, stores it at the end, and tells the requests waiting on it.
import type { LocationMetrics } from '../../observability/metrics-recorder.js';
import type { Exchange, ResponseObserver } from '../../proxy/exchange.js';
import type { Flight } from './coalescer.js';
import type { CachedResponse, CacheStore, VaryMarker } from './entry.js';
import { variantKey, variantOf } from './key.js';
import { decideStorage, type ForwardReason, headerObject, type StorageDecision } from './policy.js';

/** Upstream headers the cache never keeps: recomputed per answer, or Dito's own. */
const NOT_KEPT = new Set(['content-length', 'age', 'x-request-id', 'x-cache', 'cache-status']);

export interface RecorderSettings {
  readonly store: CacheStore;
  readonly ttlSeconds: number;
  readonly maxBodySize: number;
  readonly metrics: LocationMetrics;
}

/** Removes every header named `name` (lower case) from a flat list, in place. */
function removeHeader(headers: string[], name: string): void {
  let w = 0;
  for (let r = 0; r < headers.length; r += 2) {
    if (headers[r]!.toLowerCase() === name) continue;
    headers[w++] = headers[r]!;
    headers[w++] = headers[r + 1]!;
  }
  headers.length = w;
}

export class ResponseRecorder implements ResponseObserver {
  private decision: StorageDecision | undefined;
  private kept: string[] | undefined;
  private chunks: Buffer[] | undefined;
  private bytes = 0;
  private landed = false;

  constructor(
    private readonly exchange: Exchange,
    private readonly settings: RecorderSettings,
    private readonly key: string,
    private readonly reason: ForwardReason,
    /** False for answers that are never stored (HEAD, bypassed requests). */
    private readonly storable: boolean,
    private readonly flight: Flight | undefined,
    /** An unsafe request (POST, PUT, ...): a non-error answer drops the stored response. */
    private readonly invalidates = false,
  ) {
    // Whatever happens (an inner middleware answers, the client leaves), waiters are released.
    if (flight !== undefined) exchange.res.once('close', () => this.land(undefined));
  }

  onHeaders(status: number, headers: string[]): void {
    if (this.storable) this.prepare(status, headers);
    else if (this.invalidates && status < 400) this.settings.store.delete(this.key);
    removeHeader(headers, 'x-cache');
    headers.push(
      'x-cache',
      'MISS',
      'cache-status',
      this.chunks !== undefined ? `Dito; fwd=${this.reason}; stored` : `Dito; fwd=${this.reason}`,
    );
  }

  onData(chunk: Buffer): void {
    if (this.chunks === undefined) return;
    this.bytes += chunk.length;
    if (this.bytes > this.settings.maxBodySize) {
      this.chunks = undefined;
      return;
    }
    this.chunks.push(chunk);
  }

  onEnd(): void {
    const chunks = this.chunks;
    if (chunks === undefined || this.decision === undefined || this.kept === undefined) {
      this.land(undefined);
      return;
    }
    this.chunks = undefined;
    this.land(this.save(this.decision, this.kept, Buffer.concat(chunks, this.bytes)));
  }

  onAbort(): void {
    this.chunks = undefined;
    this.land(undefined);
    // Dito's own error answer (502, 504, 413) comes next: it keeps headers set on `res`.
    const res = this.exchange.res;
    if (!res.headersSent) {
      res.setHeader('x-cache', 'MISS');
      res.setHeader('cache-status', `Dito; fwd=${this.reason}`);
    }
  }

  private prepare(status: number, headers: string[]): void {
    if (status !== 200) return;
    let declaredLength = -1;
    const kept: string[] = [];
    for (let i = 0; i < headers.length; i += 2) {
      const lower = headers[i]!.toLowerCase();
      if (lower === 'content-length') declaredLength = Number(headers[i + 1]);
      if (!NOT_KEPT.has(lower)) kept.push(headers[i]!, headers[i + 1]!);
    }
    if (declaredLength > this.settings.maxBodySize) return;
    const req = this.exchange.req;
    const decision = decideStorage(
      { url: this.exchange.path + this.exchange.query, headers: req.headers },
      status,
      headerObject(kept),
      this.settings.ttlSeconds,
    );
    if (decision === undefined) return;
    this.decision = decision;
    this.kept = kept;
    this.chunks = [];
  }

  /** Stores the response (and, when it varies, the marker under the primary key). */
  private save(decision: StorageDecision, headers: string[], body: Buffer): CachedResponse {
    const now = Date.now();
    const { store } = this.settings;
    const variant =
      decision.varyNames.length === 0 ? '' : variantOf(decision.varyNames, this.exchange.req.headers);
    const key = variant === '' ? this.key : variantKey(this.key, variant);
    const response: CachedResponse = {
      kind: 'response',
      key,
      status: 200,
      headers,
      // Buffer.concat always copies: the record holds exactly its bytes, never a larger socket slab.
      body,
      storedAt: now,
      expiresAt: now + decision.lifetimeMs,
      initialAgeSeconds: decision.initialAgeSeconds,
      varyNames: decision.varyNames,
      variant,
    };
    if (variant !== '') {
      const marker: VaryMarker = {
        kind: 'vary',
        key: this.key,
        varyNames: decision.varyNames,
        expiresAt: response.expiresAt,
      };
      store.set(this.key, marker, decision.lifetimeMs);
    }
    store.set(key, response, decision.lifetimeMs);
    this.settings.metrics.cacheStored();
    return response;
  }

  private land(response: CachedResponse | undefined): void {
    if (this.landed) return;
    this.landed = true;
    this.flight?.land(response);
  }
}
