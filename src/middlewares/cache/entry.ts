// What a cache store holds and how it travels through Redis: a stored response (status,
// headers, body, times) or a Vary marker, encoded as one binary-safe buffer.

/** A stored 200 response. */
export interface CachedResponse {
  readonly kind: 'response';
  /** The key it was stored under (checked on read: a hashed Redis key could, in theory, collide). */
  readonly key: string;
  readonly status: number;
  /** Flat `[name, value, ...]` as the upstream sent them, minus hop-by-hop, length and Dito's own. */
  readonly headers: readonly string[];
  readonly body: Buffer;
  /** `Date.now()` when stored. */
  readonly storedAt: number;
  /** `Date.now()` past which it is stale. */
  readonly expiresAt: number;
  /** Age it already had when it arrived, whole seconds. */
  readonly initialAgeSeconds: number;
  /** Lower-cased `Vary` names (sorted), and the request values it was stored for. */
  readonly varyNames: readonly string[];
  readonly variant: string;
}

/** Stored under the primary key of a response that varies: which headers select the variant. */
export interface VaryMarker {
  readonly kind: 'vary';
  readonly key: string;
  readonly varyNames: readonly string[];
  readonly expiresAt: number;
}

export type CacheRecord = CachedResponse | VaryMarker;

/** Where cached records live: memory (synchronous) or Redis (asynchronous). */
export interface CacheStore {
  /** The record under `key`, or undefined (absent, expired, or the store failed: a miss). */
  get(key: string): CacheRecord | undefined | Promise<CacheRecord | undefined>;
  /** Stores `record` for `ttlMs`; failures are the store's to absorb (never thrown). */
  set(key: string, record: CacheRecord, ttlMs: number): void;
  /** Forgets `key` (an unsafe request changed the resource); failures absorbed. */
  delete(key: string): void;
}

/** Bytes a record costs in memory, roughly (for the byte-bounded store). */
export function recordSize(record: CacheRecord): number {
  // Strings are UTF-16 in V8: two bytes a character; 200 for the objects themselves.
  let size = 200 + record.key.length * 2;
  if (record.kind === 'vary') {
    for (const name of record.varyNames) size += 16 + name.length * 2;
    return size;
  }
  for (const part of record.headers) size += 16 + part.length * 2;
  return size + record.body.length + record.variant.length * 2;
}

const MAGIC = 0xd1;
const VERSION = 1;
/** Magic, version, then a 32-bit big-endian length of the JSON metadata that follows. */
const PREFIX_BYTES = 6;

interface EncodedMeta {
  k: string;
  /** 'r' response, 'v' Vary marker. */
  t: 'r' | 'v';
  e: number;
  n: readonly string[];
  s?: number;
  h?: readonly string[];
  at?: number;
  a?: number;
  va?: string;
}

/** `[0xd1][1][u32 meta length][meta JSON][body bytes]`: headers keep their order and repeats. */
export function encodeRecord(record: CacheRecord): Buffer {
  const meta: EncodedMeta =
    record.kind === 'vary'
      ? { k: record.key, t: 'v', e: record.expiresAt, n: record.varyNames }
      : {
          k: record.key,
          t: 'r',
          e: record.expiresAt,
          n: record.varyNames,
          s: record.status,
          h: record.headers,
          at: record.storedAt,
          a: record.initialAgeSeconds,
          va: record.variant,
        };
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const body = record.kind === 'response' ? record.body : Buffer.alloc(0);
  const out = Buffer.allocUnsafe(PREFIX_BYTES + json.length + body.length);
  out[0] = MAGIC;
  out[1] = VERSION;
  out.writeUInt32BE(json.length, 2);
  json.copy(out, PREFIX_BYTES);
  body.copy(out, PREFIX_BYTES + json.length);
  return out;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** The record in `data`, or undefined when it is not one Dito wrote (foreign or older format). */
export function decodeRecord(data: Buffer): CacheRecord | undefined {
  if (data.length < PREFIX_BYTES || data[0] !== MAGIC || data[1] !== VERSION) return undefined;
  const metaLength = data.readUInt32BE(2);
  if (PREFIX_BYTES + metaLength > data.length) return undefined;
  let meta: EncodedMeta;
  try {
    meta = JSON.parse(data.toString('utf8', PREFIX_BYTES, PREFIX_BYTES + metaLength)) as EncodedMeta;
  } catch {
    return undefined;
  }
  if (typeof meta !== 'object' || meta === null || typeof meta.k !== 'string') return undefined;
  if (typeof meta.e !== 'number' || !isStringList(meta.n)) return undefined;
  if (meta.t === 'v') return { kind: 'vary', key: meta.k, varyNames: meta.n, expiresAt: meta.e };
  if (meta.t !== 'r' || typeof meta.s !== 'number' || !isStringList(meta.h) || meta.h.length % 2 !== 0) {
    return undefined;
  }
  if (typeof meta.at !== 'number' || typeof meta.a !== 'number' || typeof meta.va !== 'string')
    return undefined;
  return {
    kind: 'response',
    key: meta.k,
    status: meta.s,
    headers: meta.h,
    // A view, not a copy: the reply buffer belongs to this record alone.
    body: data.subarray(PREFIX_BYTES + metaLength),
    storedAt: meta.at,
    expiresAt: meta.e,
    initialAgeSeconds: meta.a,
    varyNames: meta.n,
    variant: meta.va,
  };
}
