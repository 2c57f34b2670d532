// The one Lua script behind each `rate-limiter-redis` decision: the same GCRA token bucket as the
// memory limiter, atomic in Redis, timed by the Redis server's clock (instance clocks don't
// matter), on a key that expires by itself once the bucket is full again.
import { createHash } from 'node:crypto';
import { defineRedisScript } from '../../redis/script.js';

/**
 * KEYS[1]: the bucket; its value is the TAT in microseconds of Redis time.
 * ARGV[1]: microseconds per token (1e6 / requests_per_second). ARGV[2]: burst.
 * Returns {allowed 0|1, remaining, reset ms, retry-after ms}.
 */
export const TOKEN_BUCKET_SCRIPT = defineRedisScript(
  'dito-token-bucket',
  `
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local capacity = burst * interval
local next_tat = tat + interval
if next_tat - now > capacity then
  return {0, 0, math.ceil((tat - now) / 1000), math.ceil((next_tat - capacity - now) / 1000)}
end
local reset_ms = math.ceil((next_tat - now) / 1000)
redis.call('SET', KEYS[1], string.format('%d', math.ceil(next_tat)), 'PX', reset_ms)
return {1, math.floor((now + capacity - next_tat) / interval), reset_ms, 0}
`.trim(),
);

/**
 * `<prefix>rl:<location>:{<client>}`. The location part is a short hash of its `path` pattern (the
 * same on every instance with the same config); the client part is a Cluster hash tag, so every
 * bucket of one client sits in one slot should a script ever need several of them.
 */
export function bucketKeyPrefix(keyPrefix: string, locationPattern: string): string {
  const location = createHash('sha256').update(locationPattern).digest('hex').slice(0, 16);
  return `${keyPrefix}rl:${location}:{`;
}
