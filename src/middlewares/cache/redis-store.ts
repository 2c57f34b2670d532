// The shared cache store in Redis: one key per record holding one binary buffer (metadata and
// body), expiry set by Redis (`SET ... PX`). Any Redis failure is a miss, never an error:
// the request goes upstream and the outage is logged once by the Redis handle.
import { createHash } from 'node:crypto';
import type { RedisHandle } from '../../redis/handle.js';
import { type CacheRecord, type CacheStore, decodeRecord, encodeRecord } from './entry.js';

/** The part of the Redis connection the store uses (a fake in unit tests). */
export type CacheRedis = Pick<RedisHandle, 'command' | 'recordFallback' | 'keyPrefix'>;

const COMPONENT = 'cache';

function digest(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 32);
}

/**
 * `<prefix>cache:{<hash of the primary key>}` and, for a variant, `:<hash of the variant>`.
 * Hashing bounds the length of keys (URIs can be kilobytes); the braces are a Cluster hash tag,
 * so a primary key and its variants live in one slot.
 */
export function redisKey(prefix: string, key: string): string {
  const split = key.indexOf('\n');
  if (split === -1) return `${prefix}cache:{${digest(key)}}`;
  return `${prefix}cache:{${digest(key.slice(0, split))}}:${digest(key.slice(split + 1))}`;
}

export class RedisStore implements CacheStore {
  constructor(private readonly redis: CacheRedis) {}

  get(key: string): Promise<CacheRecord | undefined> {
    const name = redisKey(this.redis.keyPrefix, key);
    return this.redis.command<Buffer | null>(['GET', name], name, { buffers: true }).then(
      (reply) => {
        if (!Buffer.isBuffer(reply)) return undefined;
        const record = decodeRecord(reply);
        return record !== undefined && record.key === key ? record : undefined;
      },
      (err: unknown) => {
        this.redis.recordFallback(COMPONENT, 'open', err);
        return undefined;
      },
    );
  }

  set(key: string, record: CacheRecord, ttlMs: number): void {
    const milliseconds = Math.ceil(ttlMs);
    if (!(milliseconds > 0)) return;
    const name = redisKey(this.redis.keyPrefix, key);
    this.redis
      .command(['SET', name, encodeRecord(record), 'PX', String(milliseconds)], name)
      .then(undefined, (err: unknown) => this.redis.recordFallback(COMPONENT, 'open', err));
  }

  delete(key: string): void {
    const name = redisKey(this.redis.keyPrefix, key);
    this.redis
      .command(['DEL', name], name)
      .then(undefined, (err: unknown) => this.redis.recordFallback(COMPONENT, 'open', err));
  }
}
